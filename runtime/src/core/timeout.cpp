#include "greenscope/timeout.h"

#include "greenscope/detail/deadline.h"
#include "hub_impl.h"

namespace gs {

struct Timeout::Watcher {
  ev_timer timer;
  detail::HubImpl* hub;
  detail::GreenletBase* greenlet;
  Timeout* owner;
  bool expired = false;

  static void on_expiry(struct ev_loop*, ev_timer* w, int) {
    auto& self = *static_cast<Watcher*>(w->data);
    detail::WatcherScope scope(*self.hub, WatcherKind::Timer, w);
    self.expired = true;
    if (Observer* o = detail::observer_if_any()) [[unlikely]]
      o->on_timeout(*self.hub, *self.greenlet, self.owner->seconds_);
    self.hub->raise_in(*self.greenlet,
                       std::make_exception_ptr(TimeoutError(self.owner->seconds_, self.owner)),
                       self.owner, SwitchReason::Timeout);
  }
};

Timeout::Timeout(Duration seconds) : seconds_(seconds) {
  const double after = detail::timeout_seconds(seconds, "gs::Timeout");
  if (after >= detail::kNoLimitSeconds) return;
  detail::HubImpl& hub = detail::HubImpl::current();
  watcher_ = std::make_unique<Watcher>();
  watcher_->hub = &hub;
  watcher_->greenlet = hub.running();
  watcher_->owner = this;
  ev_now_update(hub.ev());
  ev_timer_init(&watcher_->timer, &Watcher::on_expiry, after, 0.);
  watcher_->timer.data = watcher_.get();
  ev_timer_start(hub.ev(), &watcher_->timer);
}

Timeout::~Timeout() { cancel(); }

void Timeout::cancel() {
  if (!watcher_) return;
  ev_timer_stop(watcher_->hub->ev(), &watcher_->timer);
  watcher_->hub->cancel_pending(*watcher_->greenlet, this);
}

bool Timeout::expired() const { return watcher_ && watcher_->expired; }

}  // namespace gs
