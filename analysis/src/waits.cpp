// waits.cpp: collect_waits() (waits.h).
#include "greenscope/analysis/waits.h"

#include "greenscope/analysis/timeline.h"

namespace gs::analysis {

std::vector<Wait> collect_waits(const traceio::Trace& trace) {
  std::vector<Wait> waits;
  for (const traceio::ThreadInfo& th : trace.threads()) {
    const Timeline timeline = build_timeline(th);
    for (const Span& s : timeline.spans) {
      if (s.kind != SpanKind::Waiting) continue;
      waits.push_back(Wait{s.greenlet, th.index, s.stack, s.code, s.what, s.begin_ns, s.end_ns, s.clipped});
    }
  }
  return waits;
}

}  // namespace gs::analysis
