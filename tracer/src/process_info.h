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

// process_payload() is a Process chunk's payload.
std::vector<std::uint8_t> process_payload(const StartPoint& start);

}  // namespace gs::trace::detail
