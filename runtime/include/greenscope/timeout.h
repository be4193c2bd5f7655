// timeout.h: gevent.Timeout for C++: a scope-bound deadline for the
// greenlet that creates it.
#pragma once

#include <memory>
#include <utility>

#include "greenscope/errors.h"
#include "greenscope/types.h"

namespace gs {

// Timeout raises TimeoutError in the greenlet that created it at its first
// blocking point (sleep, wait, join, yield...) once `seconds` have passed.
// It never raises after it is destroyed or cancelled, and it does not
// interrupt code that never blocks. Catch with
//   catch (const gs::TimeoutError& e) { if (e.source() == &t) ... }
// to tell nested timeouts apart.
class Timeout {
 public:
  // Timeout(kForever) does nothing, nor does one of 1e9 s or more. One of 0
  // or less has already expired: it raises at the first blocking point, as
  // gevent's Timeout(-1) does. NaN is a UsageError (before anything starts).
  explicit Timeout(Duration seconds);
  ~Timeout();
  Timeout(const Timeout&) = delete;
  Timeout& operator=(const Timeout&) = delete;

  // cancel() stops the timer; an expiry not yet delivered is dropped.
  void cancel();
  // expired() is true once the timer fired.
  bool expired() const;
  Duration seconds() const { return seconds_; }

 private:
  struct Watcher;
  Duration seconds_;
  std::unique_ptr<Watcher> watcher_;
};

// with_timeout() calls f() under a Timeout of `seconds`; a TimeoutError
// escapes if it expires first.
template <class F>
decltype(auto) with_timeout(Duration seconds, F&& f) {
  Timeout timeout(seconds);
  return std::forward<F>(f)();
}

}  // namespace gs
