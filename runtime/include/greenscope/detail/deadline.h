// deadline.h: how every timeout is read (types.h says the rules), and a
// deadline that loops of waits share.
#pragma once

#include <chrono>
#include <limits>
#include <string>

#include "greenscope/types.h"

namespace gs::detail {

// kNoLimitSeconds: from this many seconds up (about 31 years), a timeout has
// no limit, as kForever. Every finite timeout below it converts to
// steady_clock nanoseconds and to libev's ev_tstamp without overflow.
inline constexpr double kNoLimitSeconds = 1e9;

// number_text() is `value` as "%.6g", as error messages quote a duration.
std::string number_text(double value);

// throw_nan_timeout() throws the UsageError for a NaN timeout passed to
// `what` (a call's name: "Event.wait()").
[[noreturn]] void throw_nan_timeout(const char* what);

// timeout_seconds() is `timeout` as the runtime waits on it: 0 for a
// negative one (already passed), +infinity from kNoLimitSeconds up (no
// limit), else its seconds. Throws UsageError naming `what` for NaN.
// The common cases cost two or four compares.
inline double timeout_seconds(Duration timeout, const char* what) {
  const double s = timeout.count();
  if (s >= 0 && s < kNoLimitSeconds) [[likely]] return s;
  if (s >= kNoLimitSeconds) return std::numeric_limits<double>::infinity();
  if (s < 0) return 0;
  throw_nan_timeout(what);
}

// Deadline measures what is left of a timeout across several waits.
class Deadline {
 public:
  // Deadline() reads `timeout` with timeout_seconds(); `what` names the call
  // for its UsageError.
  Deadline(Duration timeout, const char* what) : Deadline(timeout_seconds(timeout, what)) {}

  bool forever() const { return forever_; }
  // remaining() is kForever for no limit, else what is left (at least 0).
  Duration remaining() const {
    if (forever_) return kForever;
    const Duration left = end_ - Clock::now();
    return left.count() > 0 ? left : Duration::zero();
  }
  bool expired() const { return !forever_ && Clock::now() >= end_; }

 private:
  using Clock = std::chrono::steady_clock;
  explicit Deadline(double seconds)
      : forever_(seconds >= kNoLimitSeconds),
        end_(forever_ ? Clock::time_point::max()
                      : Clock::now() + std::chrono::duration_cast<Clock::duration>(Duration(seconds))) {}
  bool forever_;
  Clock::time_point end_;
};

}  // namespace gs::detail
