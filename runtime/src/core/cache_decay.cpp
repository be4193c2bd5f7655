#include "cache_decay.h"

#include <time.h>

namespace gs::detail {

namespace {
constexpr std::int64_t kDecayPeriodNs = 1'000'000'000;
}  // namespace

std::int64_t coarse_now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::size_t CacheDecay::due(std::size_t size) {
  if (size <= floor_) {
    period_start_ns_ = 0;
    return 0;
  }
  if ((++calls_ & 63) != 0) return 0;
  const std::int64_t now = coarse_now_ns();
  if (period_start_ns_ == 0) {
    period_start_ns_ = now;
    low_water_ = size;
    return 0;
  }
  if (now - period_start_ns_ < kDecayPeriodNs) return 0;
  const std::size_t excess = low_water_ > floor_ ? low_water_ - floor_ : 0;
  period_start_ns_ = now;
  low_water_ = size - excess;
  return excess;
}

}  // namespace gs::detail
