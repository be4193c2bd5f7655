// deadline.h: turns a timeout into a deadline that loops of waits share.
#pragma once

#include <chrono>

#include "greenscope/types.h"

namespace gs::detail {

// Deadline measures what is left of a timeout across several waits.
class Deadline {
 public:
  explicit Deadline(Duration timeout)
      : forever_(timeout.count() < 0),
        end_(forever_ ? Clock::time_point::max()
                      : Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout)) {}

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
  bool forever_;
  Clock::time_point end_;
};

}  // namespace gs::detail
