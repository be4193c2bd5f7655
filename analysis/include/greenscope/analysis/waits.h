// waits.h: every wait of every greenlet with the stack it waited at, from
// the timeline (format 2.0 records a wait's stack just before its switch).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
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

class TimelineWalker;

// WaitSink is collect_waits() for a traceio::scan(): each wait goes to
// `on_wait` as it ends, in the order collect_waits() lists them, and none
// is kept. `on_start`, if set, gets the tables first (EventSink::start()).
class WaitSink : public traceio::EventSink {
 public:
  explicit WaitSink(std::function<void(const Wait&)> on_wait,
                    std::function<void(const traceio::Trace&)> on_start = {});
  ~WaitSink() override;
  void start(const traceio::Trace& tables) override;
  void begin_thread(const traceio::ThreadInfo& thread) override;
  void events(const traceio::ThreadInfo& thread, std::span<const traceio::Event> events) override;
  void end_thread(const traceio::ThreadInfo& thread) override;

 private:
  std::function<void(const Wait&)> on_wait_;
  std::function<void(const traceio::Trace&)> on_start_;
  std::unique_ptr<TimelineWalker> walker_;
};

}  // namespace gs::analysis
