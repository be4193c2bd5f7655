// observer.h: the hook points through which the tracer (and anything else)
// watches the runtime. With no observer installed each hook costs one
// predictable branch on a process-wide pointer.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "greenscope/detail/greenlet_base.h"
#include "greenscope/types.h"

namespace gs {
struct StallReport;
struct StallSample;
}  // namespace gs

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

  // Stall hunting (stall.h, stacks.h). Stacks are lookup addresses,
  // innermost first (see gs::StackTrace).
  // The hooks that run on the monitor's threads (the stall hooks, on_crash(),
  // on_run_info() from a dump signal) must not use the program's fds: those
  // threads keep fd tables of their own, so that a single-threaded server's
  // fd lookups stay cheap (docs/stalls.md, "The monitor's threads"). Hand
  // such work to a thread of the program, as the tracer hands it to its
  // writer. (An on_stall() callback runs in the program's table.)
  // on_stall_begin()/on_stall_sample()/on_stall_end() run on the monitor's
  // reporter thread: a stall was noticed, one stack sample of it, and its
  // end (or, with report.ended false, the monitor stopping while it went on).
  virtual void on_stall_begin(const StallReport&) {}
  virtual void on_stall_sample(const StallReport&, const StallSample&) {}
  virtual void on_stall_end(const StallReport&) {}
  // on_loop_lag(): on the hub's thread as it polls again: `lag_ns` passed
  // since the previous poll ended, over the stall threshold, with no single
  // stall to blame (many short greenlets together starved I/O).
  virtual void on_loop_lag(const Hub&, std::int64_t /*lag_ns*/) {}
  // on_blocking_call(): on the hub's thread: with patch_all() active, `call`
  // (static text like "fsync()") on `fd` (-1: none) blocked the thread for
  // `duration_ns`, over the blocking threshold. `stack` is where.
  virtual void on_blocking_call(const char* /*call*/, int /*fd*/, std::int64_t /*duration_ns*/,
                                const std::uintptr_t* /*stack*/, std::size_t /*depth*/) {}
  // on_crash(): on the monitor thread while the crashed thread waits: signal
  // `sig` at `fault_address` in greenlet `greenlet_id` (0: unknown),
  // `overflow` if it ran into its stack's guard page. The observer records
  // and flushes; the process then dies of `sig`. `text` is the printed report.
  virtual void on_crash(int /*sig*/, std::uintptr_t /*fault_address*/, std::uint64_t /*greenlet_id*/,
                        bool /*overflow*/, const std::uintptr_t* /*stack*/, std::size_t /*depth*/,
                        std::string_view /*text*/) {}
  // on_run_info(): a format_run_info() dump was made (by the dump signal or
  // gs::dump_run_info()); any thread. `trigger` is e.g. "signal SIGUSR1".
  virtual void on_run_info(std::string_view /*trigger*/, std::string_view /*text*/) {}
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
