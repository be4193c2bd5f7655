// fold.h: the timeline's level of detail, as Tracy does it. Only the spans
// in the visible window are looked at (two binary searches), and a run of
// spans each narrower than a few pixels becomes one block with a count, so
// a level costs about one step per pixel column whatever the zoom.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "greenscope/analysis/model.h"

namespace gs::viewer {

// Block is one thing to draw: one span (count 1) or a folded run.
struct Block {
  std::size_t first = 0;  // index of the first span in the level
  std::size_t count = 1;
  std::int64_t begin = 0, end = 0;
};

// fold_window() calls `out` for each block overlapping [from, to), in time
// order. Spans shorter than min_ns (a few pixels' worth) that follow each
// other with gaps under min_ns fold into one block.
void fold_window(const analysis::SpanColumns& level, std::int64_t from, std::int64_t to, std::int64_t min_ns,
                 const std::function<void(const Block&)>& out);

}  // namespace gs::viewer
