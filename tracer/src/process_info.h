// process_info.h: what the trace says about the process and its threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "greenscope/trace_format.h"

namespace gs::trace::detail {

// StartPoint is the clock at the session's start, and the rate measured then.
struct StartPoint {
  std::int64_t wall_ns = 0;
  trace_format::CalibrationRecord calibration{};
  double ticks_per_ns = 1.0;
};
StartPoint measure_start_point();

// process_payload() is a Process chunk's payload; `redact`: argv[0] only,
// and an empty string for each other argument (kProcessArgsRedacted).
std::vector<std::uint8_t> process_payload(const StartPoint& start, bool redact);

}  // namespace gs::trace::detail
