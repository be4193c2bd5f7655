// clock.cpp: the runtime's tick clock (detail/clock.h, ticks.h). The hub
// stamps stalls with it and the tracer records with it, so both agree.
#include <fstream>
#include <mutex>
#include <string>

#include "greenscope/detail/clock.h"
#include "ticks.h"

namespace gs::detail {

bool g_ticks_are_tsc [[gnu::visibility("hidden")]] = false;

namespace {

// cpu_has_invariant_tsc() reads the kernel's view: constant_tsc (rate does
// not follow frequency scaling) and nonstop_tsc (keeps counting in deep idle).
bool cpu_has_invariant_tsc() {
#if defined(__x86_64__)
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    line += ' ';
    return line.find(" constant_tsc ") != std::string::npos && line.find(" nonstop_tsc ") != std::string::npos;
  }
#endif
  return false;
}

using Pair = ClockPair;

// Calibration: the first pair and the latest (refreshed at most once a
// second); the rate is their slope, so it sharpens as the process runs.
struct Calibration {
  std::mutex mutex;
  Pair first{}, last{};
  double rate = 1.0;
};

Calibration& calibration() {
  static Calibration c;
  return c;
}

Pair read_pair() { return read_clock_pair(); }

// The static initializer decides before main(), before any hub exists.
const bool g_decided = [] {
  g_ticks_are_tsc = cpu_has_invariant_tsc();
  return true;
}();

}  // namespace

bool clock_uses_tsc() { return g_decided && g_ticks_are_tsc; }

thread_local std::uint64_t tls_hook_ticks __attribute__((tls_model("initial-exec"))) = 0;

const std::uint64_t* hook_ticks_slot() noexcept { return &tls_hook_ticks; }

ClockPair read_clock_pair() {
  ClockPair best{};
  std::uint64_t best_gap = ~0ull;
  for (int i = 0; i < 5; ++i) {
    const std::uint64_t before = mono_now_ns();
    const std::uint64_t t = ticks_now();
    const std::uint64_t after = mono_now_ns();
    if (after - before < best_gap) {
      best_gap = after - before;
      best = {t, before + (after - before) / 2};
    }
  }
  return best;
}
std::uint64_t clock_ticks() { return ticks_now(); }

double ticks_per_ns() {
  if (!g_ticks_are_tsc) return 1.0;
  Calibration& c = calibration();
  std::lock_guard<std::mutex> lock(c.mutex);
  const Pair now = read_pair();
  if (c.first.mono_ns == 0) {
    c.first = now;
    // A first rate from a 2 ms spin; later refreshes use the whole span.
    Pair second = read_pair();
    while (second.mono_ns - now.mono_ns < 2'000'000) second = read_pair();
    c.last = second;
    c.rate = static_cast<double>(second.ticks - now.ticks) / static_cast<double>(second.mono_ns - now.mono_ns);
  } else if (now.mono_ns - c.last.mono_ns >= 1'000'000'000) {
    c.last = now;
    c.rate = static_cast<double>(now.ticks - c.first.ticks) / static_cast<double>(now.mono_ns - c.first.mono_ns);
  }
  return c.rate;
}

std::int64_t ticks_to_mono_ns(std::uint64_t ticks) {
  if (!g_ticks_are_tsc) return static_cast<std::int64_t>(ticks);
  const double rate = ticks_per_ns();
  Calibration& c = calibration();
  Pair anchor;
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    anchor = c.last;
  }
  const double delta = static_cast<double>(static_cast<std::int64_t>(ticks - anchor.ticks)) / rate;
  return static_cast<std::int64_t>(anchor.mono_ns) + static_cast<std::int64_t>(delta);
}

}  // namespace gs::detail
