// ticks.h: the inline read of the runtime's tick clock (detail/clock.h) for
// the hub's hot paths: one rdtsc (about 10 ns) when the TSC is invariant.
#pragma once

#include <time.h>

#include <cstdint>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace gs::detail {

// g_ticks_are_tsc is set once, before any hub stamps (init in clock.cpp).
extern bool g_ticks_are_tsc [[gnu::visibility("hidden")]];

inline std::uint64_t mono_now_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

inline std::uint64_t ticks_now() {
#if defined(__x86_64__)
  if (g_ticks_are_tsc) [[likely]] return __rdtsc();
#endif
  return mono_now_ns();
}

// tls_hook_ticks is hook_ticks_slot()'s (greenscope/detail/clock.h): set before
// each on_switch, on_poll_begin and on_poll_end call.
extern thread_local std::uint64_t tls_hook_ticks [[gnu::visibility("hidden")]]
    __attribute__((tls_model("initial-exec")));

// ticks_per_ns() is the calibrated rate (1 for CLOCK_MONOTONIC).
double ticks_per_ns();

}  // namespace gs::detail
