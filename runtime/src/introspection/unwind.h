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
  // The caller-saved rest, known only for an interrupted thread (a signal's
  // ucontext); CFI rarely needs them (a realigned frame's DRAP register).
  // Left unknown, a walk that needs one stops there instead of using 0.
  std::uint64_t rax = 0, rdx = 0, rcx = 0, rsi = 0, rdi = 0, r8 = 0, r9 = 0, r10 = 0, r11 = 0;
  bool scratch_known = false;
};

// Snapshot is a copy of the live part of a stack: bytes [copy_lo, copy_lo +
// copy_len) of the original, in `bytes` (caller-owned, preallocated).
struct Snapshot {
  Registers regs;
  bool interrupted = false;         // regs.rip is an exact instruction (a signal),
                                    // else a return address (a saved context)
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

// capture_current() is the walk under gs::capture_stack(): frame pointers
// where libunwind has shown they hold (frame_walk.h), else unw_backtrace,
// minus its own frames, the `skip` frames above, and anything below a
// greenlet's entry (make_fcontext's `finish`). No trimming of greenscope's
// frames (stacks.cpp does that). Calls init_unwinding() on first use.
std::size_t capture_current(std::uintptr_t* out, std::size_t max, std::size_t skip) noexcept;

// capture_user_frames() is gs::capture_stack()'s fast path: the walk by
// frame pointers with greenscope's frames dropped on the way
// (walk_user_frames()). False when a frame on the way is not known to be
// framed; then capture_current() and trim_own_frames() do it.
bool capture_user_frames(std::uintptr_t* out, std::size_t max, std::size_t skip, std::size_t& n) noexcept;

// snapshot_from_signal() fills `snap` from a signal's ucontext, copying
// [max(stack_lo, rsp - 128), min(stack_hi, that + capacity)): the red zone
// too. Async-signal-safe: no calls but copy_stack_bytes(). False (and
// nothing to walk) before init_unwinding(), if rsp is outside
// [stack_lo, stack_hi), or if rip is inside the context-switch code (a
// sample that lands mid-switch).
bool snapshot_from_signal(const ucontext_t& uc, std::uintptr_t stack_lo, std::uintptr_t stack_hi,
                          Snapshot& snap) noexcept;

// snapshot_suspended() fills `snap` from a suspended greenlet's saved
// fcontext (Boost 1.74 x86-64 layout: r12..rbp in slots 1-6, rip slot 7,
// rsp = fctx + 64), copying with process_vm_readv so that a stack freed
// meanwhile yields false instead of a fault. Any thread.
bool snapshot_suspended(const void* fctx, const StackRange& stack, Snapshot& snap) noexcept;

// unwind_snapshot() walks the copy; returns the number of lookup addresses:
// frame 0 is regs.rip if `interrupted`, else regs.rip - 1; callers are
// return address - 1. It stops at make_fcontext's `finish`, when sp leaves
// [stack_lo, stack_hi) or stops growing, or where the copy ends. Reads no
// memory but the copy and loaded modules' segments (process_vm_readv), so
// garbage gives garbage frames, never a fault. About 0.4 us a frame once
// the frames' CFI is cached. Normal context only (libunwind locks and
// allocates); any thread; walks are serialized by one process-wide lock.
std::size_t unwind_snapshot(const Snapshot& snap, std::uintptr_t* out, std::size_t max);

// in_switch_code() is true for an address inside jump_fcontext,
// ontop_fcontext or make_fcontext's trampoline.
bool in_switch_code(std::uintptr_t pc) noexcept;

// capture_current() with `reached_bottom`: true when the walk ended at the
// stack's real bottom (a greenlet's entry or the thread's first frame)
// rather than at `max`, so that the caller may trim frames at that end.
std::size_t capture_current(std::uintptr_t* out, std::size_t max, std::size_t skip,
                            bool& reached_bottom) noexcept;

// capture_current_by_libunwind() is capture_current() with no frame-pointer
// walk: unw_backtrace() alone, the reference the tests hold the frame walk
// to (tests/runtime/frame_walk_test.cpp).
std::size_t capture_current_by_libunwind(std::uintptr_t* out, std::size_t max, std::size_t skip,
                                         bool& reached_bottom) noexcept;

// copy_stack_bytes() copies `n` bytes of a live stack, async-signal-safe.
// Inline assembly, not memcpy: a sanitizer's memcpy checks the source's
// poisoned red zones (ASan reports a stack-buffer-underflow), and a plain
// loop may be compiled into a memcpy call.
void copy_stack_bytes(void* dst, const void* src, std::size_t n) noexcept;

// finish_address() is make_fcontext's planted return address (the entry
// function returns there); 0 before init_unwinding().
std::uintptr_t finish_address() noexcept;

}  // namespace gs::detail
