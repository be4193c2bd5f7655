// clock.h: the trace clock. The cycle counter when the CPU says it is
// constant and does not stop in idle states (about 10 ns to read here),
// CLOCK_MONOTONIC otherwise (about 25 ns). The file records which.
#pragma once

#include <time.h>

#include <cstdint>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "greenscope/trace_format.h"

namespace gs::trace::detail {

// g_use_tsc is decided once by init_clock(), before any event is recorded.
extern bool g_use_tsc [[gnu::visibility("hidden")]];

inline std::uint64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

// now() is the trace clock in ticks.
inline std::uint64_t now() {
#if defined(__x86_64__)
  if (g_use_tsc) [[likely]] return __rdtsc();
#endif
  return mono_ns();
}

// init_clock() picks the clock source (once per process).
void init_clock();
trace_format::ClockSource clock_source();

// Calibration is one (ticks, CLOCK_MONOTONIC) pair, read as close together
// as the machine allows.
trace_format::CalibrationRecord calibration_point();
// measure_ticks_per_ns() spins for about `spin_ns` to estimate the rate,
// and keeps it for ticks_at_mono().
double measure_ticks_per_ns(std::uint64_t spin_ns);

// ticks_at_mono() is the trace clock's reading at an earlier
// CLOCK_MONOTONIC time `mono_ns` (the runtime stamps stall samples so),
// through the last measured rate: exact to well under a microsecond over
// the milliseconds it is used for.
std::uint64_t ticks_at_mono(std::int64_t mono_ns);

}  // namespace gs::trace::detail
