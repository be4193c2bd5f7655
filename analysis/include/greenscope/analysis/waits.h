// waits.h: every wait of every greenlet with the stack it waited at, from
// the timeline (format 2.0 records a wait's stack just before its switch).
#pragma once

#include <cstdint>
#include <vector>

#include "greenscope/traceio.h"

namespace gs::analysis {

// Wait is one greenlet waiting, from its switch away to the switch back.
struct Wait {
  std::uint64_t greenlet = 0;
  std::uint32_t thread = 0;
  std::uint64_t stack = 0;  // 0: none recorded
  std::uint8_t reason = 0;  // traceio::Reason
  std::uint32_t what = 0;   // Trace::text() of what it waited on
  std::int64_t begin_ns = 0, end_ns = 0;
  bool clipped = false;     // still waiting when the trace ended
};

// collect_waits() lists the waits of every thread, thread by thread in the
// order they ended.
std::vector<Wait> collect_waits(const traceio::Trace& trace);

}  // namespace gs::analysis
