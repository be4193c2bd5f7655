#include "clock.h"

#include <fstream>
#include <mutex>
#include <string>

namespace gs::trace::detail {

bool g_use_tsc [[gnu::visibility("hidden")]] = false;

namespace {

// cpu_has_invariant_tsc() reads the kernel's view: constant_tsc (rate does
// not follow frequency scaling) and nonstop_tsc (keeps counting in deep idle).
bool cpu_has_invariant_tsc() {
#if defined(__x86_64__)
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    const auto has = [&](const char* flag) { return line.find(std::string(" ") + flag + " ") != std::string::npos ||
                                                   line.ends_with(std::string(" ") + flag); };
    return has("constant_tsc") && has("nonstop_tsc");
  }
#endif
  return false;
}

}  // namespace

void init_clock() {
  static std::once_flag once;
  std::call_once(once, [] { g_use_tsc = cpu_has_invariant_tsc(); });
}

trace_format::ClockSource clock_source() {
  return g_use_tsc ? trace_format::ClockSource::Tsc : trace_format::ClockSource::Monotonic;
}

// calibration_point() brackets the tick read between two monotonic reads and
// keeps the tightest of a few tries, so preemption in between is filtered.
trace_format::CalibrationRecord calibration_point() {
  trace_format::CalibrationRecord best{};
  std::uint64_t best_gap = ~0ull;
  for (int i = 0; i < 5; ++i) {
    const std::uint64_t before = mono_ns();
    const std::uint64_t ticks = now();
    const std::uint64_t after = mono_ns();
    if (after - before < best_gap) {
      best_gap = after - before;
      best = {ticks, before + (after - before) / 2};
    }
  }
  return best;
}

double measure_ticks_per_ns(std::uint64_t spin_ns) {
  if (!g_use_tsc) return 1.0;
  const auto a = calibration_point();
  while (mono_ns() - a.mono_ns < spin_ns) {
  }
  const auto b = calibration_point();
  return static_cast<double>(b.ticks - a.ticks) / static_cast<double>(b.mono_ns - a.mono_ns);
}

}  // namespace gs::trace::detail
