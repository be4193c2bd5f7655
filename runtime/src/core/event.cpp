#include "greenscope/event.h"

namespace gs {

void Event::set() {
  waiters_.notify_all();  // first: if it throws (wrong thread), nothing changed
  flag_ = true;
}

// wait() returns as soon as it is notified, without reading the Event again:
// only set() notifies, and the Event may already be destroyed by then.
bool Event::wait(Duration timeout) {
  if (flag_) return true;
  return waiters_.wait(WaitInfo{SwitchReason::Event, this, "Event.wait()"}, timeout);
}

}  // namespace gs
