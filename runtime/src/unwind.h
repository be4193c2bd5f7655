// unwind.h: the runtime's stack walking (libunwind), private. Three ways in:
//  - capture_current(): the running code's own stack, fast (unw_backtrace).
//  - a Snapshot of a stack that is not running here: a suspended greenlet's
//    saved fcontext, or a thread interrupted by a signal (whose handler only
//    copies registers and stack bytes: async-signal-safe). unwind_snapshot()
//    walks the *copy*, on any thread, with libunwind's remote API, so a
//    running or damaged stack can never crash the walker.
// Every result is a list of lookup addresses (see greenscope/stacks.h),
// ending at the greenlet's entry: the walk stops at make_fcontext's planted
// return address or when the stack pointer leaves the stack's range.
#pragma once

#include <signal.h>
#include <ucontext.h>

#include <cstddef>
#include <cstdint>

#include "greenscope/detail/greenlet_base.h"

namespace gs::detail {

// Registers a walk starts from (x86-64 callee-saved set plus rip/rsp).
struct Registers {
  std::uint64_t rip = 0, rsp = 0, rbp = 0, rbx = 0, r12 = 0, r13 = 0, r14 = 0, r15 = 0;
};

// Snapshot is a copy of the live part of a stack: bytes [copy_lo, copy_lo +
// copy_len) of the original, in `bytes` (caller-owned, preallocated).
struct Snapshot {
  Registers regs;
  bool interrupted = false;         // frame 0 is an exact instruction (signal)
  std::uintptr_t stack_lo = 0, stack_hi = 0;  // the stack's whole range
  std::uintptr_t copy_lo = 0;
  std::size_t copy_len = 0;
  std::uint8_t* bytes = nullptr;
  std::size_t capacity = 0;         // of `bytes`
};

// kSnapshotBytes is the copy size the runtime preallocates per thread.
inline constexpr std::size_t kSnapshotBytes = 64 * 1024;

// init_unwinding() reads make_fcontext's planted return address and the
// switch code's address ranges, and warms libunwind. Idempotent; call it in
// normal context before any signal can sample (the monitor does).
void init_unwinding();

// capture_current() is gs::capture_stack(): unw_backtrace, minus its own
// frame, the `skip` frames above, and anything below a greenlet's entry.
std::size_t capture_current(std::uintptr_t* out, std::size_t max, std::size_t skip) noexcept;

// snapshot_from_signal() fills `snap` from a signal's ucontext, copying
// [rsp - 128, min(stack_hi, rsp - 128 + capacity)). Async-signal-safe: no
// calls but memcpy. False (and nothing to walk) if rsp is outside
// [stack_lo, stack_hi) or rip is inside the context-switch code (a sample
// that lands mid-switch).
bool snapshot_from_signal(const ucontext_t& uc, std::uintptr_t stack_lo, std::uintptr_t stack_hi,
                          Snapshot& snap) noexcept;

// snapshot_suspended() fills `snap` from a suspended greenlet's saved
// fcontext (Boost 1.74 x86-64 layout: r12..rbp in slots 1-6, rip slot 7,
// rsp = fctx + 64), copying with process_vm_readv so that a stack freed
// meanwhile yields false instead of a fault. Any thread.
bool snapshot_suspended(const void* fctx, const StackRange& stack, Snapshot& snap) noexcept;

// unwind_snapshot() walks the copy; returns the number of lookup addresses.
// Normal context only (libunwind locks and allocates); any thread.
std::size_t unwind_snapshot(const Snapshot& snap, std::uintptr_t* out, std::size_t max);

// in_switch_code() is true for an address inside jump_fcontext,
// ontop_fcontext or make_fcontext's trampoline.
bool in_switch_code(std::uintptr_t pc) noexcept;

}  // namespace gs::detail
