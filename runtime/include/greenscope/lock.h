// lock.h: gevent.lock for C++: Semaphore, BoundedSemaphore, Lock, RLock.
// All of them also satisfy std::lock_guard / std::unique_lock (lock,
// unlock, try_lock). They coordinate greenlets of one hub (one thread).
#pragma once

#include <cstddef>
#include <cstdint>

#include "greenscope/detail/wait_list.h"
#include "greenscope/types.h"

namespace gs {

namespace detail {
// checked_count() is `value`, or UsageError naming `what` when it is past
// PTRDIFF_MAX: what a negative int becomes when passed as a std::size_t.
std::size_t checked_count(std::size_t value, const char* what);
}  // namespace detail

// Semaphore counts available slots; acquire() waits while there are none.
// A value past PTRDIFF_MAX (a negative number passed as std::size_t) is a
// UsageError, as gevent's Semaphore(-1) is a ValueError.
class Semaphore {
 public:
  explicit Semaphore(std::size_t value = 1) : value_(detail::checked_count(value, "gs::Semaphore")) {}
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  // acquire() takes a slot, waiting up to `timeout`; false if none freed up.
  // Every timeout here follows types.h: 0 or less does not wait (gevent's
  // acquire(timeout=-1) is False at once), NaN is a UsageError.
  bool acquire(Duration timeout = kForever);
  bool try_acquire();
  // release() returns a slot and wakes one waiter.
  void release();
  // wait() waits until a slot is free without taking it; false on timeout.
  bool wait(Duration timeout = kForever);

  std::size_t value() const { return value_; }
  bool locked() const { return value_ == 0; }
  std::size_t waiters() const { return waiters_.size(); }

  void lock() { acquire(); }
  void unlock() { release(); }
  bool try_lock() { return try_acquire(); }

 protected:
  // wait_for_slot() waits until value_ > 0; false on timeout.
  bool wait_for_slot(Duration timeout);
  // Semaphore(value, what) names the primitive in LoopExit messages/traces.
  Semaphore(std::size_t value, const char* what) : value_(detail::checked_count(value, what)), what_(what) {}

  std::size_t value_;
  const char* what_ = "Semaphore.acquire()";
  detail::WaitList waiters_;
};

// BoundedSemaphore refuses (UsageError) a release() past its initial value.
class BoundedSemaphore : public Semaphore {
 public:
  explicit BoundedSemaphore(std::size_t value = 1)
      : Semaphore(value, "BoundedSemaphore.acquire()"), initial_(value) {}
  void release();
  void unlock() { release(); }

 protected:
  BoundedSemaphore(std::size_t value, const char* what) : Semaphore(value, what), initial_(value) {}

 private:
  std::size_t initial_;
};

// Lock is a mutex for greenlets: acquire() waits while another greenlet holds
// it. Releasing an unheld Lock is a UsageError. It records its owner.
class Lock : public BoundedSemaphore {
 public:
  Lock() : BoundedSemaphore(1, "Lock.acquire()") {}
  bool acquire(Duration timeout = kForever);
  bool try_acquire();
  void release();
  void lock() { acquire(); }
  void unlock() { release(); }
  bool try_lock() { return try_acquire(); }
  // owner_id() is the holding greenlet's id, 0 when free.
  std::uint64_t owner_id() const { return owner_; }

 private:
  std::uint64_t owner_ = 0;
};

// RLock may be acquired again by the greenlet that holds it; it is free once
// released as many times. Only the owner may release it.
class RLock {
 public:
  RLock() = default;
  RLock(const RLock&) = delete;
  RLock& operator=(const RLock&) = delete;

  bool acquire(Duration timeout = kForever);
  bool try_acquire();
  void release();
  void lock() { acquire(); }
  void unlock() { release(); }
  bool try_lock() { return try_acquire(); }
  bool locked() const { return count_ > 0; }
  std::uint64_t owner_id() const { return owner_; }
  std::size_t count() const { return count_; }

 private:
  std::uint64_t owner_ = 0;
  std::size_t count_ = 0;
  detail::WaitList waiters_;
};

}  // namespace gs
