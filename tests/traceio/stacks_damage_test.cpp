// stacks_damage_test.cpp: format 2.0's chunks and extension events follow
// the damage rules of the rest: a cut file keeps every complete chunk, a
// damaged chunk loses itself only, and nothing crashes.
#include <gtest/gtest.h>

#include <cstddef>
#include <random>

#include "trace_builder.h"

namespace gs::test {
namespace {

using namespace gs::traceio;
using tf::Reason;
using tf::Tag;

// What a 2.0 trace holds, counted per chunk, so that a test can say what
// losing any subset of chunks leaves.
struct Counts {
  std::uint64_t events = 0, modules = 0, stacks = 0, symbols = 0, run_infos = 0, stalls = 0;
  Counts& operator+=(const Counts& o) {
    events += o.events;
    modules += o.modules;
    stacks += o.stacks;
    symbols += o.symbols;
    run_infos += o.run_infos;
    stalls += o.stalls;
    return *this;
  }
};

Counts counts_of(const Trace& t) {
  return {t.stats().events, t.modules().size(),    t.stacks().size() - t.crashes().size(),
          t.symbol_count(), t.run_infos().size(), t.stalls().size()};
}

void expect_counts(const Trace& t, const Counts& want) {
  const Counts got = counts_of(t);
  EXPECT_EQ(got.events, want.events);
  EXPECT_EQ(got.modules, want.modules);
  EXPECT_EQ(got.stacks, want.stacks);
  EXPECT_EQ(got.symbols, want.symbols);
  EXPECT_EQ(got.run_infos, want.run_infos);
  EXPECT_EQ(got.stalls, want.stalls);
}

struct StackTrace2 {
  struct Chunk {
    std::size_t begin, end;
    Counts holds;
  };
  Bytes bytes;
  std::vector<Chunk> chunks;
  Counts total;
};

// stack_trace() is a valid 2.0 trace: a hub thread whose greenlets wait with
// wait stacks and make a blocking call, a monitor thread that records two
// stalls (one that never ended), one crash, and every new chunk type.
StackTrace2 stack_trace() {
  TraceBuilder b;
  StackTrace2 t;
  auto add = [&](std::size_t at, Counts holds) {
    t.chunks.push_back({at, b.bytes().size(), holds});
    t.total += holds;
  };
  add(b.process(), {});
  add(b.thread(0, "main"), {});
  add(b.thread(1, "monitor"), {});
  add(b.strings({{7, "fsync()"}}), {});
  add(b.modules({{1, 0x400000, 0x401000, 0x480000, "/usr/bin/prog", "abc"},
                 {2, 0x7f00000000, 0x7f00001000, 0x7f00100000, "/lib/libc.so.6", ""}}),
      {.modules = 2});
  add(b.stacks({{1, {0x401100, 0x401200}}, {2, {0x401300}}, {3, {0x7f00001234, 0x401100}}}), {.stacks = 3});
  add(b.symbols({{0x401100, {{"work", "w.cpp", 3}}}, {0x401200, {{"inl", "i.h", 1}, {"main", "m.cpp", 9}}}}),
      {.symbols = 2});
  BlockWriter w(kStartTicks, 1, 2, 10);
  w.event(Tag::HubStart, 0).varint(2).varint(1);
  w.wait_stack(2, 1);
  w.suspend(Reason::Sleep, 0).varint(0);
  w.resume(Reason::Resume, 3).zz(0);
  w.blocking_call(5, 7, 4, 2'000'000, 2);
  w.loop_lag(5, 30'000'000);
  w.wait_stack(2, 3);
  w.suspend(Reason::Event, 0).varint(0);
  add(b.events(0, 0, w), {.events = 8});
  add(b.run_info(kStartTicks + 50, "api", "dump text"), {.run_infos = 1});
  BlockWriter m(kStartTicks, 0, 0, 0);
  m.stall_begin(10, 1, 0, kStartTicks + 8, 10);
  m.stall_sample(4, 1, 1);
  m.stall_sample(4, 1, 3, true, 74);
  m.stall_end(4, 1, kStartTicks + 30, 10, 20, tf::StallKind::Blocked, 74);
  m.stall_begin(10, 2, 0, kStartTicks + 40, 0, tf::StallOwner::Callback);
  m.stall_sample(4, 2, 1);
  add(b.events(1, 0, m), {.events = 6, .stalls = 2});
  BlockWriter c(kStartTicks + 100, 1, 2, 10);
  c.crash(1, 11, 0x8, 10, 0, {0x401100, 0x401200});
  add(b.events(0, 1, c), {.events = 1});
  add(b.end(15, 0), {});
  t.bytes = b.bytes();
  return t;
}

TEST(StacksDamage, TheCleanTraceHasNoProblems) {
  const StackTrace2 t = stack_trace();
  LoadResult r = load_bytes(t.bytes);
  ASSERT_TRUE(r.trace) << r.error;
  for (const Problem& p : r.trace->problems()) ADD_FAILURE() << p.message;
  expect_counts(*r.trace, t.total);
  EXPECT_EQ(r.trace->crashes().size(), 1u);
}

TEST(StacksDamage, TruncationAtEveryByteKeepsEveryCompleteChunk) {
  const StackTrace2 t = stack_trace();
  for (std::size_t cut = sizeof(tf::FileHeader); cut <= t.bytes.size(); ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    LoadResult r = load_bytes(Bytes(t.bytes.begin(), t.bytes.begin() + static_cast<std::ptrdiff_t>(cut)));
    ASSERT_TRUE(r.trace) << r.error;
    Counts want;
    bool at_boundary = cut == sizeof(tf::FileHeader);
    for (const auto& c : t.chunks) {
      if (c.end <= cut) want += c.holds;
      at_boundary |= c.end == cut;
    }
    expect_counts(*r.trace, want);
    if (!at_boundary) {
      EXPECT_TRUE(AnyProblemContains(*r.trace, "truncated"));
    }
  }
}

TEST(StacksDamage, EveryBitFlipInAChunkLosesThatChunkOnly) {
  const StackTrace2 t = stack_trace();
  for (const auto& c : t.chunks) {
    Counts want = t.total;
    want.events -= c.holds.events;
    want.modules -= c.holds.modules;
    want.stacks -= c.holds.stacks;
    want.symbols -= c.holds.symbols;
    want.run_infos -= c.holds.run_infos;
    want.stalls -= c.holds.stalls;
    for (std::size_t i = c.begin; i < c.end; ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        SCOPED_TRACE("byte " + std::to_string(i) + " bit " + std::to_string(bit));
        Bytes bytes = t.bytes;
        bytes[i] ^= static_cast<std::uint8_t>(1u << bit);
        LoadResult r = load_bytes(bytes);
        ASSERT_TRUE(r.trace) << r.error;
        EXPECT_TRUE(AnyProblemContains(*r.trace, "chunk at offset " + std::to_string(c.begin) + ":"));
        expect_counts(*r.trace, want);
      }
    }
  }
}

TEST(StacksDamage, ALostStacksChunkLeavesStacksLostNotWrong) {
  const StackTrace2 t = stack_trace();
  Bytes bytes = t.bytes;
  const auto& stacks = t.chunks[5];
  bytes[stacks.end - 1] ^= 0x10;
  LoadResult r = load_bytes(bytes);
  ASSERT_TRUE(r.trace) << r.error;
  EXPECT_TRUE(AnyProblemContains(*r.trace, "payload checksum mismatch"));
  EXPECT_TRUE(AnyProblemContains(*r.trace, "3 stack ids (such as 1) used by events but not defined"));
  ASSERT_EQ(r.trace->stalls().size(), 2u);
  EXPECT_EQ(r.trace->stalls()[0].samples[0].stack, 1u);
  EXPECT_EQ(r.trace->stack(1), nullptr);
  // The crash's inline frames do not depend on the Stacks chunk.
  ASSERT_EQ(r.trace->crashes().size(), 1u);
  ASSERT_NE(r.trace->stack(r.trace->crashes()[0].stack), nullptr);
}

// Random bytes inside valid 2.0 chunks and extension events of any tag:
// the parsers and the extension decoder meet garbage whose checksum holds.
TEST(StacksDamage, RandomContentInValidNewChunksAndExtensionsNeverCrashes) {
  for (unsigned seed = 1; seed <= 400; ++seed) {
    std::mt19937 rng(seed);
    TraceBuilder b;
    b.process();
    for (int i = 0; i < 6; ++i) {
      Bytes junk(rng() % 60);
      for (auto& byte : junk) byte = static_cast<std::uint8_t>(rng() % 4 == 0 ? 0x80 | rng() : rng() % 8);
      const auto type = static_cast<std::uint16_t>(7 + rng() % 4);
      if (rng() % 2) {
        b.chunk(type, junk);
      } else {
        BlockWriter w(kStartTicks + rng() % 100, 1, 2, 0);
        ByteSink fields;
        fields.bytes = junk;
        w.extension(static_cast<std::uint8_t>(tf::kFirstExtension + rng() % 32), rng() % 5, fields);
        w.event(Tag::PollBegin, 1);
        b.events(rng() % 2, static_cast<std::uint32_t>(i), w);
      }
    }
    b.end();
    LoadResult r = load_bytes(b.bytes());
    ASSERT_TRUE(r.trace) << seed << ": " << r.error;
    for (const StallInfo& s : r.trace->stalls()) {
      EXPECT_GE(s.duration_ns, 0) << seed;
      for (std::size_t i = 1; i < s.samples.size(); ++i) {
        EXPECT_LE(s.samples[i - 1].time_ns, s.samples[i].time_ns);
      }
    }
    for (const auto& [id, frames] : r.trace->stacks()) {
      EXPECT_LE(frames.size(), tf::kMaxStackFrames) << seed;
    }
  }
}

}  // namespace
}  // namespace gs::test
