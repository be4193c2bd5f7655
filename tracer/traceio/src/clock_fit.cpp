#include "clock_fit.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace gs::traceio::detail {
namespace {

// to_ns() rounds, keeping absurd rates from damaged files inside int64_t.
std::int64_t to_ns(double ns) {
  constexpr double kLimit = 4e18;
  if (std::isnan(ns)) return 0;
  return std::llround(std::clamp(ns, -kLimit, kLimit));
}

// rate_ok() accepts a ticks-per-ns (or ns-per-tick) rate a clock can have.
bool rate_ok(double rate) { return std::isfinite(rate) && rate > 1e-9 && rate < 1e9; }

}  // namespace

ClockFit ClockFit::fit(LoadState& state, std::uint64_t anchor) {
  std::vector<CalibrationPair> pairs = state.calibrations;
  if (state.have_process) pairs.push_back({state.start_ticks, state.start_mono_ns});
  ClockFit c;
  const double initial = state.process.ticks_per_ns;
  c.line_.ns_per_tick = rate_ok(initial) ? 1 / initial : 1;
  c.line_.t0 = anchor;
  state.process.calibrations = pairs.size();
  if (!pairs.empty()) {
    auto by_ticks = [](const CalibrationPair& x, const CalibrationPair& y) {
      return x.ticks < y.ticks;
    };
    const auto [first, last] = std::minmax_element(pairs.begin(), pairs.end(), by_ticks);
    const std::uint64_t zero_ns = state.have_process ? state.start_mono_ns : first->mono_ns;
    c.line_.t0 = first->ticks;
    c.line_.ns_at_t0 = static_cast<double>(static_cast<std::int64_t>(first->mono_ns - zero_ns));
    if (last->ticks > first->ticks) c.fit_rate(*first, *last);
  }
  state.process.ticks_per_ns = 1 / c.line_.ns_per_tick;
  return c;
}

// fit_rate() takes the rate between two pairs unless damage made it absurd.
void ClockFit::fit_rate(const CalibrationPair& first, const CalibrationPair& last) {
  const auto span_ns = static_cast<double>(static_cast<std::int64_t>(last.mono_ns - first.mono_ns));
  const double fitted = span_ns / static_cast<double>(last.ticks - first.ticks);
  if (rate_ok(fitted)) line_.ns_per_tick = fitted;
}

double ClockFit::exact_ns(std::uint64_t ticks) const {
  const Line* line = &line_;
  if (!later_.empty() && ticks >= later_.front().t0) {
    const auto after = std::upper_bound(later_.begin(), later_.end(), ticks,
                                        [](std::uint64_t t, const Line& l) { return t < l.t0; });
    line = &*(after - 1);
  }
  const auto delta = static_cast<double>(static_cast<std::int64_t>(ticks - line->t0));
  return line->ns_at_t0 + delta * line->ns_per_tick;
}

std::int64_t ClockFit::since_start(std::uint64_t ticks) const { return to_ns(exact_ns(ticks)); }

std::int64_t ClockFit::duration(std::uint64_t ticks) const {
  const double rate = later_.empty() ? line_.ns_per_tick : later_.back().ns_per_tick;
  return to_ns(static_cast<double>(ticks) * rate);
}

void ClockFit::continue_at(std::uint64_t ticks, const ClockFit& refit) {
  const double rate = refit.later_.empty() ? refit.line_.ns_per_tick : refit.later_.back().ns_per_tick;
  if (!later_.empty() && ticks <= later_.back().t0) {
    later_.back().ns_per_tick = rate;  // nothing decoded since the last piece began
    return;
  }
  later_.push_back(Line{ticks, exact_ns(ticks), rate});
}

}  // namespace gs::traceio::detail
