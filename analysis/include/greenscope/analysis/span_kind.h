// span_kind.h: what a span shows, shared by the timeline (timeline.h, which
// makes the first seven kinds from one thread's events) and the Model
// (model.h, which adds the stall level's kinds and Dropped), so a timeline
// span becomes a model span without a translation table.
#pragma once

#include <cstddef>
#include <cstdint>

namespace gs::analysis {

// SpanKind is what a span shows. Which track holds it is noted.
enum class SpanKind : std::uint8_t {
  Running,       // greenlet track: it ran (code: the Reason the hub gave for resuming it)
  Waiting,       // greenlet track: it waited (code: traceio::Reason; info: what, fd, stack)
  Poll,          // hub track: blocked in the loop's poll
  Callbacks,     // hub track: the pre-block callbacks phase
  Watcher,       // hub track: one watcher callback (code: WatcherKind; info: fd)
  Callback,      // hub track: one run_callback() callback
  Job,           // worker track: a thread-pool job (info: key)
  Stall,         // hub track's stall level: the thread held past the threshold (info: stall index)
  BlockingCall,  // hub track's stall level: a patched call that still blocked (info: call, fd, stack)
  LoopLag,       // hub track's stall level: late to the poll without a single stall
  Dropped,       // any track: events lost by the tracer over this time (info: count)
  Crash,         // hub track's stall level: a fatal signal (zero length; info: crash index)
};
inline constexpr std::size_t kSpanKindCount = 12;

}  // namespace gs::analysis
