// model_levels.h: placing spans on a track's levels so that spans on one
// level never overlap (model.h's SpanColumns invariant), and writing them
// into columns. Private to greenscope::analysis.
#pragma once

#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "greenscope/analysis/model.h"

namespace gs::analysis::detail {

// PendingSpan is one span before it has a level.
struct PendingSpan {
  std::int64_t begin = 0, end = 0;
  SpanKind kind = SpanKind::Running;
  std::uint8_t code = 0;
  bool clipped = false;
  std::uint32_t info = 0;     // index into Model::infos
  std::uint32_t level = 0;    // the level it wants (a phase's depth)
  std::uint64_t order = 0;    // ties: the order the timeline began them
};

// append_span() adds a span at the end of a level's columns (the caller
// keeps SpanColumns' order).
void append_span(SpanColumns& c, const PendingSpan& s);

// pack_own_levels() puts each span on its wanted level, or the first one
// above it where it overlaps nothing, and returns the levels' columns.
std::vector<SpanColumns> pack_own_levels(std::vector<PendingSpan> spans);

// pack_extra_levels() places the stall level's spans: Stall spans first, on
// the level that will be the track's last, then the others wherever they
// fit. The returned levels are in track order (the Stall level last).
std::vector<SpanColumns> pack_extra_levels(std::vector<PendingSpan> spans);

// overlaps() is the rule window() uses: [b0, e0) and [b1, e1) share time.
inline bool overlaps(std::int64_t b0, std::int64_t e0, std::int64_t b1, std::int64_t e1) {
  return b0 < e1 && b1 < e0;
}

}  // namespace gs::analysis::detail
