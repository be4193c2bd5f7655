// switch.h: the switch itself, for the files whose hot paths compile it in
// (hub.cpp: the hub resuming a greenlet; scheduling.cpp: yield and block).
#pragma once

#include "hooks.h"
#include "hub_impl.h"

namespace gs::detail {

// jump() is the switch itself: canary check, exception state, sanitizer
// annotations, and the context jump. Returns when `from` is resumed.
inline void HubImpl::jump(GreenletBase& from, GreenletBase& to, SwitchReason reason) {
  if (!StackPool::canary_intact(from.stack_)) [[unlikely]] stack_overflow(from);
  EhGlobals* const eh = eh_;
  from.eh_caught_ = eh->caught_exceptions;
  from.eh_uncaught_ = eh->uncaught_exceptions;
  eh->caught_exceptions = to.eh_caught_;
  eh->uncaught_exceptions = to.eh_uncaught_;
  current_ = &to;
  sanitizer_before_switch(&from.asan_fake_stack_, to.tsan_fiber_, to.stack_.lo, to.stack_.hi,
                          reason == SwitchReason::Exit);
  const transfer_t back = jump_fcontext(to.context_, &from);
  sanitizer_after_switch(from.asan_fake_stack_);
  static_cast<GreenletBase*>(back.data)->context_ = back.fctx;
}

// switch_inline() is switch_to() compiled into its caller, hooks included.
// jump_fcontext() leaves by an indirect jump, not a return, so after a
// switch the CPU's return-address predictor still holds the other side's
// calls, and each return the resumed side makes before it calls again is
// mispredicted. The hot paths (the hub resuming a greenlet, a greenlet
// yielding or blocking) switch inline so that no return of the runtime's
// follows a switch on the hub's side and one on the greenlet's: a yield
// ping-pong went from 49-52 to 29-30 ns on the dev VM, 64-69 to 42-45 ns
// with the stall monitor on, 77-87 to 51-55 ns traced (docs/benchmarks.md).
inline void HubImpl::switch_inline(GreenletBase& from, GreenletBase& to, SwitchReason reason) {
  const std::uint8_t hooks = g_hooks.load(std::memory_order_relaxed);
  if (hooks != 0) [[unlikely]] switch_hooks(from, to, reason, hooks);
  jump(from, to, reason);
}

// switch_hooks() is the switch path's work with `hooks` (g_hooks) on.
inline void HubImpl::switch_hooks(GreenletBase& from, GreenletBase& to, SwitchReason reason, std::uint8_t hooks) {
  if (hooks == kHookMonitor) {
    stamp_switch(to);
    return;
  }
  const std::uint64_t t = monitor_on() ? stamp_switch(to) : 0;
  if (Observer* o = observer_if_any()) {
    tls_hook_ticks = t;
    o->on_switch(from, to, reason);
  }
}

// resume_switch() is switch_inline() from the hub to `to` for resume(), in
// run_slice(). With the stall monitor alone on, the greenlet's segment
// starts where the hub's did when nothing was stamped since the greenlet
// resumed before it switched back (back_seq_): the hub has only taken the
// next ready item since. One clock read fewer per resume on a busy hub,
// about 11 ns here (docs/benchmarks.md, "Stall monitor"). The new segment
// then also holds those few instructions of the hub's, and a hub preempted
// just there past the threshold while the monitor could not run either is
// found as that greenlet's stall (its verdict still says the thread waited
// for a CPU). A greenlet that switched back through other greenlets, a
// callback, a poll, a new or dead greenlet's stack (start_or_reclaim(),
// reclaim()) move the seq on or clear back_seq_, and the clock is read.
inline void HubImpl::resume_switch(GreenletBase& to, SwitchReason reason) {
  const std::uint8_t hooks = g_hooks.load(std::memory_order_relaxed);
  if (hooks != 0) [[unlikely]] {
    if (hooks == kHookMonitor) {
      resume_monitored(to, reason);
      return;
    }
    switch_hooks(*hub_, to, reason, hooks);
  }
  jump(*hub_, to, reason);
}

// resume_monitored() is resume_switch() with the stall monitor alone on.
// back_seq_ is only set here; while the monitor is off nothing stamps, and
// it could only match again if the monitor came back on between a switch
// back and the next resume with no stamp in between (no poll, callback or
// switch): the monitor counts a segment from its enabling at the earliest
// (g_enabled_at_ticks), so that costs a few microseconds of precision.
inline void HubImpl::resume_monitored(GreenletBase& to, SwitchReason reason) {
  Beat& b = *beat_;
  if (b.seq.load(std::memory_order_relaxed) == back_seq_) {
    stamp_continuing(b, StallOwner::Greenlet, to.id());
  } else {
    stamp(b, StallOwner::Greenlet, to.id());
  }
  const std::uint64_t resumed_seq = b.seq.load(std::memory_order_relaxed);
  jump(*hub_, to, reason);
  // One stamp since ours: the switch back to the hub, just now.
  back_seq_ = b.seq.load(std::memory_order_relaxed) == resumed_seq + 2 ? resumed_seq + 2 : kNoBackSeq;
}

}  // namespace gs::detail
