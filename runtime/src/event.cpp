#include "greenscope/event.h"

namespace gs {

void Event::set() {
  flag_ = true;
  ++generation_;
  waiters_.notify_all();
}

bool Event::wait(Duration timeout) {
  if (flag_) return true;
  const std::uint64_t start = generation_;
  const detail::Deadline deadline(timeout);
  while (generation_ == start && !deadline.expired()) {
    waiters_.wait(WaitInfo{SwitchReason::Event, this, "Event.wait()"}, deadline.remaining());
  }
  return generation_ != start;
}

}  // namespace gs
