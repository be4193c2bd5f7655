// waits.cpp: collect_waits() and WaitSink (waits.h).
#include "greenscope/analysis/waits.h"

#include "greenscope/analysis/timeline.h"

namespace gs::analysis {

std::vector<Wait> collect_waits(const traceio::Trace& trace) {
  std::vector<Wait> waits;
  WaitSink sink([&waits](const Wait& w) { waits.push_back(w); });
  for (const traceio::ThreadInfo& th : trace.threads()) {
    sink.begin_thread(th);
    sink.events(th, th.events);
    sink.end_thread(th);
  }
  return waits;
}

WaitSink::WaitSink(std::function<void(const Wait&)> on_wait, std::function<void(const traceio::Trace&)> on_start)
    : on_wait_(std::move(on_wait)), on_start_(std::move(on_start)) {}

WaitSink::~WaitSink() = default;

void WaitSink::start(const traceio::Trace& tables) {
  if (on_start_) on_start_(tables);
}

void WaitSink::begin_thread(const traceio::ThreadInfo& thread) {
  walker_ = std::make_unique<TimelineWalker>(
      thread.index, thread.has_hub ? thread.hub_greenlet : 0, [this, index = thread.index](const Span& s) {
        if (s.kind == SpanKind::Waiting)
          on_wait_(Wait{s.greenlet, index, s.stack, s.code, s.what, s.begin_ns, s.end_ns, s.clipped});
      });
}

void WaitSink::events(const traceio::ThreadInfo& thread, std::span<const traceio::Event> events) {
  (void)thread;
  for (const traceio::Event& e : events) walker_->add(e);
}

void WaitSink::end_thread(const traceio::ThreadInfo& thread) {
  (void)thread;
  walker_->finish();
  walker_.reset();
}

}  // namespace gs::analysis
