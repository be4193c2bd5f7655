// observer.h: the hook points through which the tracer (and anything else)
// watches the runtime. With no observer installed each hook costs one
// predictable branch on a process-wide pointer.
#pragma once

#include <atomic>
#include <cstddef>
#include <string_view>

#include "greenscope/detail/greenlet_base.h"
#include "greenscope/types.h"

namespace gs {

class Hub;

// WatcherKind names the libev watcher type whose callback runs.
enum class WatcherKind : std::uint8_t { Io, Timer, Prepare, Check, Idle, Async, Signal, Child };

std::string_view to_string(WatcherKind kind);

// Observer receives every hook. All calls happen on the hub's own thread,
// synchronously; an observer must not block, switch or throw.
class Observer {
 public:
  virtual ~Observer() = default;

  virtual void on_hub_start(const Hub&) {}
  virtual void on_hub_stop(const Hub&) {}
  // on_spawn(): `g` was created by `spawner` (the current greenlet).
  virtual void on_spawn(const GreenletInfo& /*g*/, const GreenletInfo& /*spawner*/) {}
  // on_switch(): control passes from `from` to `to`. `reason` is what `from`
  // now waits for, or (from the hub) why `to` resumes.
  virtual void on_switch(const GreenletInfo& /*from*/, const GreenletInfo& /*to*/, SwitchReason) {}
  virtual void on_rename(const GreenletInfo& /*g*/) {}
  // on_exit(): `g` died; `error` is the escaped exception's text if Failed.
  virtual void on_exit(const GreenletInfo& /*g*/, ExitKind, std::string_view /*error*/) {}
  // on_poll_begin()/on_poll_end(): around the loop's blocking poll.
  // `pending` is the number of watchers the poll made ready.
  virtual void on_poll_begin(const Hub&) {}
  virtual void on_poll_end(const Hub&, int /*pending*/) {}
  // on_callbacks_begin()/on_callbacks_end(): around the pre-block phase that
  // runs run_callback() callbacks and ready greenlets.
  virtual void on_callbacks_begin(const Hub&) {}
  virtual void on_callbacks_end(const Hub&, std::size_t /*items_run*/) {}
  // on_watcher_begin()/on_watcher_end(): around one watcher callback.
  // `fd`/`revents` are meaningful for Io watchers, else -1/0.
  virtual void on_watcher_begin(const Hub&, WatcherKind, const void* /*watcher*/, int /*fd*/, int /*revents*/) {}
  virtual void on_watcher_end(const Hub&, WatcherKind, const void* /*watcher*/) {}
  // on_callback_enqueue()/on_callback_run(): a run_callback() callback was
  // queued, and later ran (begin/end).
  virtual void on_callback_enqueue(const Hub&) {}
  virtual void on_callback_begin(const Hub&) {}
  virtual void on_callback_end(const Hub&) {}
  // on_error(): the hub reported an error (an exception escaped a greenlet
  // or a callback).
  virtual void on_error(const Hub&, const GreenletInfo* /*greenlet*/, std::string_view /*text*/) {}
  // on_timeout(): a gs::Timeout of `seconds` expired and raises TimeoutError
  // in `target`.
  virtual void on_timeout(const Hub&, const GreenletInfo& /*target*/, Duration /*seconds*/) {}
  // on_patched_wait_begin()/on_patched_wait_end(): a call that patch_all()
  // made cooperative (`call` is static text like "read()") waits for `fd`
  // (-1 for sleeps and multi-fd waits) in the current greenlet.
  virtual void on_patched_wait_begin(const char* /*call*/, int /*fd*/) {}
  virtual void on_patched_wait_end(const char* /*call*/, int /*fd*/) {}

  // Thread pool jobs (threadpool.h). on_job_submit() and on_job_done() run
  // on the hub's thread; on_job_begin()/on_job_end() run on the pool's
  // worker thread `worker` (0-based within its pool), the only hooks that do
  // not run on a hub thread.
  virtual void on_job_submit(const Hub&, const void* /*job*/) {}
  virtual void on_job_begin(const void* /*job*/, std::size_t /*worker*/) {}
  virtual void on_job_end(const void* /*job*/, std::size_t /*worker*/) {}
  virtual void on_job_done(const Hub&, const void* /*job*/) {}
};

// set_observer() installs `observer` for every hub of the process, or
// removes it with nullptr. The observer must outlive its installation.
void set_observer(Observer* observer);
Observer* observer();

namespace detail {
extern std::atomic<Observer*> g_observer;
// observer_if_any() is the hook's single branch: null when nobody watches.
// Acquire, not relaxed: the observer may have been built on another thread
// (a plain load on x86 all the same).
inline Observer* observer_if_any() { return g_observer.load(std::memory_order_acquire); }
}  // namespace detail

}  // namespace gs
