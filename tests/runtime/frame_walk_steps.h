// frame_walk_steps.h: the call chains frame_walk_test.cpp walks. Each step
// does its kind of frame, then calls walk_step(depth + 1, chain), which
// picks the next step from chain->plan (or the chain's leaf at its end).
// The unframed steps live in frame_walk_unframed.cpp, built with
// -fomit-frame-pointer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace gs::test {

enum class Step : std::uint8_t {
  Framed,           // an ordinary function with a frame pointer
  FramedAlloca,     // a frame of run-time size (alloca)
  FramedAligned,    // a 64-byte aligned local: the frame is realigned
  Unframed,         // no frame pointer: %rbp is the caller's
  UnframedPressure, // no frame pointer, 8 values live across the call: %rbp holds data
  AlignedOmitFp,    // built without frame pointers, but a realigned frame keeps
                    // %rbp as one anyway (GCC 12; a DRAP frame would not)
  kCount,
};

struct Chain {
  std::vector<Step> plan;
  void (*leaf)(Chain&) = nullptr;
  std::uint64_t sink = 0;  // what the steps compute, so that they are not optimized away
};

// walk_step() runs step `depth` of the plan, or the leaf after the last.
void walk_step(std::size_t depth, Chain& chain);

// The unframed steps (frame_walk_unframed.cpp).
void unframed_step(std::size_t depth, Chain& chain);
void unframed_pressure_step(std::size_t depth, Chain& chain);
void aligned_omit_fp_step(std::size_t depth, Chain& chain);

}  // namespace gs::test
