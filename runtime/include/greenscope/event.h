// event.h: gevent.event for C++: Event and AsyncResult<T>.
#pragma once

#include <cstdint>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "greenscope/detail/wait_list.h"
#include "greenscope/errors.h"
#include "greenscope/types.h"

namespace gs {

// Event is a flag greenlets wait on. set() wakes every waiter; the flag then
// stays set until clear(). One hub (thread) only.
class Event {
 public:
  Event() = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  void set();
  void clear() { flag_ = false; }
  bool is_set() const { return flag_; }
  bool ready() const { return flag_; }
  // wait() returns once the flag is set (true) or the timeout passes
  // (false): at once for 0 or less; NaN is a UsageError (types.h has the
  // rules every timeout follows). A set() followed at once by clear() still wakes every waiter
  // with true, as threading.Event does. An Event may be destroyed once set(),
  // even before its waiters have run.
  bool wait(Duration timeout = kForever);

 private:
  bool flag_ = false;
  detail::WaitList waiters_;
};

// AsyncResult<T> carries one value or one exception from a producer to any
// number of waiting greenlets (gevent.event.AsyncResult). T may be void.
template <class T>
class AsyncResult {
  using Storage = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

 public:
  AsyncResult() = default;
  AsyncResult(const AsyncResult&) = delete;
  AsyncResult& operator=(const AsyncResult&) = delete;

  // set() stores the value (none for T = void) and wakes every waiter.
  template <class... V>
  void set(V&&... value) {
    value_.emplace(std::forward<V>(value)...);
    error_ = nullptr;
    waiters_.notify_all();
  }
  void set_exception(std::exception_ptr error) {
    value_.reset();
    error_ = std::move(error);
    waiters_.notify_all();
  }

  bool ready() const { return value_.has_value() || error_ != nullptr; }
  bool successful() const { return value_.has_value(); }
  std::exception_ptr exception() const { return error_; }

  // wait() waits until a value or exception is set; returns ready().
  // Timeouts as in types.h: 0 or less does not wait, NaN is a UsageError.
  bool wait(Duration timeout = kForever) {
    return waiters_.wait_until([this] { return ready(); },
                               WaitInfo{SwitchReason::Event, this, "AsyncResult.wait()"}, timeout);
  }

  // get() waits, then returns the value or rethrows the exception;
  // TimeoutError if nothing arrived within `timeout`.
  decltype(auto) get(Duration timeout = kForever) {
    if (!wait(timeout)) throw TimeoutError(timeout);
    if (error_) std::rethrow_exception(error_);
    if constexpr (!std::is_void_v<T>) return static_cast<T&>(*value_);
  }

 private:
  std::optional<Storage> value_;
  std::exception_ptr error_;
  detail::WaitList waiters_;
};

}  // namespace gs
