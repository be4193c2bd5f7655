// scheduling.cpp: blocking, waking, yielding, and the public Hub API.
#include <cxxabi.h>

#include <cstdlib>

#include "greenscope/detail/deadline.h"
#include "greenscope/errors.h"
#include "greenscope/greenlet.h"
#include "hub_impl.h"
#include "switch.h"

namespace gs {
namespace detail {
namespace {

[[noreturn]] void deliver_pending(std::exception_ptr& pending) {
  std::exception_ptr error = std::move(pending);
  pending = nullptr;
  std::rethrow_exception(error);
}

[[noreturn]] void throw_blocking_in_hub(const char* what) {
  throw UsageError(std::string("greenscope: ") + what +
                   " was called in the hub greenlet (inside a watcher or run_callback() "
                   "callback), where blocking would stop the event loop; do blocking work in "
                   "a greenlet: gs::spawn(...)");
}

std::string demangle(const char* mangled) {
  int status = 0;
  char* name = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string out = status == 0 && name != nullptr ? name : mangled;
  std::free(name);
  return out;
}

void on_block_timeout(struct ev_loop* loop, ev_timer* w, int) {
  HubImpl& hub = *static_cast<HubImpl*>(ev_userdata(loop));
  WatcherScope scope(hub, WatcherKind::Timer, w);
  auto& g = *static_cast<GreenletBase*>(w->data);
  if (g.state() == GreenletState::Waiting) {
    hub.mark_timed_out(g);
    hub.wake(g);
  }
}

void on_idle(struct ev_loop* loop, ev_idle* w, int) {
  HubImpl& hub = *static_cast<HubImpl*>(ev_userdata(loop));
  WatcherScope scope(hub, WatcherKind::Idle, w);
  ev_idle_stop(loop, w);
  hub.wake(*static_cast<GreenletBase*>(w->data));
}

}  // namespace

std::string exception_text(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    const std::string type = demangle(typeid(e).name());
    const std::string what = e.what();
    // Our own exceptions already start their message with their type.
    if (what.rfind(type + ":", 0) == 0) return what;
    return type + ": " + what;
  } catch (...) {
    const std::type_info* type = abi::__cxa_current_exception_type();
    return type != nullptr ? demangle(type->name()) : std::string("unknown exception");
  }
}

void HubImpl::mark_timed_out(GreenletBase& g) { g.timed_out_ = true; }

bool HubImpl::block_current(const WaitInfo& info, Duration timeout) {
  GreenletBase& self = *current_;
  if (&self == hub_.get()) [[unlikely]] throw_blocking_in_hub(info.what);
  if (self.pending_) [[unlikely]] deliver_pending(self.pending_);
  const double seconds = timeout_seconds(timeout, info.what);
  if (seconds < kNoLimitSeconds) return block_current_timed(self, info, seconds);
  self.wait_ = info;
  self.timed_out_ = false;
  self.set_state(GreenletState::Waiting);
  switch_inline(self, *hub_, info.reason);
  if (self.pending_) [[unlikely]] deliver_pending(self.pending_);
  return !self.timed_out_;
}

// block_current_timed() is block_current() with a timer. Its own frame
// holds the timer, so that a wait without one keeps a small frame: the
// frames of a suspended greenlet are read back at its resume, a cache miss
// per line when many greenlets wait at once.
bool HubImpl::block_current_timed(GreenletBase& self, const WaitInfo& info, double seconds) {
  self.wait_ = info;
  self.timed_out_ = false;
  ev_timer timer;
  ev_now_update(loop_);
  ev_timer_init(&timer, &on_block_timeout, seconds, 0.);
  timer.data = &self;
  ev_timer_start(loop_, &timer);
  self.set_state(GreenletState::Waiting);
  switch_inline(self, *hub_, info.reason);
  ev_timer_stop(loop_, &timer);
  if (self.pending_) [[unlikely]] deliver_pending(self.pending_);
  return !self.timed_out_;
}

void HubImpl::yield_current() {
  GreenletBase& self = *current_;
  if (&self == hub_.get()) [[unlikely]] throw_blocking_in_hub("gs::yield()");
  if (self.pending_) [[unlikely]] deliver_pending(self.pending_);
  schedule(self);
  switch_inline(self, *hub_, SwitchReason::Yield);
  if (self.pending_) [[unlikely]] deliver_pending(self.pending_);
}

void HubImpl::raise_in(GreenletBase& g, std::exception_ptr error, const void* source,
                       SwitchReason reason) {
  if (g.dead()) return;
  // A kill outranks a timeout that has not been delivered yet.
  if (g.pending_ && g.pending_reason_ == SwitchReason::Kill && reason != SwitchReason::Kill) return;
  g.pending_ = std::move(error);
  g.pending_source_ = source;
  g.pending_reason_ = reason;
  if (g.state_ == GreenletState::Waiting) schedule(g);
}

void HubImpl::cancel_pending(GreenletBase& g, const void* source) {
  if (g.pending_ && g.pending_source_ == source) {
    g.pending_ = nullptr;
    g.pending_source_ = nullptr;
  }
}

std::string HubImpl::describe_blocked() const {
  auto describe_wait = [](const GreenletInfo& g) {
    const WaitInfo& w = g.wait_info();
    std::string s = w.what != nullptr && *w.what ? w.what : std::string(to_string(w.reason));
    if (w.reason == SwitchReason::Io && w.fd >= 0) {
      s += " on fd " + std::to_string(w.fd) + ((w.io_events & kIoWrite) ? " (writable)" : " (readable)");
    }
    if (w.reason == SwitchReason::Join && w.object != nullptr) {
      const auto* target = static_cast<const GreenletInfo*>(w.object);
      s += " on greenlet '" + target->name() + "' (id " + std::to_string(target->id()) + ")";
    }
    return s;
  };
  std::string msg = "gs::LoopExit: the main greenlet waits in " + describe_wait(*main_) +
                    ", but nothing left in the hub's loop can wake it (no active watcher or "
                    "timer, no ready greenlet or callback), so it would block forever.";
  std::size_t listed = 0;
  for (GreenletBase* g = live_head_; g != nullptr; g = g->live_next_) {
    if (g->state() != GreenletState::Waiting) continue;
    if (listed == 0) msg += " Greenlets blocked too:";
    if (++listed > 10) {
      msg += " ...";
      break;
    }
    msg += " '" + g->name() + "' (id " + std::to_string(g->id()) + ") in " + describe_wait(*g) + ";";
  }
  return msg;
}

HubImpl& current_hub() { return HubImpl::current(); }

std::uint64_t current_greenlet_id() { return HubImpl::current().running()->id(); }

// start_greenlet() and start_greenlet_later() first make sure a stack can be
// had: spawn() throws gs::ResourceError when none can, before the greenlet
// is anyone's (its stack is still taken when it first runs, from the cache).
void start_greenlet(const std::shared_ptr<GreenletBase>& g) {
  HubImpl& hub = *static_cast<HubImpl*>(&g->hub());
  hub.reserve_stack();
  g->self_ref_ = g;
  hub.add_live(*g);
  if (Observer* o = observer_if_any()) [[unlikely]] o->on_spawn(*g, *hub.running());
  hub.schedule(*g);
}

void start_greenlet_later(const std::shared_ptr<GreenletBase>& g, Duration delay) {
  const double seconds = timeout_seconds(delay, "gs::spawn_later()");
  if (seconds >= kNoLimitSeconds) {
    throw UsageError("greenscope: gs::spawn_later(): a delay of " + number_text(delay.count()) +
                     " s never ends and would leave a greenlet that never runs; pass the delay after "
                     "which it should start (under 1e9 s), or spawn it when it should start");
  }
  HubImpl& hub = *static_cast<HubImpl*>(&g->hub());
  hub.reserve_stack();
  g->self_ref_ = g;
  hub.add_live(*g);
  if (Observer* o = observer_if_any()) [[unlikely]] o->on_spawn(*g, *hub.running());
  g->start_timer_ = std::make_unique<DelayTimer>(hub, *g, Duration(seconds));
}

DelayTimer::DelayTimer(HubImpl& hub, GreenletBase& g, Duration delay) : hub_(hub), greenlet_(g) {
  ev_now_update(hub.ev());
  ev_timer_init(&timer_, &DelayTimer::on_timer, delay.count(), 0.);
  timer_.data = this;
  ev_timer_start(hub.ev(), &timer_);
}

DelayTimer::~DelayTimer() { ev_timer_stop(hub_.ev(), &timer_); }

void DelayTimer::on_timer(struct ev_loop* loop, ev_timer* w, int) {
  auto& self = *static_cast<DelayTimer*>(w->data);
  WatcherScope scope(*static_cast<HubImpl*>(ev_userdata(loop)), WatcherKind::Timer, w);
  self.hub_.schedule(self.greenlet_);
}

}  // namespace detail

// --- Hub's public API ------------------------------------------------------
namespace {
detail::HubImpl& impl(Hub* h) { return *static_cast<detail::HubImpl*>(h); }
const detail::HubImpl& impl(const Hub* h) { return *static_cast<const detail::HubImpl*>(h); }
}  // namespace

struct ev_loop* Hub::loop() const { return impl(this).ev(); }
std::thread::id Hub::thread_id() const { return impl(this).thread(); }

namespace {
// check_function() refuses an empty function where it is passed, not later
// in the hub where calling it would fail far from the mistake.
void check_function(const std::function<void()>& fn, const char* call) {
  if (!fn) [[unlikely]] {
    throw UsageError(std::string("greenscope: ") + call + " was given an empty function; pass the "
                     "function the hub should call");
  }
}
}  // namespace

void Hub::run_callback(std::function<void()> fn) {
  check_function(fn, "run_callback()");
  if (detail::HubImpl::current_if_any() != &impl(this)) {
    throw UsageError("greenscope: Hub::run_callback() called from another thread; use "
                     "run_callback_threadsafe() to reach a hub from outside its thread");
  }
  impl(this).enqueue_callback(std::move(fn));
}

void Hub::run_callback_threadsafe(std::function<void()> fn) {
  check_function(fn, "run_callback_threadsafe()");
  impl(this).post_threadsafe(std::move(fn));
}
void Hub::set_error_handler(ErrorHandler handler) { impl(this).set_handler(std::move(handler)); }
const GreenletInfo& Hub::main_greenlet() const { return impl(this).main(); }
const GreenletInfo& Hub::hub_greenlet() const { return impl(this).hub_greenlet_base(); }
std::size_t Hub::live_greenlets() const { return impl(this).live_count(); }
void Hub::for_each_greenlet(const std::function<void(const GreenletInfo&)>& visit) const {
  impl(this).visit_live(visit);
}

bool Hub::block(WaitInfo info, Duration timeout) {
  if (detail::HubImpl::current_if_any() != &impl(this)) {
    throw UsageError("greenscope: Hub::block() must be called on the hub's own thread");
  }
  return impl(this).block_current(info, timeout);
}

void Hub::wake(detail::GreenletBase& g) {
  if (detail::HubImpl::current_if_any() != &impl(this) || &g.hub() != this) {
    throw UsageError("greenscope: Hub::wake() must be called on the hub's own thread, for one "
                     "of its own greenlets; from elsewhere use run_callback_threadsafe()");
  }
  impl(this).wake(g);
}


// --- Free functions ----------------------------------------------------------
Hub& get_hub() { return detail::HubImpl::current(); }

GreenletRef current() {
  return GreenletRef(detail::HubImpl::current().running()->shared_from_this());
}

void sleep(Duration d) {
  if (d.count() <= 0) {
    yield();
    return;
  }
  detail::HubImpl::current().block_current(WaitInfo{SwitchReason::Sleep, nullptr, "gs::sleep()"}, d);
}

void yield() { detail::HubImpl::current().yield_current(); }

void idle() {
  detail::HubImpl& hub = detail::HubImpl::current();
  ev_idle w;
  ev_idle_init(&w, &detail::on_idle);
  ev_set_priority(&w, EV_MINPRI);
  w.data = hub.running();
  ev_idle_start(hub.ev(), &w);
  try {
    hub.block_current(WaitInfo{SwitchReason::Idle, nullptr, "gs::idle()"}, kForever);
  } catch (...) {
    ev_idle_stop(hub.ev(), &w);
    throw;
  }
  ev_idle_stop(hub.ev(), &w);
}

void run_callback(std::function<void()> fn) { get_hub().run_callback(std::move(fn)); }

void run_callback_threadsafe(std::function<void()> fn) {
  check_function(fn, "run_callback_threadsafe()");
  if (!detail::HubImpl::post_to_main_hub(std::move(fn))) {
    throw UsageError("greenscope: run_callback_threadsafe(fn) found no hub on the main thread; "
                     "create it there first (gs::get_hub()) or pass the target hub: "
                     "gs::run_callback_threadsafe(hub, fn)");
  }
}

void run_callback_threadsafe(Hub& hub, std::function<void()> fn) {
  hub.run_callback_threadsafe(std::move(fn));
}

}  // namespace gs
