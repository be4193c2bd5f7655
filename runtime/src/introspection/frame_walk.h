// frame_walk.h: the running stack's walk by frame pointers, private. Used
// by capture_current() (unwind.cpp) before libunwind.
//
// A frame-pointer walk costs a couple of loads a frame; libunwind's
// unw_backtrace about 7 ns a frame. It is only right where every function
// on the way keeps %rbp as its frame pointer at the call it is in, which a
// walk cannot see for itself. So it follows a return address only once
// libunwind has shown, on a real stack, that the function holding it is
// framed there (its %rbp + 16 is its CFA, with the caller's %rbp and the
// return address below it): a per-address verdict, learned the first time
// an address is met and kept for the process. At the first address known
// not to be framed (glibc, code built with -fomit-frame-pointer, a stack
// realigned through DRAP, a signal frame) the caller walks with libunwind
// instead, so the result is always what libunwind would give.
#pragma once

#include <cstddef>
#include <cstdint>

namespace gs::detail {

// FrameWalk is how walk_frame_pointers() ended.
enum class FrameWalk {
  Done,      // `want` addresses, or the stack's bottom (`finish` or 0) reached
  Unframed,  // met an address whose function is not framed there: use libunwind
  Unknown,   // met an address never seen: learn_backtrace() it
};

// walk_frame_pointers() writes the return addresses above `frame` (a framed
// function's %rbp, its caller's return address at frame + 8) into out[1..],
// and 0 into out[0], where unw_backtrace() called in `frame`'s function puts
// that function's own pc, so that the two results line up. Stops after `want` entries, at
// `finish` (written, a greenlet's bottom) or at a 0 return address (not
// written). `n` is the count written, also when the walk gives up.
// Async-signal-safe, lock-free; reads only frames that verdicts vouch for.
FrameWalk walk_frame_pointers(std::uintptr_t frame, std::uintptr_t finish, void** out, std::size_t want,
                              std::size_t& n) noexcept;

// walk_user_frames() is gs::capture_stack()'s walk by frame pointers in
// one pass: from `frame` (as walk_frame_pointers()), it passes greenscope's
// own frames on top (hidden_frames.h), then `skip` frames, writes the next
// up to `max` return addresses - 1 into `out`, and, where it reaches the
// stack's bottom, drops greenscope's frames there: what trim_own_frames()
// keeps of a whole walk, without writing the frames it drops. `n` is the
// count written. Unknown or Unframed when it meets a frame no verdict
// vouches for (as walk_frame_pointers()), Unframed also for a frame pointer
// that does not step up the stack. A walk that reads the return addresses
// one of the thread's last few walks read gives that walk's frames without
// a lookup (frame_walk.cpp's WalkMemo). Lock-free; not async-signal-safe
// (that per-thread memory).
FrameWalk walk_user_frames(std::uintptr_t frame, std::uintptr_t finish, std::uintptr_t* out, std::size_t max,
                           std::size_t skip, std::size_t& n) noexcept;

// learn_backtrace() is unw_backtrace() done with libunwind's cursor, which
// also records every return address's verdict on the way: out[0] is the
// pc in its caller, as unw_backtrace()'s. Slower than unw_backtrace() (no
// trace cache); called once per walk that meets a new address.
[[gnu::noinline]] int learn_backtrace(void** out, int size) noexcept;

}  // namespace gs::detail
