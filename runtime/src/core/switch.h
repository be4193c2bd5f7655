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
  if (hooks != 0) [[unlikely]] {
    if (hooks == kHookMonitor) {
      stamp_switch(to);
    } else {
      const std::uint64_t t = monitor_on() ? stamp_switch(to) : 0;
      if (Observer* o = observer_if_any()) {
        tls_hook_ticks = t;
        o->on_switch(from, to, reason);
      }
    }
  }
  jump(from, to, reason);
}

}  // namespace gs::detail
