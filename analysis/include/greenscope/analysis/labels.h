// labels.h: how the CLI and the viewer name things in a trace, so that a
// greenlet reads the same in `greenscope dump`, `stalls` and the timeline.
#pragma once

#include <cstdint>
#include <string>

#include "greenscope/traceio.h"

namespace gs::analysis {

// greenlet_label() is "name#id" ("-" for 0, "#id" for an id that never
// appeared in the trace's lifecycle events).
std::string greenlet_label(const traceio::Trace& trace, std::uint64_t id);

}  // namespace gs::analysis
