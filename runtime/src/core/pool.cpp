#include "greenscope/pool.h"

#include <algorithm>

namespace gs {

void detail::GroupState::discard(const GreenletRef& g) {
  auto it = std::find(members.begin(), members.end(), g);
  if (it == members.end()) return;
  members.erase(it);
  if (slots != nullptr) slots->release();
  if (members.empty()) empty_waiters.notify_all();
}

Group::~Group() = default;

void Group::add(const GreenletRef& g) {
  if (contains(g)) return;
  before_add();
  track(g);
}

void Group::track(const GreenletRef& g) {
  state_->members.push_back(g);
  std::weak_ptr<detail::GroupState> weak = state_;
  g.link([weak](GreenletRef dead) {
    if (auto state = weak.lock()) state->discard(dead);
  });
}

bool Group::contains(const GreenletRef& g) const {
  return std::find(state_->members.begin(), state_->members.end(), g) != state_->members.end();
}

bool Group::join(Duration timeout, bool raise_error) {
  const detail::Deadline deadline(timeout, "Group.join()");
  auto state = state_;
  while (!state->members.empty()) {
    if (raise_error) {
      for (const GreenletRef& g : state->members) {
        if (g.ready() && g.exception()) std::rethrow_exception(g.exception());
      }
    }
    if (deadline.expired()) return false;
    state->empty_waiters.wait(WaitInfo{SwitchReason::Wait, this, "Group.join()"}, deadline.remaining());
  }
  return true;
}

void Group::kill(bool block, Duration timeout) {
  const std::vector<GreenletRef> members = state_->members;
  killall(members, /*block=*/false);
  if (block) join(timeout);
}

Pool::Pool(std::size_t size) : capacity_(size), slots_(detail::checked_count(size, "gs::Pool")) {
  if (size == 0) throw UsageError("greenscope: Pool(0) could never run anything; use a size >= 1 or a Group");
  state_->slots = &slots_;
}

Pool::~Pool() { state_->slots = nullptr; }

void Pool::before_add() { slots_.acquire(); }

void Pool::undo_add() { slots_.release(); }

}  // namespace gs
