// slices_test.cpp: a block shipped in several slices reads as one; a lost
// slice loses the rest of its block and nothing else.
#include <gtest/gtest.h>

#include "trace_builder.h"

namespace gs::test {
namespace {

using namespace gs::traceio;
using tf::Tag;

// numbered_block() is a block of `n` PollEnd events whose `a` counts from
// `first`; each event is 3 bytes (for `a` < 128) after the
// 6-byte BlockStart (for `first` < 6000).
BlockWriter numbered_block(std::uint64_t first, std::uint64_t n) {
  BlockWriter w(kStartTicks + first, 1, 2, 0);
  for (std::uint64_t i = 0; i < n; ++i) w.event(Tag::PollEnd, 2).varint(first + i);
  return w;
}

Bytes part(const BlockWriter& w, std::size_t from, std::size_t to) {
  return Bytes(w.bytes().begin() + static_cast<std::ptrdiff_t>(from),
               w.bytes().begin() + static_cast<std::ptrdiff_t>(to));
}

std::vector<std::uint64_t> numbers(const Trace& t, std::uint32_t thread = 0) {
  std::vector<std::uint64_t> out;
  if (const ThreadInfo* info = t.thread(thread)) {
    for (const Event& e : info->events) out.push_back(e.a);
  }
  return out;
}

std::vector<std::uint64_t> range(std::uint64_t first, std::uint64_t n) {
  std::vector<std::uint64_t> out;
  for (std::uint64_t i = 0; i < n; ++i) out.push_back(first + i);
  return out;
}

TEST(Slices, SlicesOfOneBlockConcatenateInOffsetOrder) {
  const BlockWriter w = numbered_block(0, 10);
  const std::size_t size = w.bytes().size();
  TraceBuilder b;
  b.process();
  // Cut inside an event too: slices are bytes, not events.
  b.events(0, 0, 13, part(w, 13, 21));
  b.events(0, 0, 0, part(w, 0, 13));
  b.events(0, 0, 21, part(w, 21, size));
  b.end();
  LoadResult r = load_bytes(b.bytes());
  ASSERT_TRUE(r.trace) << r.error;
  EXPECT_TRUE(r.trace->problems().empty()) << r.trace->problems().front().message;
  EXPECT_EQ(numbers(*r.trace), range(0, 10));
}

TEST(Slices, ASliceShippedTwiceOrOverlappingCountsOnce) {
  const BlockWriter w = numbered_block(0, 6);
  const std::size_t size = w.bytes().size();
  TraceBuilder b;
  b.process();
  b.events(0, 0, 0, part(w, 0, 14));
  b.events(0, 0, 0, part(w, 0, 14));
  b.events(0, 0, 8, part(w, 8, size));
  b.end();
  LoadResult r = load_bytes(b.bytes());
  ASSERT_TRUE(r.trace) << r.error;
  EXPECT_TRUE(r.trace->problems().empty());
  EXPECT_EQ(numbers(*r.trace), range(0, 6));
}

TEST(Slices, AMissingMiddleSliceLosesOnlyTheRestOfItsBlock) {
  const BlockWriter first = numbered_block(0, 10);  // 36 bytes: event i at 6 + 3i
  TraceBuilder b;
  b.process();
  b.events(0, 0, 0, part(first, 0, 15));  // events 0, 1, 2
  const std::size_t lost_at = b.events(0, 0, 15, part(first, 15, 24));
  b.events(0, 0, 24, part(first, 24, first.bytes().size()));
  b.events(0, 1, numbered_block(100, 3));
  b.events(1, 0, numbered_block(200, 2));
  b.end();
  Bytes bytes = b.bytes();
  bytes[lost_at + sizeof(tf::ChunkHeader) + sizeof(tf::EventsRecord)] ^= 0x10;  // payload damage
  LoadResult r = load_bytes(bytes);
  ASSERT_TRUE(r.trace) << r.error;
  std::vector<std::uint64_t> want = range(0, 3);
  for (std::uint64_t n : range(100, 3)) want.push_back(n);
  EXPECT_EQ(numbers(*r.trace), want);
  EXPECT_EQ(numbers(*r.trace, 1), range(200, 2));
  ASSERT_EQ(r.trace->problems().size(), 2u);
  EXPECT_EQ(r.trace->problems()[0].offset, lost_at);
  EXPECT_NE(r.trace->problems()[0].message.find("payload checksum mismatch"), std::string::npos);
  const std::string& gap = r.trace->problems()[1].message;
  EXPECT_NE(gap.find("thread 0 block 0"), std::string::npos) << gap;
  EXPECT_NE(gap.find("bytes 15..24 are missing"), std::string::npos) << gap;
  EXPECT_NE(gap.find("15..36 are lost"), std::string::npos) << gap;
}

TEST(Slices, AMissingFirstSliceLosesTheWholeBlock) {
  const BlockWriter w = numbered_block(0, 4);
  TraceBuilder b;
  b.process();
  b.events(0, 0, 8, part(w, 8, w.bytes().size()));
  b.events(0, 1, numbered_block(50, 1));
  b.end();
  LoadResult r = load_bytes(b.bytes());
  ASSERT_TRUE(r.trace) << r.error;
  EXPECT_EQ(numbers(*r.trace), range(50, 1));
  ASSERT_EQ(r.trace->problems().size(), 1u);
  EXPECT_NE(r.trace->problems()[0].message.find("bytes 0..8 are missing"), std::string::npos);
}

TEST(Slices, AnEventCutAtTheEndOfABlockIsReported) {
  const BlockWriter w = numbered_block(0, 3);
  TraceBuilder b;
  b.process();
  b.events(0, 0, 0, part(w, 0, w.bytes().size() - 1));
  b.end();
  LoadResult r = load_bytes(b.bytes());
  ASSERT_TRUE(r.trace) << r.error;
  EXPECT_EQ(numbers(*r.trace), range(0, 2));
  ASSERT_EQ(r.trace->problems().size(), 1u);
  EXPECT_NE(r.trace->problems()[0].message.find("cut short"), std::string::npos);
}

TEST(Slices, ABlockWithoutBlockStartIsSkipped) {
  TraceBuilder b;
  b.process();
  b.events(0, 0, 0, Bytes{static_cast<std::uint8_t>(Tag::PollBegin), 0});
  b.events(0, 1, numbered_block(7, 1));
  b.end();
  LoadResult r = load_bytes(b.bytes());
  ASSERT_TRUE(r.trace) << r.error;
  EXPECT_EQ(numbers(*r.trace), range(7, 1));
  ASSERT_EQ(r.trace->problems().size(), 1u);
  EXPECT_NE(r.trace->problems()[0].message.find("no block header"), std::string::npos);
}

}  // namespace
}  // namespace gs::test
