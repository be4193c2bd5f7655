// extension_events.h: the format 2.0 events (trace_format.h: a tag, the tick
// delta, a byte length, then fields): where a greenlet waits, stalls, loop
// lag, blocking calls and crashes. The recorder's hooks call these with the
// calling thread's stream, inside their HookScope.
#pragma once

#include <cstddef>
#include <cstdint>

#include "greenscope/stacks.h"
#include "greenscope/stall.h"
#include "stack_table.h"
#include "thread_stream.h"

namespace gs::trace::detail {

// wait_stack_event() is record_wait_stack()'s second half: the table id of
// `frames` and the WaitStack event at clock reading `t`.
void wait_stack_event(ThreadStream& s, const std::uintptr_t* frames, std::size_t n, std::uint64_t t);

// record_wait_stack() captures the calling greenlet's stack, `depth` frames
// below greenscope's own, and writes a WaitStack event naming it at `t`,
// the reading of the Suspend or Switch it belongs to: call it right before
// that switch's event. Inline into the hook: each frame above the user's
// costs the capture a step of its walk.
[[gnu::always_inline]] inline void record_wait_stack(ThreadStream& s, std::uint32_t depth, std::uint64_t t) {
  std::uintptr_t frames[kMaxRecordedFrames];
  // The tracer's frames and the runtime's above the user's call of the
  // primitive are left out by capture_stack() (see hide_wait_stack_frames()).
  wait_stack_event(s, frames, gs::capture_stack(frames, depth), t);
}

// hide_wait_stack_frames() tells the runtime that the tracer's frames are
// greenscope's own, which every captured stack leaves out. Idempotent; call
// it before the first capture.
void hide_wait_stack_frames();

void record_stall_begin(ThreadStream& s, const StallReport& r);
void record_stall_sample(ThreadStream& s, const StallReport& r, const StallSample& sample);
void record_stall_end(ThreadStream& s, const StallReport& r);
void record_loop_lag(ThreadStream& s, std::int64_t lag_ns);
void record_blocking_call(ThreadStream& s, std::uint32_t call, int fd, std::int64_t duration_ns,
                          const std::uintptr_t* stack, std::size_t depth);
// record_crash() writes the Crash event with its frames inline, and queues
// those for symbolization.
void record_crash(ThreadStream& s, int sig, std::uintptr_t fault_address, std::uint64_t greenlet_id, bool overflow,
                  const std::uintptr_t* stack, std::size_t depth);

}  // namespace gs::trace::detail
