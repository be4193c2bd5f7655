// hidden_frames.h: greenscope's own modules (the runtime, the tracer...),
// whose frames every stack leaves out at both ends (see greenscope/stacks.h
// and detail::hide_frames_of()).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace gs::detail {

// The table of greenscope's own modules (hidden_frames.cpp): entries below
// own_module_count() are published.
struct OwnModule {
  std::atomic<std::uintptr_t> lo{0};
  std::atomic<std::uintptr_t> hi{0};
};
inline constexpr std::size_t kMaxOwnModules = 8;
extern OwnModule g_own_modules[kMaxOwnModules];
extern std::atomic<std::size_t> g_own_module_count;

inline std::size_t own_module_count() noexcept { return g_own_module_count.load(std::memory_order_acquire); }

// own_frame() says whether `pc` lies in one of the first `count` modules.
// Lock-free, async-signal-safe.
inline bool own_frame(std::uintptr_t pc, std::size_t count) noexcept {
  for (std::size_t i = 0; i < count; ++i) {
    const std::uintptr_t lo = g_own_modules[i].lo.load(std::memory_order_relaxed);
    if (pc - lo < g_own_modules[i].hi.load(std::memory_order_relaxed) - lo) return true;
  }
  return false;
}

// OwnFrames is what trim_own_frames() keeps of a walk: pcs[first, last).
struct OwnFrames {
  std::size_t first = 0, last = 0;
  std::size_t top_hidden = 0;  // how many frames of ours were on top
};

// trim_own_frames() drops our frames at the top of `pcs` (innermost first),
// then `skip` more, and, if the walk reached the stack's real bottom, our
// frames at the bottom. Lock-free: the tracer calls it from its hooks.
OwnFrames trim_own_frames(const std::uintptr_t* pcs, std::size_t n, std::size_t skip,
                          bool reached_bottom) noexcept;

}  // namespace gs::detail
