#include "clock.h"

#include <atomic>
#include <mutex>

#include "greenscope/detail/clock.h"

namespace gs::trace::detail {

bool g_use_tsc [[gnu::visibility("hidden")]] = false;

namespace {
std::atomic<double> g_ticks_per_ns{1.0};
}  // namespace

// init_clock() takes the runtime's decision rather than making its own, so
// that the stall monitor's tick readings (StallReport::start_ticks) and the
// trace's events share one clock: one TSC-or-monotonic choice per process.
void init_clock() {
  static std::once_flag once;
  std::call_once(once, [] { g_use_tsc = gs::detail::clock_uses_tsc(); });
}

trace_format::ClockSource clock_source() {
  return g_use_tsc ? trace_format::ClockSource::Tsc : trace_format::ClockSource::Monotonic;
}

// calibration_point() is the runtime's read_clock_pair(): the tracer
// records with the same clock the runtime stamps stalls with.
trace_format::CalibrationRecord calibration_point() {
  const gs::detail::ClockPair p = gs::detail::read_clock_pair();
  return {p.ticks, p.mono_ns};
}

double measure_ticks_per_ns(std::uint64_t spin_ns) {
  if (!g_use_tsc) return 1.0;
  const auto a = calibration_point();
  while (mono_ns() - a.mono_ns < spin_ns) {
  }
  const auto b = calibration_point();
  const double rate = static_cast<double>(b.ticks - a.ticks) / static_cast<double>(b.mono_ns - a.mono_ns);
  g_ticks_per_ns.store(rate, std::memory_order_relaxed);
  return rate;
}

std::uint64_t ticks_at_mono(std::int64_t mono_ns_then) {
  const std::uint64_t ticks_now = now();
  const auto ago = static_cast<std::int64_t>(mono_ns()) - mono_ns_then;
  if (mono_ns_then <= 0 || ago <= 0) return ticks_now;  // unknown, or not in the past
  const auto back = static_cast<std::uint64_t>(static_cast<double>(ago) * g_ticks_per_ns.load(std::memory_order_relaxed));
  return back < ticks_now ? ticks_now - back : ticks_now;
}

}  // namespace gs::trace::detail
