#include "cache_decay.h"

#include <time.h>

#include <algorithm>

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
    restart();
    return 0;
  }
  if ((++calls_ & look_mask_) != 0) return 0;
  const std::int64_t now = coarse_now_ns();
  if (period_start_ns_ == 0) {
    period_start_ns_ = now;
    low_water_ = size;
    return 0;
  }
  if (now - period_start_ns_ >= kDecayPeriodNs) {
    // low_water_ left out what was owed already: still owed, not again.
    owed_ += low_water_ > floor_ ? low_water_ - floor_ : 0;
    period_start_ns_ = now;
    low_water_ = size - std::min(owed_, size);
  }
  // Never below the floor: entries taken since leave fewer to give.
  const std::size_t n = std::min({owed_, size - floor_, kMostPerCall});
  owed_ = std::min(owed_ - n, size - floor_ - n);
  // While something is owed, look 8 times as often: a quiet program (1,000
  // spawns a second) gets a burst's 200,000 stacks back in seconds, not in
  // half a minute.
  look_mask_ = owed_ != 0 ? kOwingLooks : kRestingLooks;
  return n;
}

}  // namespace gs::detail
