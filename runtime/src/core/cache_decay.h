// cache_decay.h: when a cache of freed things (stacks, greenlet blocks)
// gives some of them back.
#pragma once

#include <cstddef>
#include <cstdint>

namespace gs::detail {

// coarse_now_ns() is CLOCK_MONOTONIC_COARSE: a few nanoseconds, tick-coarse,
// enough for a decay measured in seconds.
std::int64_t coarse_now_ns();

// CacheDecay keeps a cache sized by what the program recently used: at least
// `floor` entries, and any that were taken again within the last second.
// Once a second at most, the entries that stayed unused for that whole
// second (the fewest the cache held during it) beyond the floor are owed
// back, and given back kMostPerCall at a time: the whole of a burst's
// stacks at once (200,000 of them) held the hub's thread 111 ms in munmap,
// a stall the runtime made. Like jemalloc's decay without a background
// thread, it runs as the cache is used, not while the program is idle. Not
// thread-safe: one per cache.
class CacheDecay {
 public:
  // kMostPerCall: at most this many entries are due at one call (one slab
  // of stacks at the most: 256).
  static constexpr std::size_t kMostPerCall = 256;

  explicit CacheDecay(std::size_t floor) : floor_(floor) {}

  // taken() records the cache's size after an entry was taken from it.
  void taken(std::size_t size) {
    if (size < low_water_) low_water_ = size;
  }
  // due() runs after every take and every give, with the cache's size now;
  // it returns how many of the entries the cache held longest to give back
  // (mostly 0; at most kMostPerCall). It reads the clock, and pays what is
  // owed, once in 64 calls (once in 8 while it owes).
  std::size_t due(std::size_t size);
  // restart() begins a new period owing nothing: after the cache was
  // trimmed by hand, or fell to its floor.
  void restart() {
    period_start_ns_ = 0;
    owed_ = 0;
    look_mask_ = kRestingLooks;
  }
  std::size_t floor() const { return floor_; }

 private:
  std::size_t floor_;
  std::size_t low_water_ = 0;       // the fewest entries held this period, less what is owed
  std::size_t owed_ = 0;            // entries due, not given back yet
  static constexpr std::uint32_t kRestingLooks = 63, kOwingLooks = 7;  // masks of calls_
  std::uint32_t look_mask_ = kRestingLooks;
  std::int64_t period_start_ns_ = 0;  // 0: no period running
  std::uint32_t calls_ = 0;
};

}  // namespace gs::detail
