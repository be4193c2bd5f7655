// labels.cpp: greenlet_label() (labels.h).
#include "greenscope/analysis/labels.h"

namespace gs::analysis {

std::string greenlet_label(const traceio::Trace& trace, std::uint64_t id) {
  if (id == 0) return "-";
  if (trace.greenlets().count(id) == 0) return "#" + std::to_string(id);
  return trace.greenlet_name(id) + "#" + std::to_string(id);
}

}  // namespace gs::analysis
