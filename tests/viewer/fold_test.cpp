// fold_test.cpp: the timeline's level of detail (viewer/src/fold.cpp): every
// span in the window is drawn once, alone or in a fold, and a level of a
// million spans costs blocks by the pixel, not by the span.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "fold.h"

namespace gs::viewer {
namespace {

// level_of() is `n` spans of `len` ns, one every `period` ns from 0.
analysis::SpanColumns level_of(std::size_t n, std::int64_t len, std::int64_t period) {
  analysis::SpanColumns c;
  for (std::size_t i = 0; i < n; ++i) {
    const auto b = static_cast<std::int64_t>(i) * period;
    c.begin.push_back(b);
    c.end.push_back(b + len);
    c.kind.push_back(analysis::SpanKind::Running);
    c.code.push_back(0);
    c.info.push_back(0);
    c.clipped.push_back(false);
  }
  return c;
}

std::vector<Block> fold(const analysis::SpanColumns& c, std::int64_t from, std::int64_t to, std::int64_t min_ns) {
  std::vector<Block> out;
  fold_window(c, from, to, min_ns, [&out](const Block& b) { out.push_back(b); });
  return out;
}

TEST(FoldWindow, WideSpansAreDrawnOneByOne) {
  const auto c = level_of(100, 1000, 2000);
  const auto blocks = fold(c, 0, 200'000, 10);
  ASSERT_EQ(blocks.size(), 100u);
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    EXPECT_EQ(blocks[i].first, i);
    EXPECT_EQ(blocks[i].count, 1u);
  }
}

TEST(FoldWindow, AMillionNarrowSpansFoldToAboutOneBlockPerFewPixels) {
  const auto c = level_of(1'000'000, 10, 20);  // 20 ms of 10 ns spans
  const std::int64_t to = 20'000'000;
  const std::int64_t ns_per_px = to / 1000;    // the whole level on 1000 px
  const auto blocks = fold(c, 0, to, 3 * ns_per_px);
  EXPECT_LE(blocks.size(), 1000u / 3 + 2);
  std::size_t covered = 0, next = 0;
  for (const Block& b : blocks) {
    EXPECT_EQ(b.first, next) << "blocks must be in order, without holes or overlaps";
    next = b.first + b.count;
    covered += b.count;
  }
  EXPECT_EQ(covered, c.size());
}

TEST(FoldWindow, OnlyTheVisibleWindowIsVisited) {
  const auto c = level_of(1000, 10, 100);
  const auto blocks = fold(c, 50'000, 50'500, 1);
  ASSERT_FALSE(blocks.empty());
  EXPECT_GE(blocks.front().first, 499u);
  EXPECT_LE(blocks.back().first, 505u);
}

TEST(FoldWindow, AGapWiderThanTheMinimumEndsAFold) {
  auto c = level_of(10, 1, 2);  // 0..20 ns, dense
  c.begin.push_back(1000);
  c.end.push_back(1001);
  c.kind.push_back(analysis::SpanKind::Running);
  c.code.push_back(0);
  c.info.push_back(0);
  c.clipped.push_back(false);
  const auto blocks = fold(c, 0, 2000, 5);
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0].count, 10u);
  EXPECT_EQ(blocks[1].first, 10u);
}

}  // namespace
}  // namespace gs::viewer
