// hub.h: the per-thread Hub that owns a libev loop, and the free functions
// that block, yield and schedule through it (gevent.hub).
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <string>
#include <thread>

#include "greenscope/detail/greenlet_base.h"
#include "greenscope/types.h"

struct ev_loop;

namespace gs {

class GreenletRef;

// ErrorReport is what the hub's error handler receives when an exception
// escapes a greenlet or a callback.
struct ErrorReport {
  const GreenletInfo* greenlet = nullptr;  // nullptr for a run_callback callback
  std::exception_ptr exception;
  std::string text;  // "greenlet 'name' (id 7) failed: std::runtime_error: boom"
};

// Hub runs one thread's event loop in its own greenlet. There is one per OS
// thread, created by the first call that needs it (get_hub(), spawn(),
// sleep()...) and destroyed when the thread exits. The main thread's hub runs
// libev's default loop; other threads get ev_loop_new().
class Hub {
 public:
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // loop() is the libev loop this hub runs; watchers started on it from this
  // thread take part in scheduling like the runtime's own.
  struct ev_loop* loop() const;
  std::thread::id thread_id() const;

  // run_callback() queues `fn` to run in the hub greenlet, in FIFO order with
  // ready greenlets, in the loop's pre-block (prepare) phase. `fn` must not
  // block; it may spawn, set events, or wake greenlets. An empty `fn` is a
  // UsageError (here and in run_callback_threadsafe()).
  void run_callback(std::function<void()> fn);
  // run_callback_threadsafe() is run_callback() callable from any thread.
  void run_callback_threadsafe(std::function<void()> fn);

  using ErrorHandler = std::function<void(const ErrorReport&)>;
  // set_error_handler() replaces the default handler, which prints the report
  // to stderr. GreenletExit is never reported.
  void set_error_handler(ErrorHandler handler);

  const GreenletInfo& main_greenlet() const;
  const GreenletInfo& hub_greenlet() const;
  // live_greenlets() counts greenlets spawned on this hub and not yet dead.
  std::size_t live_greenlets() const;
  // for_each_greenlet() visits every started, not yet dead greenlet.
  void for_each_greenlet(const std::function<void(const GreenletInfo&)>& visit) const;

  // --- For building primitives (the runtime's own Event, Queue... use these).
  // block() suspends the current greenlet, which must not be the hub, until
  // wake() is called for it or `timeout` passes; returns false on timeout.
  // A timeout of 0 or less still switches to the hub once (it times out at
  // the loop's next turn); NaN is a UsageError naming info.what.
  // Someone must have arranged to call wake() (or given a timeout), else the
  // wait ends in LoopExit (main greenlet) or lasts forever. Rethrows a kill or
  // a gs::Timeout that arrived while it waited.
  bool block(WaitInfo info, Duration timeout = kForever);
  // wake() makes a Waiting greenlet Ready; it runs after those already ready.
  // Does nothing for a greenlet that is not waiting.
  void wake(detail::GreenletBase& greenlet);

 protected:
  Hub() = default;
  ~Hub() = default;
};

// get_hub() is the calling thread's hub, created on first use.
Hub& get_hub();

// current() is the running greenlet (the thread's main greenlet outside any
// spawned greenlet).
GreenletRef current();

// sleep() suspends the current greenlet for at least `d`. sleep(0), and any
// negative `d`, is yield() (gevent's sleep(-1) is its sleep(0)). sleep(kForever),
// or 1e9 s and more, sleeps until the greenlet is killed; in the main greenlet
// with nothing else to run, that is LoopExit. NaN is a UsageError.
void sleep(Duration d);

// yield() lets every greenlet that is ready run once before returning
// (gevent's sleep(0)).
void yield();

// idle() waits until the loop has nothing else to do (no pending events).
void idle();

// run_callback() queues `fn` on the calling thread's hub (Hub::run_callback).
void run_callback(std::function<void()> fn);
// run_callback_threadsafe(fn), from any thread, queues `fn` on the main
// thread's hub (the one running libev's default loop). Throws UsageError if
// the main thread has no hub (yet or any more).
void run_callback_threadsafe(std::function<void()> fn);
// run_callback_threadsafe(hub, fn) queues `fn` on `hub` from any thread;
// `hub` must outlive the call.
void run_callback_threadsafe(Hub& hub, std::function<void()> fn);

}  // namespace gs
