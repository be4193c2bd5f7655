// frame_walk_unframed.cpp: frame_walk_steps.h's steps without frame
// pointers: this file is built with -fomit-frame-pointer.
#include "frame_walk_steps.h"

namespace gs::test {

[[gnu::noinline]] void unframed_step(std::size_t depth, Chain& chain) {
  volatile std::uint64_t local = depth;
  walk_step(depth + 1, chain);
  chain.sink += local;
}

// Eight values live across the call need more callee-saved registers than
// there are without %rbp: the compiler puts one in %rbp, so a frame walk
// that trusted it would read data as a frame address.
[[gnu::noinline]] void unframed_pressure_step(std::size_t depth, Chain& chain) {
  const std::uint64_t s = chain.sink + depth;
  std::uint64_t a = s * 3, b = s * 5 + 1, c = s * 7 + 2, d = s * 11 + 3;
  std::uint64_t e = s * 13 + 4, f = s * 17 + 5, g = s * 19 + 6, h = s * 23 + 7;
  walk_step(depth + 1, chain);
  chain.sink += (a ^ b) + (c ^ d) + (e ^ f) + (g ^ h) + a * h + b * g + c * f + d * e;
}

[[gnu::noinline]] void aligned_omit_fp_step(std::size_t depth, Chain& chain) {
  alignas(64) volatile std::uint64_t aligned[8] = {depth};
  walk_step(depth + 1, chain);
  chain.sink += aligned[0];
}

}  // namespace gs::test
