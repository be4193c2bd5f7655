// hub_impl.h: the hub's private state and scheduler (marl's Scheduler +
// Worker for one thread). Public face: greenscope/hub.h.
#pragma once

#include <ev.h>

#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "beat.h"
#include "context.h"
#include "hooks.h"
#include "ready_queue.h"
#include "greenscope/hub.h"
#include "greenscope/observer.h"
#include "stack_pool.h"

namespace gs {
class ThreadPool;
}

namespace gs::detail {

struct SwitchPathProbe;


class HubImpl final : public Hub {
 public:
  // HubImpl() creates the calling thread's hub; use current() instead.
  HubImpl();
  ~HubImpl();

  // current() is the calling thread's hub, created on first use.
  static HubImpl& current() {
    if (tls_hub != nullptr) [[likely]] return *tls_hub;
    return create_for_thread();
  }
  // current_if_any() is the calling thread's hub or null, never creating one.
  static HubImpl* current_if_any() { return tls_hub; }

  // tls_hub is the calling thread's hub. initial-exec: a plain %fs-relative
  // load instead of a __tls_get_addr call on every blocking call.
  static thread_local HubImpl* tls_hub __attribute__((tls_model("initial-exec")));

  GreenletBase* running() const { return current_; }
#if defined(GS_SANITIZE_THREAD)
  // patched_call_fibers() is the running greenlet's TsanPatchedCall (context.h).
  [[gnu::always_inline]] TsanPatchedCall patched_call_fibers() { return TsanPatchedCall(current_->tsan_fiber_, current_->tsan_call_fiber_); }
#endif
  GreenletBase& main() const { return *main_; }
  GreenletBase& hub_greenlet_base() const { return *hub_; }
  struct ev_loop* ev() const { return loop_; }
  bool tearing_down() const { return tearing_down_; }

  // schedule() queues a New or Waiting greenlet to run (-> Ready).
  void schedule(GreenletBase& g) {
    g.set_state(GreenletState::Ready);
    ready_.push_greenlet(&g);
  }
  // wake() is Hub::wake(): Waiting -> Ready, else nothing.
  void wake(GreenletBase& g) {
    if (g.state() == GreenletState::Waiting) schedule(g);
  }
  void mark_timed_out(GreenletBase& g);
  void enqueue_callback(std::function<void()> fn);
  // block_current() is Hub::block().
  bool block_current(const WaitInfo& info, Duration timeout);
  [[gnu::noinline]] bool block_current_timed(GreenletBase& self, const WaitInfo& info, double seconds);
  void yield_current();
  // raise_in() makes `g` raise `error` at its next resume, waking it if it
  // waits. `source` identifies a gs::Timeout; `reason` is Kill or Timeout.
  void raise_in(GreenletBase& g, std::exception_ptr error, const void* source, SwitchReason reason);
  // cancel_pending() drops an undelivered exception set by `source`.
  void cancel_pending(GreenletBase& g, const void* source);

  // reserve_stack() throws gs::ResourceError if no stack could be had for a
  // greenlet spawned now (StackPool::reserve()).
  void reserve_stack() { stacks_.reserve(); }
  void prefetch_next_ready() const;
  struct Slice {
    std::size_t n;  // items run so far
    bool go_on;     // false: the time budget is spent
  };
  template <bool kPrefetch>
  Slice run_slice(std::size_t n, std::int64_t start);
  // run_item() resumes a ready greenlet or runs a callback; compiled into
  // run_slice() (hub.cpp) with the switch, like resume().
  [[gnu::always_inline]] inline void run_item(const ReadyQueue::Item& item);
  // kNoBackSeq: resume_switch() has no stamp to continue from (odd: a
  // Beat's seq is even whenever its hub reads it).
  static constexpr std::uint64_t kNoBackSeq = 1;
  static constexpr std::size_t kPrefetchQueueDepth = 64;
  static constexpr std::uintptr_t kPrefetchBytes = 1536;
  static constexpr std::uintptr_t kPrefetchFirstRunBytes = 512;
  void add_live(GreenletBase& g);
  void remove_live(GreenletBase& g);
  // reclaim() frees a dead greenlet's stack and drops the hub's reference;
  // `g` may be destroyed by it.
  void reclaim(GreenletBase& g);
  void report_error(const GreenletInfo* g, std::exception_ptr error, const std::string& text);
  std::size_t live_count() const { return live_count_; }
  void visit_live(const std::function<void(const GreenletInfo&)>& visit) const;

  // Used by Hub's public functions.
  void post_threadsafe(std::function<void()> fn);
  // post_to_main_hub() posts to the main thread's hub; false if there is none.
  static bool post_to_main_hub(std::function<void()> fn);
  std::thread::id thread() const { return thread_id_; }
  void set_handler(ErrorHandler handler) { error_handler_ = std::move(handler); }
  // default_pool() is this hub's ThreadPool (threadpool.cpp), made on first use.
  ThreadPool& default_pool();
  // eh_globals() is this thread's C++ exception state (the sampling signal
  // handler skips a sample mid-unwind).
  EhGlobals* eh_globals() const { return eh_; }
  Beat& beat() const { return *beat_; }

 private:
  friend struct SwitchPathProbe;
  static HubImpl& create_for_thread();
  static void entry(transfer_t from);
  void switch_to(GreenletBase& from, GreenletBase& to, SwitchReason reason);
  // switch_inline() is switch_to() compiled into the hot paths (switch.h).
  [[gnu::always_inline]] inline void switch_inline(GreenletBase& from, GreenletBase& to, SwitchReason reason);
  [[gnu::always_inline]] inline void switch_hooks(GreenletBase& from, GreenletBase& to, SwitchReason reason,
                                                  std::uint8_t hooks);
  [[gnu::always_inline]] inline void jump(GreenletBase& from, GreenletBase& to, SwitchReason reason);
  // stamp_switch() starts the segment of `to` for the stall monitor.
  [[gnu::always_inline]] std::uint64_t stamp_switch(const GreenletBase& to) {
    if (&to == hub_.get()) return stamp(*beat_, StallOwner::Hub, 0);
    return stamp(*beat_, StallOwner::Greenlet, to.id());
  }
  // resume() switches from the hub to the ready greenlet `g`, starting it
  // first if it has not run yet, and reclaims it if it died; compiled into
  // run_slice() (switch.h says why).
  [[gnu::always_inline]] inline void resume(GreenletBase& g);
  [[gnu::always_inline]] inline void resume_switch(GreenletBase& to, SwitchReason reason);
  [[gnu::always_inline]] inline void resume_monitored(GreenletBase& to, SwitchReason reason);
  [[gnu::noinline]] bool start_or_reclaim(GreenletBase& g);
  void run_loop();
  void run_ready_items();
  void run_callback_item(std::function<void()>* callback);
  void throw_loop_exit();
  std::string describe_blocked() const;
  void teardown();
  void release_loop();
  void kill_all_for_teardown();
  [[noreturn]] void stack_overflow(const GreenletBase& g);

  static void on_prepare(struct ev_loop*, ev_prepare* w, int revents);
  static void on_timer0(struct ev_loop*, ev_timer* w, int revents);
  static void on_async(struct ev_loop*, ev_async* w, int revents);
  static void on_release(struct ev_loop*) noexcept;
  static void on_acquire(struct ev_loop*) noexcept;

  struct ev_loop* loop_ = nullptr;
  bool owns_loop_ = false;              // ev_loop_new() (not the default loop)
  std::thread::id thread_id_;
  GreenletBase* current_ = nullptr;     // the running greenlet
  std::shared_ptr<GreenletBase> main_;  // this thread's original context
  std::shared_ptr<GreenletBase> hub_;   // runs run_loop()
  ReadyQueue ready_;
  EhGlobals* eh_ = nullptr;             // this thread's __cxa_eh_globals
  StackPool stacks_;
  std::int64_t budget_ns_;
  ev_prepare prepare_;
  ev_timer timer0_;                     // keeps the poll non-blocking while items wait
  ev_async async_;
  std::mutex threadsafe_mutex_;         // guards threadsafe_
  std::vector<std::function<void()>> threadsafe_;
  GreenletBase* live_head_ = nullptr;
  std::size_t live_count_ = 0;
  ErrorHandler error_handler_;
  bool tearing_down_ = false;
  std::unique_ptr<ThreadPool> default_pool_;  // after teardown, before the loop goes
  std::shared_ptr<Beat> beat_;          // what the stall monitor reads
  std::uint64_t back_seq_ = kNoBackSeq; // resume_monitored(): the seq of the last switch back
};

// SwitchPathProbe lets bench/ time switch_to() alone, the runtime's switch
// path, against a bare jump_fcontext. It bypasses the scheduler: nothing but
// that benchmark may use it.
struct SwitchPathProbe {
  static void switch_to(GreenletBase& from, GreenletBase& to) {
    HubImpl::current().switch_to(from, to, SwitchReason::Yield);
  }
};

// WatcherScope reports one watcher callback to the observer, if any. The
// observer is read again at the end: the prepare callback runs greenlets,
// which may install or remove it meanwhile.
class WatcherScope {
 public:
  WatcherScope(const Hub& hub, WatcherKind kind, const void* watcher, int fd = -1, int revents = 0)
      : hub_(hub), kind_(kind), watcher_(watcher) {
    if (stamps_watcher()) [[unlikely]] stamp(*tls_beat, StallOwner::Watcher, 0, static_cast<std::uint8_t>(kind));
    if (Observer* o = observer_if_any()) [[unlikely]] o->on_watcher_begin(hub_, kind_, watcher_, fd, revents);
  }
  ~WatcherScope() {
    if (Observer* o = observer_if_any()) [[unlikely]] o->on_watcher_end(hub_, kind_, watcher_);
    if (stamps_watcher()) [[unlikely]] stamp(*tls_beat, StallOwner::Hub, 0);
  }
  WatcherScope(const WatcherScope&) = delete;
  WatcherScope& operator=(const WatcherScope&) = delete;

 private:
  // stamps_watcher(): only the signal and child watchers get segments of
  // their own. The others (io, timers, prepare, async) only wake greenlets,
  // whose runs are stamped at the switch; stamping them too cost the echo
  // server 1.5% (docs/benchmarks.md, "Stall monitor").
  bool stamps_watcher() const {
    return (kind_ == WatcherKind::Signal || kind_ == WatcherKind::Child) && monitor_on() && tls_beat != nullptr;
  }

  const Hub& hub_;
  WatcherKind kind_;
  const void* watcher_;
};

// DelayTimer starts a greenlet after a delay (spawn_later), which
// start_greenlet_later() made 0 <= delay < kNoLimitSeconds.
class DelayTimer {
 public:
  DelayTimer(HubImpl& hub, GreenletBase& g, Duration delay);
  ~DelayTimer();

 private:
  static void on_timer(struct ev_loop*, ev_timer* w, int revents);
  HubImpl& hub_;
  GreenletBase& greenlet_;
  ev_timer timer_;
};

std::string exception_text(const std::exception_ptr& error);

}  // namespace gs::detail
