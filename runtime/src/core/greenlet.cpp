// greenlet.cpp: a greenlet's own life (run, die, join, kill, link) and the
// handles that share it.
#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "greenscope/detail/deadline.h"
#include "greenscope/errors.h"
#include "greenscope/greenlet.h"
#include "greenscope/observer.h"
#include "hub_impl.h"
#include "monitor.h"
#include "shown.h"

namespace gs {

GreenletInfo::GreenletInfo(GreenletKind kind, detail::HubImpl* hub, std::uint64_t spawner_id)
    : id_(detail::next_greenlet_id()), kind_(kind), hub_(hub), spawner_id_(spawner_id) {}

std::string GreenletInfo::default_name(std::uint64_t id) { return "Greenlet-" + std::to_string(id); }

Hub& GreenletInfo::hub() const { return *hub_; }

namespace detail {
namespace {
std::atomic<std::uint64_t> g_next_id{1};

}  // namespace

std::uint64_t next_greenlet_id() { return g_next_id.fetch_add(1, std::memory_order_relaxed); }

GreenletBase::GreenletBase(GreenletKind kind, HubImpl* hub, std::uint64_t spawner_id)
    : GreenletInfo(kind, hub, spawner_id) {}

GreenletBase::~GreenletBase() = default;

void GreenletBase::illegal_transition(GreenletState next) const {
  std::fprintf(stderr, "greenscope: illegal greenlet state transition %s -> %s for %s (runtime bug)\n",
               to_string(state_).data(), to_string(next).data(), detail::described(*this).c_str());
  std::abort();
}

void GreenletBase::check_thread(const char* what) const {
  if (HubImpl::current_if_any() != hub_) [[unlikely]] {
    throw UsageError(std::string("greenscope: ") + what + " on greenlet " + detail::described(*this) +
                     " from another thread. A greenlet belongs to the hub of the thread that "
                     "spawned it; act on it from that thread, e.g. via "
                     "gs::run_callback_threadsafe(its_hub, ...).");
  }
}

void GreenletBase::finish_body() {
  ExitKind kind = ExitKind::Returned;
  try {
    run();
  } catch (const GreenletExit&) {
    killed_ = true;
    kind = ExitKind::Killed;
  } catch (...) {
    error_ = std::current_exception();
    kind = ExitKind::Failed;
  }
  pending_ = nullptr;
  try {
    locals_.clear();
  } catch (...) {
  }
  set_state(GreenletState::Dead);
  if (error_) [[unlikely]] {
    die_of_error();
    return;
  }
  die(kind);
}

// die_of_error() reports the exception that escaped run(), then dies. Out of
// line: its strings would otherwise widen finish_body()'s frame, which sits
// on every greenlet's stack while it waits (a burst of waiting greenlets
// touches each one's frames again at every resume).
void GreenletBase::die_of_error() {
  const std::string text = "greenlet " + detail::described(*this) + " failed: " + exception_text(error_);
  hub_->report_error(this, error_, text);
  die(ExitKind::Failed, text);
}

// die() tells everyone who waits for this greenlet that it is dead.
void GreenletBase::die(ExitKind kind, const std::string& error_text) {
  hub_->remove_live(*this);
  if (own_name_) forget_greenlet_name(id_);
  joiners_.notify_all();
  if (!links_.empty()) {
    GreenletRef self(shared_from_this());
    for (auto& cb : links_) {
      hub_->enqueue_callback([cb = std::move(cb), self] { cb(self); });
    }
    links_.clear();
  }
  if (Observer* o = observer_if_any()) [[unlikely]] o->on_exit(*this, kind, error_text);
}

bool GreenletBase::join(Duration timeout) {
  if (dead()) return true;
  if (hub_->running() == this) {
    throw UsageError("greenscope: greenlet " + detail::described(*this) +
                     " called join() on itself, which would wait forever for its own end; "
                     "join it from another greenlet");
  }
  // The object is stored as a GreenletInfo*: describe_blocked() reads it so.
  const WaitInfo info{SwitchReason::Join, static_cast<const GreenletInfo*>(this), "Greenlet.join()"};
  return joiners_.wait_until([this] { return dead(); }, info, timeout);
}

void GreenletBase::kill(bool block, Duration timeout) {
  if (dead()) return;
  if (kind() != GreenletKind::User) {
    throw UsageError("greenscope: the main and hub greenlets cannot be killed; kill the "
                     "greenlets you spawned instead");
  }
  HubImpl& hub = *hub_;
  if (hub.running() == this) throw GreenletExit();
  if (!started_) {  // it never runs: no stack, no unwinding
    const bool queued = state_ == GreenletState::Ready;
    start_timer_.reset();
    killed_ = true;
    set_state(GreenletState::Dead);
    die(ExitKind::NeverStarted);
    if (!queued) hub.reclaim(*this);  // else reclaimed when dequeued
    return;
  }
  hub.raise_in(*this, std::make_exception_ptr(GreenletExit()), nullptr, SwitchReason::Kill);
  if (block) join(timeout);
}

void GreenletBase::link(std::function<void(GreenletRef)> callback) {
  if (dead()) {
    GreenletRef self(shared_from_this());
    hub_->enqueue_callback([cb = std::move(callback), self] { cb(self); });
    return;
  }
  links_.push_back(std::move(callback));
}

void GreenletBase::set_name(std::string name) {
  name_ = std::move(name);
  own_name_ = true;
  remember_greenlet_name(id_, name_);  // the stall monitor names culprits from its own thread
  if (Observer* o = observer_if_any()) [[unlikely]] o->on_rename(*this);
}

std::shared_ptr<void>& GreenletBase::local_slot(std::size_t key) {
  if (locals_.size() <= key) locals_.resize(key + 1);
  return locals_[key];
}

void throw_empty_function(const char* call) {
  throw UsageError(std::string("greenscope: ") + call +
                   " was given an empty function (a null function pointer or an empty "
                   "std::function); pass the function the greenlet should run");
}

void throw_result_of(const GreenletBase& g) {
  if (g.error()) std::rethrow_exception(g.error());
  if (g.killed()) throw GreenletExit();
  throw UsageError("greenscope: greenlet has no result yet; join() it first");
}

}  // namespace detail

detail::GreenletBase& GreenletRef::checked(const char* what) const {
  if (!g_) [[unlikely]] {
    throw UsageError(std::string("greenscope: ") + what +
                     " on an empty greenlet handle; assign it from gs::spawn() first");
  }
  g_->check_thread(what);
  return *g_;
}

bool GreenletRef::join(Duration timeout) const { return checked("join()").join(timeout); }
void GreenletRef::kill(bool block, Duration timeout) const { checked("kill()").kill(block, timeout); }
bool GreenletRef::started() const { return checked("started()").started(); }
bool GreenletRef::ready() const { return checked("ready()").dead(); }
bool GreenletRef::successful() const {
  auto& g = checked("successful()");
  return g.dead() && !g.error();
}
bool GreenletRef::killed() const { return checked("killed()").killed(); }
std::exception_ptr GreenletRef::exception() const { return checked("exception()").error(); }
GreenletState GreenletRef::state() const { return checked("state()").state(); }
void GreenletRef::link(std::function<void(GreenletRef)> callback) const {
  auto& g = checked("link()");
  if (!callback) {
    throw UsageError("greenscope: link() on greenlet '" + g.name() + "' (id " + std::to_string(g.id()) +
                     ") was given an empty function; pass the function to call when it dies");
  }
  g.link(std::move(callback));
}
std::string GreenletRef::name() const { return checked("name()").name(); }
void GreenletRef::set_name(std::string name) const { checked("set_name()").set_name(std::move(name)); }
std::uint64_t GreenletRef::id() const {
  if (!g_) throw UsageError("greenscope: id() on an empty greenlet handle");
  return g_->id();
}
const GreenletInfo& GreenletRef::info() const { return checked("info()"); }

std::vector<GreenletRef> joinall(const std::vector<GreenletRef>& greenlets, Duration timeout,
                                 bool raise_error) {
  const detail::Deadline deadline(timeout, "gs::joinall()");
  // The result is built as each greenlet is joined, while its handle's
  // count is in cache: copying the whole vector afterwards touched each of
  // a large burst's greenlets once more, cold (a cache miss per greenlet).
  std::vector<GreenletRef> done;
  done.reserve(greenlets.size());
  bool all = true;
  for (const GreenletRef& g : greenlets) {
    if (deadline.expired() || !g.join(deadline.remaining())) {
      all = false;
      break;
    }
    if (raise_error && g.exception()) std::rethrow_exception(g.exception());
    done.push_back(g);
  }
  if (all) return done;  // each was joined: no second look at each
  done.clear();
  for (const GreenletRef& g : greenlets) {
    if (g.ready()) done.push_back(g);
  }
  return done;
}

void killall(const std::vector<GreenletRef>& greenlets, bool block, Duration timeout) {
  for (const GreenletRef& g : greenlets) g.kill(/*block=*/false);
  if (block) joinall(greenlets, timeout);
}

}  // namespace gs
