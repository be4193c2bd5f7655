// context.h: the private machine-context layer (marl's OSFiber): Boost.Context
// fcontext jumps, and the per-greenlet C++ exception-handling globals that
// must travel with each stack.
#pragma once

#include <cxxabi.h>

#include <boost/context/detail/fcontext.hpp>
#include <cstddef>
#include <cstdint>

namespace gs::detail {

using boost::context::detail::fcontext_t;
using boost::context::detail::jump_fcontext;
using boost::context::detail::make_fcontext;
using boost::context::detail::transfer_t;

// EhGlobals mirrors libstdc++'s __cxa_eh_globals (unwind-cxx.h): the chain of
// exceptions being handled and the uncaught count. They are per thread, but a
// greenlet may block inside a catch block while another throws, so each
// greenlet keeps its own copy and the switch swaps them, as folly's fibers do.
struct EhGlobals {
  void* caught_exceptions;
  unsigned int uncaught_exceptions;
};

// thread_eh_globals() is the calling thread's __cxa_eh_globals. Its address
// is stable for the thread's life, so callers cache it.
inline EhGlobals* thread_eh_globals() {
  return reinterpret_cast<EhGlobals*>(abi::__cxa_get_globals());
}

}  // namespace gs::detail

// Sanitizer fiber annotations: without them ASan mistakes a stack switch for
// a stack overflow and TSan loses track of happens-before. They compile to
// nothing in normal builds.
#if defined(GS_SANITIZE_ADDRESS)
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(GS_SANITIZE_THREAD)
#include <sanitizer/tsan_interface.h>

#include "greenscope/detail/quiet_thread.h"
#endif

namespace gs::detail {

#if defined(GS_SANITIZE_THREAD)
// TSan defers a signal that arrives outside a blocking call into the running
// fiber's own state and runs its handler only at that fiber's next
// intercepted call. A fiber that switches away first keeps it for as long as
// it stays suspended, and one that exits loses it: a SIGCHLD lost that way
// left libev never reaping a child, and Subprocess::wait() hung. So
// asynchronous signals are blocked across every switch. Blocking them is an
// intercepted call, which runs what the outgoing fiber holds; whatever
// arrives meanwhile waits in the kernel until the incoming fiber unblocks
// them, and runs there. Faults stay unblocked: a blocked SIGSEGV kills.
// Creating and destroying a fiber switch TSan's current thread state too
// (to the new fiber while TSan starts it, then back), and a signal that
// lands in between is armed in a state TSan then re-initializes: lost. A
// run-info dump signal vanished that way 3 times in 20 runs while two hubs
// spawned greenlets without pause; so those are blocked across as well.
struct TsanSwitchSignals {
  sigset_t async = async_signals();
  sigset_t saved;  // the thread's mask while the switch is under way
};
inline thread_local TsanSwitchSignals tsan_switch_signals;

// AsyncSignalsBlocked blocks the asynchronous signals for its scope, for a
// TSan call that moves its current thread state (creating, destroying or
// switching a fiber on the same stack).
class AsyncSignalsBlocked {
 public:
  AsyncSignalsBlocked() { pthread_sigmask(SIG_BLOCK, &tsan_switch_signals.async, &saved_); }
  ~AsyncSignalsBlocked() { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
  AsyncSignalsBlocked(const AsyncSignalsBlocked&) = delete;
  AsyncSignalsBlocked& operator=(const AsyncSignalsBlocked&) = delete;

 private:
  sigset_t saved_;
};
#endif

// sanitizer_create() makes the sanitizer's fiber handle for a new stack, or
// fetches the thread's own for its main greenlet.
inline void* sanitizer_create(bool is_thread_main) {
#if defined(GS_SANITIZE_THREAD)
  if (is_thread_main) return __tsan_get_current_fiber();
  const AsyncSignalsBlocked blocked;
  return __tsan_create_fiber(0);
#else
  (void)is_thread_main;
  return nullptr;
#endif
}

inline void sanitizer_destroy(void* tsan_fiber, bool is_thread_main) {
#if defined(GS_SANITIZE_THREAD)
  if (is_thread_main || tsan_fiber == nullptr) return;
  const AsyncSignalsBlocked blocked;
  __tsan_destroy_fiber(tsan_fiber);
#else
  (void)tsan_fiber;
  (void)is_thread_main;
#endif
}

// sanitizer_before_switch() runs just before jumping to the stack [lo, hi);
// `leaving_for_good` when the current stack is about to be freed.
inline void sanitizer_before_switch(void** from_fake_stack, void* to_tsan_fiber, std::uintptr_t lo,
                                    std::uintptr_t hi, bool leaving_for_good) {
#if defined(GS_SANITIZE_ADDRESS)
  __sanitizer_start_switch_fiber(leaving_for_good ? nullptr : from_fake_stack,
                                 reinterpret_cast<const void*>(lo), hi - lo);
#else
  (void)from_fake_stack;
  (void)lo;
  (void)hi;
  (void)leaving_for_good;
#endif
#if defined(GS_SANITIZE_THREAD)
  TsanSwitchSignals& sig = tsan_switch_signals;
  pthread_sigmask(SIG_BLOCK, &sig.async, &sig.saved);
  __tsan_switch_to_fiber(to_tsan_fiber, 0);
#else
  (void)to_tsan_fiber;
#endif
}

// sanitizer_after_switch() runs first thing once a stack runs again.
inline void sanitizer_after_switch(void* fake_stack) {
#if defined(GS_SANITIZE_ADDRESS)
  __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
#else
  (void)fake_stack;
#endif
#if defined(GS_SANITIZE_THREAD)
  pthread_sigmask(SIG_SETMASK, &tsan_switch_signals.saved, nullptr);
#endif
}

#if defined(GS_SANITIZE_THREAD)
// switch_tsan_fiber() moves TSan to fiber `to` on the same stack, with async
// signals blocked across the move for the reason TsanSwitchSignals gives.
[[gnu::always_inline]] inline void switch_tsan_fiber(void* to) {
  const AsyncSignalsBlocked blocked;
  __tsan_switch_to_fiber(to, 0);
}

// TsanPatchedCall runs a patched libc function's own code on a second TSan
// fiber of its caller. TSan's interceptors of blocking calls (sleep, usleep,
// nanosleep, poll, epoll_wait, ...) call "the real function" with the
// thread's interceptors ignored, and libtsan is first in the search order,
// so with patch_all() the real function is ours. While interceptors are
// ignored TSan takes atomics for plain accesses and mutexes for no-ops: the
// greenlet's code inside the patched call lost every happens-before edge it
// made. Seen: the tracer committed a PatchedWaitEnd event there, its writer
// thread shipped it before the next event, and TSan reported the event's
// bytes as a race (1 in 20 runs of the suite under load); the registry and
// string-table mutexes went unseen the same way. The second fiber's state is
// clean, and a fiber switch synchronizes both ways.
//
// `identity` is what a switch back to the caller resumes (the greenlet's
// tsan_fiber_): it names the second fiber while the scope lasts, since the
// call may suspend the greenlet. `spare` keeps the second fiber (created on
// first use; its owner destroys it). Nested scopes do nothing.
//
// Every function on the way to __tsan_switch_to_fiber() is always_inline:
// an instrumented function that is not inlined records its entry on one
// fiber's shadow call stack and its exit on the other's, which underflows
// the other's (clang 14 does not inline these at -O2 with TSan; seen as a
// SEGV in __tsan_func_entry from the patched read()).
class TsanPatchedCall {
 public:
  [[gnu::always_inline]] TsanPatchedCall(void*& identity, void*& spare) {
    if (spare == nullptr) spare = sanitizer_create(false);
    void* const current = __tsan_get_current_fiber();
    if (current == spare) return;
    identity_ = &identity;
    outer_ = current;
    identity = spare;
    switch_tsan_fiber(spare);
  }
  [[gnu::always_inline]] ~TsanPatchedCall() {
    if (identity_ == nullptr) return;
    *identity_ = outer_;
    switch_tsan_fiber(outer_);
  }
  TsanPatchedCall(const TsanPatchedCall&) = delete;
  TsanPatchedCall& operator=(const TsanPatchedCall&) = delete;

 private:
  void** identity_ = nullptr;
  void* outer_ = nullptr;
};
#endif

}  // namespace gs::detail
