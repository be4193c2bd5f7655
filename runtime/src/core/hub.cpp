// hub.cpp: the hub's life (creation, teardown), its loop, and the switch.
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "greenscope/config.h"
#include "greenscope/errors.h"
#include "greenscope/greenlet.h"
#include "hub_impl.h"
#include "hub_view.h"
#include "io_wait.h"
#include "switch.h"

#include "greenscope/threadpool.h"

namespace gs::detail {
namespace {

thread_local std::unique_ptr<HubImpl> tl_owner;

// The main thread's hub, for run_callback_threadsafe(fn). The mutex makes a
// post and the hub's destruction exclude each other.
std::mutex g_main_hub_mutex;
HubImpl* g_main_hub = nullptr;

// SystemGreenlet is the thread's main greenlet or its hub greenlet: neither
// runs a user function.
class SystemGreenlet final : public GreenletBase {
 public:
  using GreenletBase::GreenletBase;
};

bool on_main_thread() { return ::syscall(SYS_gettid) == ::getpid(); }

std::int64_t monotonic_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

HubImpl& hub_of(struct ev_loop* loop) { return *static_cast<HubImpl*>(ev_userdata(loop)); }

}  // namespace

thread_local HubImpl* HubImpl::tls_hub = nullptr;

HubImpl& HubImpl::create_for_thread() {
  tl_owner = std::make_unique<HubImpl>();
  return *tls_hub;
}

HubImpl::HubImpl()
    : thread_id_(std::this_thread::get_id()),
      stacks_(options().stack_size, options().stack_cache),
      budget_ns_(static_cast<std::int64_t>(options().callback_budget.count() * 1e9)) {
  tls_hub = this;
  owns_loop_ = !on_main_thread();
  loop_ = owns_loop_ ? ev_loop_new(EVFLAG_AUTO) : ev_default_loop(0);
  if (loop_ == nullptr) {
    tls_hub = nullptr;
    throw std::runtime_error(
        "greenscope: libev could not create an event loop for this thread "
        "(check the open files limit: ulimit -n)");
  }
  ev_set_userdata(loop_, this);
  ev_set_loop_release_cb(loop_, &HubImpl::on_release, &HubImpl::on_acquire);
  eh_ = thread_eh_globals();

  main_ = std::make_shared<SystemGreenlet>(GreenletKind::Main, this, 0);
  main_->name_ = "main";
  main_->own_name_ = true;
  main_->state_ = GreenletState::Running;
  main_->started_ = true;
  main_->stack_ = thread_stack_range();
  main_->tsan_fiber_ = sanitizer_create(true);
  current_ = main_.get();

  hub_ = std::make_shared<SystemGreenlet>(GreenletKind::Hub, this, 0);
  hub_->name_ = "hub";
  hub_->own_name_ = true;
  try {
    hub_->stack_ = stacks_.acquire();
  } catch (...) {  // no hub on this thread after all: leave nothing behind that names one
    if (owns_loop_) ev_loop_destroy(loop_);
    tls_hub = nullptr;
    throw;
  }
  hub_->context_ = make_fcontext(reinterpret_cast<void*>(hub_->stack_.hi),
                                 hub_->stack_.hi - hub_->stack_.lo, &HubImpl::entry);
  hub_->started_ = true;
  hub_->state_ = GreenletState::Waiting;
  hub_->tsan_fiber_ = sanitizer_create(false);

  ev_prepare_init(&prepare_, &HubImpl::on_prepare);
  ev_prepare_start(loop_, &prepare_);
  ev_unref(loop_);  // the prepare watcher alone must not keep the loop alive
  ev_timer_init(&timer0_, &HubImpl::on_timer0, 0., 0.);
  ev_async_init(&async_, &HubImpl::on_async);
  ev_async_start(loop_, &async_);
  ev_unref(loop_);  // nor may the cross-thread wakeup (gevent does the same)

  if (!owns_loop_) {
    std::lock_guard<std::mutex> lock(g_main_hub_mutex);
    g_main_hub = this;
  }
  beat_ = register_hub(*this, *this, hub_greenlet_base().id(), main().id());
  if (Observer* o = observer_if_any()) o->on_hub_start(*this);
  hub_started(*beat_);
}

bool HubImpl::post_to_main_hub(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(g_main_hub_mutex);
  if (g_main_hub == nullptr) return false;
  g_main_hub->post_threadsafe(std::move(fn));
  return true;
}

HubImpl::~HubImpl() {
  if (!owns_loop_) {
    std::lock_guard<std::mutex> lock(g_main_hub_mutex);
    g_main_hub = nullptr;
  }
  // exit() called inside a greenlet destroys the hub while that greenlet's
  // stack is in use: then leave greenlets, stacks and loop as they are; the
  // process is ending anyway.
  const bool from_main_greenlet = current_ == main_.get();
  {
    const std::lock_guard<std::mutex> lock(beat_->outside_mutex);  // a dump reading it finishes first
    beat_->leaving.store(true);
  }
  if (from_main_greenlet) teardown();
  // The hub has run its last: on a loaded machine what is left took main's
  // last segment past the threshold (a wait for the monitor's registry
  // lock, main "blocked in futex" at exit: seen in the hunt suite).
  if (monitor_on()) beat_hub_stopped(*beat_);
  if (from_main_greenlet) {
    default_pool_.reset();  // joins its threads; its watcher is on the loop
  } else {
    (void)default_pool_.release();  // its threads may still reference the loop
  }
  forget_hub_waiters(*this);  // sockets that outlive it: a close must not post here
  if (Observer* o = observer_if_any()) o->on_hub_stop(*this);
  if (from_main_greenlet) release_loop();
  unregister_hub(*beat_);  // last: teardown still switches and stamps
  tls_hub = nullptr;
}

// release_loop() stops the hub's own watchers, frees a loop it created and
// the hub greenlet's stack.
void HubImpl::release_loop() {
  ev_ref(loop_);  // undo the ev_unref() of each unref'ed watcher first
  ev_prepare_stop(loop_, &prepare_);
  ev_ref(loop_);
  ev_async_stop(loop_, &async_);
  ev_timer_stop(loop_, &timer0_);
  ev_set_loop_release_cb(loop_, nullptr, nullptr);
  if (owns_loop_) ev_loop_destroy(loop_);
  stacks_.release(hub_->stack_);
  sanitizer_destroy(hub_->tsan_fiber_, false);
  sanitizer_destroy(main_->tsan_call_fiber_, false);  // main's own fiber is the thread's
}

// teardown() kills every greenlet still alive when the thread ends, so that
// their RAII cleanup runs, by letting the hub run them one last time.
void HubImpl::teardown() {
  tearing_down_ = true;
  std::vector<std::shared_ptr<GreenletBase>> victims;
  for (GreenletBase* g = live_head_; g != nullptr; g = g->live_next_) victims.push_back(g->shared_from_this());
  for (auto& g : victims) {
    if (!g->dead()) g->kill(/*block=*/false, kForever);
  }
  main_->wait_ = {SwitchReason::Wait, nullptr, "thread exit"};
  main_->state_ = GreenletState::Waiting;
  switch_to(*main_, *hub_, SwitchReason::Wait);
  main_->state_ = GreenletState::Running;
  // Greenlets that blocked again while dying stay suspended: leak them rather
  // than free a stack that is still in use.
  ready_.clear();
}

void HubImpl::entry(transfer_t from) {
  static_cast<GreenletBase*>(from.data)->context_ = from.fctx;
  HubImpl& hub = *tls_hub;
  GreenletBase& self = *hub.current_;
  sanitizer_after_switch(nullptr);
  if (self.kind() == GreenletKind::Hub) {
    hub.run_loop();
    hub.switch_to(self, *hub.main_, SwitchReason::Exit);
  } else {
    self.finish_body();
    hub.switch_to(self, *hub.hub_, SwitchReason::Exit);
  }
  std::fputs("greenscope: a dead greenlet was resumed (runtime bug)\n", stderr);
  std::abort();
}

void HubImpl::switch_to(GreenletBase& from, GreenletBase& to, SwitchReason reason) {
  switch_inline(from, to, reason);
}

void HubImpl::stack_overflow(const GreenletBase& g) {
  std::fprintf(stderr,
               "greenscope: stack overflow in greenlet '%s' (id %llu): its unguarded %zu-byte "
               "stack's canary was overwritten. Raise gs::RuntimeOptions::stack_size, or keep "
               "fewer greenlets alive so stacks stay guarded.\n",
               g.name().c_str(), static_cast<unsigned long long>(g.id()),
               static_cast<std::size_t>(g.stack().hi - g.stack().lo));
  std::abort();
}

void HubImpl::enqueue_callback(std::function<void()> fn) {
  ready_.push_callback(std::move(fn));
  if (Observer* o = observer_if_any()) [[unlikely]] o->on_callback_enqueue(*this);
}

void HubImpl::post_threadsafe(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(threadsafe_mutex_);
    threadsafe_.push_back(std::move(fn));
  }
  ev_async_send(loop_, &async_);
}

// start_or_reclaim() is resume()'s rare part: a greenlet killed before it
// ever ran is reclaimed (false: do not switch); one that has not run yet gets
// its stack and context (false if no stack could be had: it died).
bool HubImpl::start_or_reclaim(GreenletBase& g) {
  back_seq_ = kNoBackSeq;  // the hub's segment now holds a stack's mapping, maybe
  if (g.state_ == GreenletState::Dead) {
    reclaim(g);
    return false;
  }
  try {
    g.stack_ = stacks_.acquire();
  } catch (...) {
    g.error_ = std::current_exception();
    g.set_state(GreenletState::Dead);
    report_error(&g, g.error_, exception_text(g.error_));
    g.die(ExitKind::Failed);
    reclaim(g);
    return false;
  }
  g.context_ = make_fcontext(reinterpret_cast<void*>(g.stack_.hi), g.stack_.hi - g.stack_.lo,
                             &HubImpl::entry);
  g.tsan_fiber_ = sanitizer_create(false);
  g.started_ = true;
  count_progress(*beat_);
  return true;
}

inline void HubImpl::resume(GreenletBase& g) {
  if (!g.started_ || g.state_ == GreenletState::Dead) [[unlikely]] {
    if (!start_or_reclaim(g)) return;
  }
  g.set_state(GreenletState::Running);
  resume_switch(g, g.pending_ ? g.pending_reason_ : SwitchReason::Resume);
  if (g.state_ == GreenletState::Dead && g.kind() == GreenletKind::User) [[unlikely]] reclaim(g);
}

inline void HubImpl::run_item(const ReadyQueue::Item& item) {
  if (item.greenlet != nullptr) {
    resume(*item.greenlet);
  } else {
    run_callback_item(item.callback);
  }
}

// reclaim() frees a dead greenlet's stack and drops the hub's reference.
void HubImpl::reclaim(GreenletBase& g) {
  back_seq_ = kNoBackSeq;  // the hub's segment now holds the stack's release
  if (g.stack_.hi != 0) {
    stacks_.release(g.stack_);
    g.stack_ = {};
    sanitizer_destroy(g.tsan_fiber_, false);
    sanitizer_destroy(g.tsan_call_fiber_, false);
    g.tsan_fiber_ = g.tsan_call_fiber_ = nullptr;
  }
  std::shared_ptr<GreenletBase> last = std::move(g.self_ref_);  // may free g
}

void HubImpl::run_loop() {
  for (;;) {
    ev_run(loop_, 0);
    if (tearing_down_) return;
    if (!ready_.empty()) continue;  // a watcher queued work as the loop emptied
    throw_loop_exit();
  }
}

// throw_loop_exit() resumes the main greenlet with LoopExit: the loop has no
// watcher, timer or ready item left, so nothing could ever wake it.
void HubImpl::throw_loop_exit() {
  GreenletBase& m = *main_;
  m.pending_ = std::make_exception_ptr(LoopExit(describe_blocked()));
  m.pending_reason_ = SwitchReason::LoopExit;
  m.set_state(GreenletState::Ready);
  m.set_state(GreenletState::Running);
  switch_to(*hub_, m, SwitchReason::LoopExit);
}

// run_ready_items() is the pre-block phase. The observer is re-read at every
// hook: greenlets run in between and may install or remove it.
void HubImpl::run_ready_items() {
  if (tearing_down_ && ready_.empty()) {
    ev_break(loop_, EVBREAK_ALL);
    return;
  }
  if (ready_.empty()) {
    if (ev_is_active(&timer0_)) ev_timer_stop(loop_, &timer0_);
    return;
  }
  if (Observer* o = observer_if_any()) [[unlikely]] o->on_callbacks_begin(*this);
  const std::int64_t start = monotonic_ns();
  Slice slice{0, false};
  do {
    // A long queue gets the slices that prefetch; a short one pays nothing.
    slice = ready_.size() >= kPrefetchQueueDepth ? run_slice<true>(slice.n, start)
                                                 : run_slice<false>(slice.n, start);
  } while (slice.go_on && !ready_.empty());
  const std::size_t n = slice.n;
  if (tearing_down_) {
    ev_break(loop_, EVBREAK_ALL);
  } else if (!ready_.empty()) {
    if (!ev_is_active(&timer0_)) ev_timer_start(loop_, &timer0_);  // poll without blocking
  } else if (ev_is_active(&timer0_)) {
    ev_timer_stop(loop_, &timer0_);
  }
  if (Observer* o = observer_if_any()) [[unlikely]] o->on_callbacks_end(*this, n);
}

// run_slice() runs ready items, `n` of them run so far, until the queue is
// empty, the time budget is spent (ready work could starve I/O forever: the
// loop polls between budget-sized slices), or the queue's length says the
// other kind of slice should go on (looked at every 64 items). With
// `kPrefetch` each next greenlet's stack is prefetched while this one runs.
template <bool kPrefetch>
HubImpl::Slice HubImpl::run_slice(std::size_t n, std::int64_t start) {
  while (!ready_.empty()) {
    const ReadyQueue::Item item = ready_.pop();
    if constexpr (kPrefetch) prefetch_next_ready();
    run_item(item);
    ++n;
    if ((n & 63) == 0) {
      count_progress(*beat_);
      if (!tearing_down_ && monotonic_ns() - start > budget_ns_) return {n, false};
      if ((ready_.size() >= kPrefetchQueueDepth) != kPrefetch) [[unlikely]] return {n, true};
    }
  }
  return {n, true};
}

// prefetch_next_ready() starts loading what the next greenlet's switch will
// read: its saved registers and the frames it returns through (or, if it has
// not run yet, the top of the stack it will get), and the greenlet after it.
// With many greenlets alive (a burst of connections) each switch otherwise
// waits on a cache and TLB miss for a stack the hub last touched long ago;
// with a short queue their stacks are likely still cached, and the
// prefetches would only cost instructions (about 60 per yield).
void HubImpl::prefetch_next_ready() const {
  if (GreenletBase* after = ready_.peek(1)) __builtin_prefetch(after);
  GreenletBase* next = ready_.peek(0);
  if (next == nullptr) return;
  std::uintptr_t from = 0;
  std::uintptr_t to = 0;
  if (next->started_) {
    from = reinterpret_cast<std::uintptr_t>(next->context_);
    to = std::min(from + kPrefetchBytes, next->stack_.hi);
  } else if (const std::uintptr_t top = stacks_.next_top(); top != 0) {
    from = top - kPrefetchFirstRunBytes;
    to = top;
  }
  for (std::uintptr_t line = from; line < to; line += 64) {
    __builtin_prefetch(reinterpret_cast<const void*>(line), 1);
  }
}

void HubImpl::run_callback_item(std::function<void()>* raw) {
  const std::unique_ptr<std::function<void()>> callback(raw);
  if (monitor_on()) [[unlikely]] stamp(*beat_, StallOwner::Callback, 0);
  if (Observer* o = observer_if_any()) [[unlikely]] o->on_callback_begin(*this);
  try {
    (*callback)();
  } catch (...) {
    const std::exception_ptr error = std::current_exception();
    report_error(nullptr, error, "run_callback() callback failed: " + exception_text(error));
  }
  if (Observer* o = observer_if_any()) [[unlikely]] o->on_callback_end(*this);
  if (monitor_on()) [[unlikely]] stamp(*beat_, StallOwner::Hub, 0);
}

void HubImpl::on_prepare(struct ev_loop* loop, ev_prepare* w, int) {
  HubImpl& hub = hub_of(loop);
  WatcherScope scope(hub, WatcherKind::Prepare, w);
  count_progress(*hub.beat_);
  hub.run_ready_items();
}

void HubImpl::on_timer0(struct ev_loop* loop, ev_timer* w, int) {
  WatcherScope scope(hub_of(loop), WatcherKind::Timer, w);
}

void HubImpl::on_async(struct ev_loop* loop, ev_async* w, int) {
  HubImpl& hub = hub_of(loop);
  WatcherScope scope(hub, WatcherKind::Async, w);
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard<std::mutex> lock(hub.threadsafe_mutex_);
    batch.swap(hub.threadsafe_);
  }
  for (auto& fn : batch) hub.enqueue_callback(std::move(fn));
}

void HubImpl::on_release(struct ev_loop* loop) noexcept {
  const std::uint64_t t = monitor_on() ? beat_poll_begin(*hub_of(loop).beat_) : 0;
  if (Observer* o = observer_if_any()) [[unlikely]] {
    tls_hook_ticks = t;
    o->on_poll_begin(hub_of(loop));
  }
}

void HubImpl::on_acquire(struct ev_loop* loop) noexcept {
  const std::uint64_t t = monitor_on() ? beat_poll_end(*hub_of(loop).beat_) : 0;
  if (Observer* o = observer_if_any()) [[unlikely]] {
    tls_hook_ticks = t;
    o->on_poll_end(hub_of(loop), ev_pending_count(loop));
  }
}

void HubImpl::add_live(GreenletBase& g) {
  g.live_next_ = live_head_;
  g.live_prev_ = nullptr;
  if (live_head_ != nullptr) live_head_->live_prev_ = &g;
  live_head_ = &g;
  ++live_count_;
}

void HubImpl::remove_live(GreenletBase& g) {
  if (g.live_prev_ != nullptr) g.live_prev_->live_next_ = g.live_next_;
  else if (live_head_ == &g) live_head_ = g.live_next_;
  else return;  // not in the list
  if (g.live_next_ != nullptr) g.live_next_->live_prev_ = g.live_prev_;
  g.live_prev_ = g.live_next_ = nullptr;
  --live_count_;
}

void HubImpl::visit_live(const std::function<void(const GreenletInfo&)>& visit) const {
  for (GreenletBase* g = live_head_; g != nullptr; g = g->live_next_) visit(*g);
}

void HubImpl::report_error(const GreenletInfo* g, std::exception_ptr error, const std::string& text) {
  if (Observer* o = observer_if_any()) o->on_error(*this, g, text);
  ErrorReport report{g, std::move(error), text};
  if (error_handler_) {
    try {
      error_handler_(report);
      return;
    } catch (...) {
      std::fputs("greenscope: the hub's error handler threw; reporting to stderr instead\n", stderr);
    }
  }
  std::fprintf(stderr, "greenscope: %s\n", text.c_str());
}

// --- hub_view.h: what the stall monitor may read ------------------------------------

const StackRange* running_stack(const HubImpl& hub) noexcept {
  const GreenletBase* g = hub.running();
  return g != nullptr ? &g->stack() : nullptr;
}

bool unwinding_exception(const HubImpl& hub) noexcept { return hub.eh_globals()->uncaught_exceptions > 0; }

}  // namespace gs::detail
