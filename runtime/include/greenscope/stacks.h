// stacks.h: native stacks of greenlets (libunwind), symbolized, and the
// process-wide run-info dump (gevent.util.format_run_info, Go's goroutine
// dump). Nothing here costs anything per switch: a suspended greenlet's
// stack is unwound from its saved context when asked for.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "greenscope/detail/greenlet_base.h"

namespace gs {

// StackTrace holds lookup addresses, innermost frame first: the exact
// instruction for an interrupted frame, return address - 1 for callers (so
// that each falls inside its call's line). It ends at the greenlet's entry
// function; runtime frames below it are not included.
using StackTrace = std::vector<std::uintptr_t>;

// kMaxStackDepth bounds every captured stack.
inline constexpr std::size_t kMaxStackDepth = 64;

// Every stack here leaves out greenscope's own frames at both ends: at the
// top (a wait stack starts at the user's call of gs::sleep, not inside the
// hub) and at the bottom (below the greenlet's function: the hub's entry).
// "Own" means inside greenscope's shared libraries: the runtime, and any
// module passed to detail::hide_frames_of() (the tracer's).

// capture_stack() writes the calling code's stack into `out` (at most
// `max` frames, skipping the innermost `skip` frames besides its own and
// greenscope's) and returns the count. Fast (by frame pointers where
// libunwind has shown they hold: about 30 ns at depth 16 once warm;
// unw_backtrace about 100 ns where they do not) and allocation-free once
// warm; not async-signal-safe.
std::size_t capture_stack(std::uintptr_t* out, std::size_t max, std::size_t skip = 0) noexcept;

// current_stack() is capture_stack() into a StackTrace.
StackTrace current_stack(std::size_t skip = 0);

// greenlet_stack() is the stack of `g`: the caller's own stack if `g` runs,
// else unwound from its saved context. Empty for a greenlet that has not
// started or is dead. Precondition: called on g's hub thread.
StackTrace greenlet_stack(const GreenletInfo& g);

// format_stack() symbolizes `stack`, one frame per line (from a greenlet,
// on a short-lived helper thread: libdw needs over 96 KiB of stack):
//   "    #0 function (file:line)" or "    #0 module+0xoffset".
// `indent` prefixes every line.
std::string format_stack(const StackTrace& stack, const std::string& indent = "    ");

// format_run_info() describes every thread's hub and every greenlet of the
// process: id, name, state, what it waits on, its spawner, and its current
// symbolized stack. Hubs on other threads are asked to describe themselves;
// one whose loop stops turning for 200 ms before it takes the request (it
// is stalled) is read from here, with its running greenlet sampled by
// signal; a busy one is waited for. Callable from any thread, including one
// without a hub; from a greenlet, symbols are looked up on a helper thread
// (they need more stack than a greenlet has).
std::string format_run_info();

namespace detail {
// hide_frames_of() adds the module (shared library or executable) that
// contains `code_address` to greenscope's own: its frames are dropped at
// both ends of every stack. The tracer calls it with one of its functions
// when it loads; the runtime hides itself. At most 8 modules; idempotent.
void hide_frames_of(const void* code_address);
}  // namespace detail

// dump_run_info() prints format_run_info() to stderr and records it in the
// trace if one is being written. GREENSCOPE_DUMP_SIGNAL=SIGUSR1 makes that
// signal do the same, from the monitor thread.
void dump_run_info(std::string_view trigger = "api");

}  // namespace gs
