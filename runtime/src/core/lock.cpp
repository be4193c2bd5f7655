#include "greenscope/lock.h"

#include <cstdint>
#include <string>
#include <string_view>

#include "greenscope/errors.h"
#include "hub_impl.h"

namespace gs {

std::size_t detail::checked_count(std::size_t value, const char* what) {
  if (value > static_cast<std::size_t>(PTRDIFF_MAX)) [[unlikely]] {
    const std::string name(what, std::string_view(what).find('.') == std::string_view::npos
                                     ? std::string_view(what).size()
                                     : std::string_view(what).find('.'));
    throw UsageError("greenscope: " + name + "(" + std::to_string(value) +
                     "): a count this large is a negative number passed as std::size_t; pass a count "
                     "of 0 or more");
  }
  return value;
}

namespace {
std::uint64_t running_id() { return detail::HubImpl::current().running()->id(); }
}  // namespace

bool Semaphore::acquire(Duration timeout) {
  if (!wait_for_slot(timeout)) return false;
  --value_;
  return true;
}

bool Semaphore::try_acquire() {
  if (value_ == 0) return false;
  --value_;
  return true;
}

void Semaphore::release() {
  ++value_;
  waiters_.notify_one();
}

bool Semaphore::wait_for_slot(Duration timeout) {
  return waiters_.wait_until([this] { return value_ > 0; }, WaitInfo{SwitchReason::Lock, this, what_},
                             timeout);
}

bool Semaphore::wait(Duration timeout) {
  if (!wait_for_slot(timeout)) return false;
  // We did not take the slot: pass the wake-up on to whoever waits to.
  waiters_.notify_one();
  return true;
}

void BoundedSemaphore::release() {
  if (value_ >= initial_) {
    throw UsageError("greenscope: " + std::string(what_).substr(0, std::string(what_).find('.')) +
                     " released more times than it was acquired (bound " +
                     std::to_string(initial_) + ")");
  }
  Semaphore::release();
}

bool Lock::acquire(Duration timeout) {
  if (owner_ != 0 && owner_ == running_id()) {
    throw UsageError("greenscope: Lock::acquire() by the greenlet that already holds it would "
                     "deadlock; use gs::RLock for re-entrant locking");
  }
  if (!Semaphore::acquire(timeout)) return false;
  owner_ = running_id();
  return true;
}

bool Lock::try_acquire() {
  if (!Semaphore::try_acquire()) return false;
  owner_ = running_id();
  return true;
}

void Lock::release() {
  if (value_ != 0) throw UsageError("greenscope: Lock::release() on a Lock that is not held");
  owner_ = 0;
  Semaphore::release();
}

bool RLock::acquire(Duration timeout) {
  const std::uint64_t me = running_id();
  if (owner_ == me) {
    ++count_;
    return true;
  }
  if (!waiters_.wait_until([this] { return count_ == 0; },
                           WaitInfo{SwitchReason::Lock, this, "RLock.acquire()"}, timeout)) {
    return false;
  }
  owner_ = me;
  count_ = 1;
  return true;
}

bool RLock::try_acquire() {
  const std::uint64_t me = running_id();
  if (count_ > 0 && owner_ != me) return false;
  owner_ = me;
  ++count_;
  return true;
}

void RLock::release() {
  if (count_ == 0 || owner_ != running_id()) {
    throw UsageError("greenscope: RLock::release() by a greenlet that does not hold it; only "
                     "the owner may release an RLock");
  }
  if (--count_ == 0) {
    owner_ = 0;
    waiters_.notify_one();
  }
}

}  // namespace gs
