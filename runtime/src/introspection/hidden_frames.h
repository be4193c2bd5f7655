// hidden_frames.h: greenscope's own modules (the runtime, the tracer...),
// whose frames every stack leaves out at both ends (see greenscope/stacks.h
// and detail::hide_frames_of()).
#pragma once

#include <cstddef>
#include <cstdint>

namespace gs::detail {

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
