// clock.h: the runtime's tick clock, which the stall monitor stamps with and
// the tracer records with, so that stall times and trace events share one
// time base: the cycle counter when the kernel reports it constant and
// nonstop, else CLOCK_MONOTONIC in ns.
#pragma once

#include <cstdint>

namespace gs::detail {

// clock_uses_tsc() is decided once per process (reads /proc/cpuinfo).
bool clock_uses_tsc();
// clock_ticks() reads the clock.
std::uint64_t clock_ticks();
// ClockPair is one clock reading with CLOCK_MONOTONIC beside it.
struct ClockPair {
  std::uint64_t ticks;
  std::uint64_t mono_ns;
};
// read_clock_pair() brackets a tick read between two monotonic reads and
// keeps the tightest of a few tries, so that preemption in between is
// filtered out (the tracer's calibration records use it too).
ClockPair read_clock_pair();

// hook_ticks_slot() is where this thread's hub puts the reading the stall
// monitor took for the event an observer is being told of (on_switch,
// on_poll_begin, on_poll_end), or 0 when the monitor did not stamp it. The
// tracer records that reading rather than read the clock again (about
// 10 ns each), so that its switches and polls fall exactly on the
// monitor's segment boundaries; it keeps the address per thread, so that
// reading it is one load. Meaningful only inside those hooks.
const std::uint64_t* hook_ticks_slot() noexcept;

// ticks_to_mono_ns() converts a reading to CLOCK_MONOTONIC ns through a
// calibration made at first use and refreshed at most once a second.
std::int64_t ticks_to_mono_ns(std::uint64_t ticks);

}  // namespace gs::detail
