// damage_test.cpp: damaged, cut and hostile files give problems, never
// crashes, and everything the damage did not touch still loads.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdio>
#include <random>

#include "trace_builder.h"

namespace gs::test {
namespace {

using namespace gs::traceio;
using tf::Reason;
using tf::Tag;

// SmallTrace is a valid trace of two threads and three blocks, with where
// each chunk ends and how many events it holds.
struct SmallTrace {
  struct Chunk {
    std::size_t begin, end;
    std::uint64_t events;
  };
  Bytes bytes;
  std::vector<Chunk> chunks;
  std::uint64_t events = 0;
};

SmallTrace small_trace() {
  TraceBuilder b;
  SmallTrace t;
  auto add = [&](std::size_t at, std::uint64_t events) {
    t.chunks.push_back({at, b.bytes().size(), events});
    t.events += events;
  };
  add(b.process(), 0);
  add(b.thread(0, "main"), 0);
  add(b.strings({{7, "recv"}}), 0);
  add(b.events(0, 0, switching_block(kStartTicks, 5)), 5);
  add(b.calibration(kStartTicks + 2000, kStartMonoNs + 1000), 0);
  add(b.events(0, 1, switching_block(kStartTicks + 100, 4)), 4);
  add(b.thread(1, "pool"), 0);
  add(b.events(1, 0, switching_block(kStartTicks + 50, 3)), 3);
  add(b.end(12, 0), 0);
  t.bytes = b.bytes();
  return t;
}

Bytes random_bytes(std::mt19937& rng, std::size_t n) {
  Bytes out(n);
  for (auto& byte : out) byte = static_cast<std::uint8_t>(rng());
  return out;
}

TEST(Damage, ACleanSmallTraceHasNoProblems) {
  const SmallTrace t = small_trace();
  LoadResult r = load_bytes(t.bytes);
  ASSERT_TRUE(r.trace) << r.error;
  EXPECT_TRUE(r.trace->problems().empty());
  EXPECT_EQ(r.trace->stats().events, t.events);
}

TEST(Damage, TruncationAtEveryByteKeepsEveryCompleteChunk) {
  const SmallTrace t = small_trace();
  for (std::size_t cut = 0; cut <= t.bytes.size(); ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    LoadResult r =
        load_bytes(Bytes(t.bytes.begin(), t.bytes.begin() + static_cast<std::ptrdiff_t>(cut)));
    if (cut < sizeof(tf::FileHeader)) {
      EXPECT_EQ(r.trace, nullptr);
      EXPECT_FALSE(r.error.empty());
      continue;
    }
    ASSERT_TRUE(r.trace) << r.error;
    std::uint64_t want = 0;
    bool at_boundary = cut == sizeof(tf::FileHeader);
    for (const auto& c : t.chunks) {
      if (c.end <= cut) want += c.events;
      at_boundary |= c.end == cut;
    }
    EXPECT_EQ(r.trace->stats().events, want);
    if (cut < t.bytes.size()) {
      EXPECT_TRUE(AnyProblemContains(*r.trace, "no end record"));
    }
    if (!at_boundary) {
      EXPECT_TRUE(AnyProblemContains(*r.trace, "truncated"));
    }
  }
}

TEST(Damage, EveryBitFlipInAChunkLosesThatChunkOnly) {
  const SmallTrace t = small_trace();
  for (const auto& c : t.chunks) {
    for (std::size_t i = c.begin; i < c.end; ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        SCOPED_TRACE("byte " + std::to_string(i) + " bit " + std::to_string(bit));
        Bytes bytes = t.bytes;
        bytes[i] ^= static_cast<std::uint8_t>(1u << bit);
        LoadResult r = load_bytes(bytes);
        ASSERT_TRUE(r.trace) << r.error;
        EXPECT_TRUE(
            AnyProblemContains(*r.trace, "chunk at offset " + std::to_string(c.begin) + ":"));
        EXPECT_EQ(r.trace->stats().events, t.events - c.events);
      }
    }
  }
}

TEST(Damage, BitFlipsInTheFileHeaderNeverCrash) {
  const SmallTrace t = small_trace();
  for (std::size_t i = 0; i < sizeof(tf::FileHeader); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes bytes = t.bytes;
      bytes[i] ^= static_cast<std::uint8_t>(1u << bit);
      LoadResult r = load_bytes(bytes);
      EXPECT_TRUE(r.trace != nullptr || !r.error.empty()) << i << " " << bit;
    }
  }
}

TEST(Damage, APayloadChecksumMismatchSkipsTheChunkAndReadsOn) {
  const SmallTrace t = small_trace();
  Bytes bytes = t.bytes;
  const auto& strings = t.chunks[2];
  bytes[strings.end - 1] ^= 0x01;
  LoadResult r = load_bytes(bytes);
  ASSERT_TRUE(r.trace) << r.error;
  EXPECT_TRUE(AnyProblemContains(*r.trace, "chunk at offset " + std::to_string(strings.begin) +
                                               ": payload checksum mismatch"));
  EXPECT_TRUE(AnyProblemContains(*r.trace, "string id 7"));
  EXPECT_EQ(r.trace->stats().events, t.events);
  EXPECT_TRUE(r.trace->stats().clean_end);
}

TEST(Damage, ADamagedHeaderResyncsToTheNextChunk) {
  const SmallTrace t = small_trace();
  Bytes bytes = t.bytes;
  const auto& first_block = t.chunks[3];
  bytes[first_block.begin + offsetof(tf::ChunkHeader, length)] ^= 0x40;
  LoadResult r = load_bytes(bytes);
  ASSERT_TRUE(r.trace) << r.error;
  ASSERT_EQ(r.trace->problems().size(), 1u);
  EXPECT_TRUE(Contains(r.trace->problems()[0].message, "header checksum mismatch"));
  EXPECT_TRUE(Contains(r.trace->problems()[0].message,
                       "to the next chunk at offset " + std::to_string(first_block.end)));
  EXPECT_EQ(r.trace->stats().events, t.events - first_block.events);
}

// insert() puts `extra` into a copy of `bytes` at `at`.
Bytes insert(const Bytes& bytes, std::size_t at, const Bytes& extra) {
  Bytes out = bytes;
  out.insert(out.begin() + static_cast<std::ptrdiff_t>(at), extra.begin(), extra.end());
  return out;
}

// header_claiming() is a chunk header with a valid checksum and any length.
Bytes header_claiming(std::uint32_t length) {
  tf::ChunkHeader h{};
  h.sync = tf::kChunkSync;
  h.type = static_cast<std::uint16_t>(tf::ChunkType::Events);
  h.length = length;
  h.header_crc = tf::header_crc(h);
  ByteSink s;
  s.record(h);
  return s.bytes;
}

TEST(Damage, AnAbsurdLengthIsDamageNotAnAllocation) {
  const SmallTrace t = small_trace();
  LoadResult r = load_bytes(insert(t.bytes, t.chunks[3].begin, header_claiming(0xFFFFFFFF)));
  ASSERT_TRUE(r.trace) << r.error;
  ASSERT_EQ(r.trace->problems().size(), 1u);
  EXPECT_TRUE(Contains(r.trace->problems()[0].message, "length 4294967295 exceeds"));
  EXPECT_EQ(r.trace->stats().events, t.events);
}

TEST(Damage, ALengthPastTheEndOfTheFileIsTruncation) {
  const SmallTrace t = small_trace();
  LoadResult r =
      load_bytes(insert(t.bytes, t.chunks[3].begin, header_claiming(tf::kMaxChunkLength)));
  ASSERT_TRUE(r.trace) << r.error;
  EXPECT_TRUE(AnyProblemContains(*r.trace, "truncated: the file ends inside a chunk at offset " +
                                               std::to_string(t.chunks[3].begin)));
  EXPECT_EQ(r.trace->stats().events, t.events);
}

TEST(Damage, GarbageBetweenChunksIsSkippedInOneProblem) {
  const SmallTrace t = small_trace();
  std::mt19937 rng(3);
  const Bytes garbage = random_bytes(rng, 100);
  LoadResult r = load_bytes(insert(t.bytes, t.chunks[4].begin, garbage));
  ASSERT_TRUE(r.trace) << r.error;
  ASSERT_EQ(r.trace->problems().size(), 1u);
  EXPECT_TRUE(Contains(r.trace->problems()[0].message, "skipped 100 bytes"));
  EXPECT_EQ(r.trace->stats().events, t.events);
}

TEST(Damage, UnknownChunkTypesAreSkippedQuietly) {
  TraceBuilder b;
  b.process();
  b.strings({{7, "recv"}});
  b.chunk(std::uint16_t{99}, Bytes{1, 2, 3});
  b.events(0, 0, switching_block(kStartTicks, 3));
  b.end();
  LoadResult r = load_bytes(b.bytes());
  ASSERT_TRUE(r.trace) << r.error;
  EXPECT_TRUE(r.trace->problems().empty());
  EXPECT_EQ(r.trace->stats().chunks_skipped_unknown, 1u);
  EXPECT_EQ(r.trace->stats().events, 3u);
}

// unknown_tag_trace() is a trace whose block 0 holds an event of `tag` (with
// a tick delta and nothing else) before a PollBegin, and a block 1 of 2 events.
Bytes unknown_tag_trace(std::uint8_t tag, std::uint16_t major = tf::kFormatMajor) {
  TraceBuilder b(major);
  b.process();
  b.strings({{7, "recv"}});
  BlockWriter w = switching_block(kStartTicks, 3);
  w.event(tag, 1);
  w.event(Tag::PollBegin, 1);
  b.events(0, 0, w);
  b.events(0, 1, switching_block(kStartTicks + 100, 2));
  b.end();
  return b.bytes();
}

TEST(Damage, AnUnknownTagStopsOnlyItsBlock) {
  for (std::uint8_t tag : {0x1A, 0x1F, 0x50, 0x70, 0xFF}) {
    LoadResult r = load_bytes(unknown_tag_trace(tag));
    ASSERT_TRUE(r.trace) << r.error;
    EXPECT_EQ(r.trace->stats().events, 5u);
    ASSERT_EQ(r.trace->problems().size(), 1u);
    char hex[8];
    std::snprintf(hex, sizeof(hex), "0x%02x", tag);
    EXPECT_TRUE(Contains(r.trace->problems()[0].message,
                         "thread 0 block 0: unknown event tag " + std::string(hex)));
    EXPECT_TRUE(Contains(r.trace->problems()[0].message, "the rest of this block is skipped"));
  }
}

// Before 2.0, tags 0x20..0x3F had no length: in a 1.x file they are damage.
TEST(Damage, ExtensionTagsAreUnknownTagsInA1xFile) {
  for (std::uint8_t tag : {0x20, 0x30, 0x3F}) {
    LoadResult r = load_bytes(unknown_tag_trace(tag, 1));
    ASSERT_TRUE(r.trace) << r.error;
    EXPECT_EQ(r.trace->stats().events, 5u);
    ASSERT_EQ(r.trace->problems().size(), 1u);
    EXPECT_TRUE(Contains(r.trace->problems()[0].message, "unknown event tag"));
  }
}

TEST(Damage, AnOverlongInlineStringIsMalformed) {
  TraceBuilder b;
  b.process();
  BlockWriter w = switching_block(kStartTicks, 2);
  w.event(Tag::Spawn, 1).varint(10).varint(1).str(std::string(tf::kMaxInlineString + 1, 'x'));
  b.events(0, 0, w);
  b.end();
  LoadResult r = load_bytes(b.bytes());
  ASSERT_TRUE(r.trace) << r.error;
  EXPECT_EQ(r.trace->stats().events, 2u);
  EXPECT_TRUE(AnyProblemContains(*r.trace, "malformed"));
}

TEST(Damage, HostileIndicesAllocateNothingBig) {
  TraceBuilder b;
  b.process();
  b.events(0xFFFFFFFF, 0xFFFFFFFF, 0, switching_block(kStartTicks, 2).bytes());
  b.events(0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFF0, Bytes(64, 0x7F));
  b.strings({{~std::uint64_t{0}, "max id"}});
  b.end();
  LoadResult r = load_bytes(b.bytes());
  ASSERT_TRUE(r.trace) << r.error;
  ASSERT_EQ(r.trace->threads().size(), 1u);
  EXPECT_EQ(r.trace->threads()[0].name, "thread 4294967295");
  EXPECT_EQ(r.trace->threads()[0].events.size(), 2u);
  EXPECT_TRUE(AnyProblemContains(*r.trace, "are missing"));
}

TEST(Damage, ProblemsAreCappedWithACount) {
  TraceBuilder b;
  b.process();
  BlockWriter w(kStartTicks, 1, 2, 0);
  for (int i = 0; i < 3000; ++i) {
    w.suspend(Reason::Yield, 1).varint(1000 + static_cast<std::uint64_t>(i));
  }
  b.events(0, 0, w);
  b.end();
  LoadResult r = load_bytes(b.bytes());
  ASSERT_TRUE(r.trace) << r.error;
  EXPECT_EQ(r.trace->stats().events, 3000u);
  EXPECT_EQ(r.trace->problems().size(), 1001u);
  EXPECT_TRUE(Contains(r.trace->problems().back().message, "2000 more problems"));
}

TEST(Damage, RandomBytesAfterAValidHeaderNeverCrash) {
  for (unsigned seed = 1; seed <= 200; ++seed) {
    std::mt19937 rng(seed);
    Bytes bytes = TraceBuilder().bytes();
    const Bytes tail = random_bytes(rng, rng() % 4096);
    bytes.insert(bytes.end(), tail.begin(), tail.end());
    LoadResult r = load_bytes(bytes);
    ASSERT_TRUE(r.trace) << seed << ": " << r.error;
    EXPECT_FALSE(r.trace->problems().empty());
  }
}

// random_block() is sometimes a valid BlockStart followed by random bytes,
// so the decoder, not just the block check, meets garbage.
Bytes random_block(std::mt19937& rng) {
  Bytes bytes = rng() % 2 ? switching_block(rng() % 100000, 1).bytes() : Bytes{};
  const Bytes tail = random_bytes(rng, rng() % 300);
  bytes.insert(bytes.end(), tail.begin(), tail.end());
  return bytes;
}

TEST(Damage, RandomContentInValidChunksNeverCrashes) {
  for (unsigned seed = 1; seed <= 500; ++seed) {
    std::mt19937 rng(seed);
    TraceBuilder b;
    const int chunks = static_cast<int>(rng() % 12);
    for (int i = 0; i < chunks; ++i) {
      const auto type = static_cast<std::uint16_t>(1 + rng() % 11);  // every type, and one unknown
      if (type == static_cast<std::uint16_t>(tf::ChunkType::Events)) {
        b.events(rng() % 3, rng() % 3, rng() % 2 ? 0 : rng() % 64, random_block(rng));
      } else {
        b.chunk(type, random_bytes(rng, rng() % 80));
      }
    }
    LoadResult r = load_bytes(b.bytes());
    ASSERT_TRUE(r.trace) << seed << ": " << r.error;
    EXPECT_LE(r.trace->problems().size(), 1001u);
    for (const ThreadInfo& thread : r.trace->threads()) {
      for (std::size_t i = 1; i < thread.events.size(); ++i) {
        ASSERT_LE(thread.events[i - 1].time_ns, thread.events[i].time_ns) << seed;
      }
    }
  }
}

}  // namespace
}  // namespace gs::test
