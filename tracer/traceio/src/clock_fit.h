// clock_fit.h: trace ticks to nanoseconds since the trace started. The
// writer's clock may be the TSC; the file pairs tick readings with
// CLOCK_MONOTONIC and the reader draws a line through the first and last.
#pragma once

#include <cstdint>
#include <vector>

#include "load_state.h"

namespace gs::traceio::detail {

class ClockFit {
 public:
  // fit() uses the Process record's start pair and the Calibration pairs;
  // `anchor` is the zero of time when the file has neither. It stores the
  // calibrated rate in state.process.
  static ClockFit fit(LoadState& state, std::uint64_t anchor);

  // since_start() is the time of `ticks` in ns since the trace started.
  std::int64_t since_start(std::uint64_t ticks) const;
  // duration() is `ticks` ticks in ns.
  std::int64_t duration(std::uint64_t ticks) const;

  // continue_at() takes `refit`'s rate from `ticks` on, joined to this
  // line there: a followed file's clock, refitted as Calibration chunks
  // arrive, without moving a time already decoded (ticks before `ticks`
  // keep theirs) and without a jump (so time stays monotonic).
  void continue_at(std::uint64_t ticks, const ClockFit& refit);

 private:
  void fit_rate(const CalibrationPair& first, const CalibrationPair& last);
  double exact_ns(std::uint64_t ticks) const;

  // Line is one piece of the clock: from ticks t0 on.
  struct Line {
    std::uint64_t t0 = 0;  // ticks at the first pair
    double ns_at_t0 = 0;   // its ns since the trace started
    double ns_per_tick = 1;
  };
  Line line_;
  // later_: pieces continue_at() added, by t0; empty for a whole file.
  std::vector<Line> later_;
};

}  // namespace gs::traceio::detail
