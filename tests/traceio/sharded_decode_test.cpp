// sharded_decode_test.cpp: decoding on several threads (LoadOptions::
// decode_threads) gives exactly what decoding on one does: the same events,
// the same text ids, the same tables and problems.
#include <gtest/gtest.h>

#include <cstdio>

#include "busy_trace.h"

namespace gs::test {
namespace {

using traceio::Event;
using traceio::Trace;

traceio::LoadResult load_with(const std::string& path, unsigned threads) {
  traceio::LoadOptions options;
  options.decode_threads = threads;
  return traceio::load(path, options);
}

void expect_same_events(const traceio::ThreadInfo& x, const traceio::ThreadInfo& y, const Trace& tx, const Trace& ty) {
  EXPECT_EQ(x.index, y.index);
  EXPECT_EQ(x.name, y.name);
  EXPECT_EQ(x.has_hub, y.has_hub);
  EXPECT_EQ(x.hub_greenlet, y.hub_greenlet);
  EXPECT_EQ(x.main_greenlet, y.main_greenlet);
  ASSERT_EQ(x.events.size(), y.events.size()) << "thread " << x.index;
  for (std::size_t i = 0; i < x.events.size(); ++i) {
    const Event& a = x.events[i];
    const Event& b = y.events[i];
    ASSERT_TRUE(a.time_ns == b.time_ns && a.a == b.a && a.b == b.b && a.c == b.c && a.str == b.str && a.d == b.d &&
                a.type == b.type && a.code == b.code && a.greenlet == b.greenlet)
        << "thread " << x.index << " event " << i;
    ASSERT_EQ(tx.text(a.str), ty.text(b.str));
  }
}

// expect_same() compares two loads of one file field by field.
void expect_same(const Trace& x, const Trace& y) {
  ASSERT_EQ(x.threads().size(), y.threads().size());
  for (std::size_t t = 0; t < x.threads().size(); ++t) expect_same_events(x.threads()[t], y.threads()[t], x, y);
  ASSERT_EQ(x.greenlets().size(), y.greenlets().size());
  for (const auto& [id, g] : x.greenlets()) {
    const traceio::GreenletInfo& h = y.greenlets().at(id);
    EXPECT_EQ(g.name, h.name);
    EXPECT_EQ(g.thread, h.thread);
    EXPECT_EQ(g.spawn_ns, h.spawn_ns);
    EXPECT_EQ(g.exit_ns, h.exit_ns);
  }
  ASSERT_EQ(x.stalls().size(), y.stalls().size());
  for (std::size_t i = 0; i < x.stalls().size(); ++i) {
    EXPECT_EQ(x.stalls()[i].id, y.stalls()[i].id);
    EXPECT_EQ(x.stalls()[i].start_ns, y.stalls()[i].start_ns);
    EXPECT_EQ(x.stalls()[i].end_ns, y.stalls()[i].end_ns);
    EXPECT_EQ(x.stalls()[i].samples.size(), y.stalls()[i].samples.size());
  }
  ASSERT_EQ(x.problems().size(), y.problems().size());
  for (std::size_t i = 0; i < x.problems().size(); ++i) {
    EXPECT_EQ(x.problems()[i].offset, y.problems()[i].offset);
    EXPECT_EQ(x.problems()[i].message, y.problems()[i].message);
  }
  EXPECT_EQ(x.stats().events, y.stats().events);
  for (std::size_t i = 0; i < traceio::kEventTypeCount; ++i) {
    EXPECT_EQ(x.stats().count[i], y.stats().count[i]);
    EXPECT_EQ(x.stats().encoded_bytes[i], y.stats().encoded_bytes[i]);
  }
  EXPECT_EQ(x.begin_ns(), y.begin_ns());
  EXPECT_EQ(x.end_ns(), y.end_ns());
  EXPECT_EQ(x.stacks().size(), y.stacks().size());
}

void expect_same_for_all_thread_counts(const Bytes& bytes) {
  const std::string path = write_file(bytes, "sharded");
  const traceio::LoadResult serial = load_with(path, 1);
  ASSERT_NE(serial.trace, nullptr) << serial.error;
  for (unsigned threads : {2u, 3u, 5u, 64u}) {
    SCOPED_TRACE("decode_threads " + std::to_string(threads));
    const traceio::LoadResult sharded = load_with(path, threads);
    ASSERT_NE(sharded.trace, nullptr) << sharded.error;
    expect_same(*serial.trace, *sharded.trace);
  }
  std::remove(path.c_str());
}

TEST(ShardedDecode, ManyThreadsGiveWhatOneGives) {
  const Bytes bytes = busy_trace();
  const traceio::LoadResult serial = load_bytes(bytes);
  ASSERT_NE(serial.trace, nullptr);
  EXPECT_TRUE(serial.trace->problems().empty()) << serial.trace->problems().front().message;
  EXPECT_EQ(serial.trace->stalls().size(), 36u);  // loops 6, 19 and 32 of each block: 3 x 4 blocks x 3 threads
  expect_same_for_all_thread_counts(bytes);
}

TEST(ShardedDecode, OneThreadCutIntoShardsKeepsItsHubAndTexts) {
  BusyTraceOptions o;
  o.hub_threads = 1;
  o.blocks_per_thread = 7;
  expect_same_for_all_thread_counts(busy_trace(o));
}

// A string id no Strings chunk defined is reported once, at its first use
// in block order: shards each see a first use, so the load goes serial.
TEST(ShardedDecode, DamageInSeveralShardsIsReportedAsOneThreadWould) {
  TraceBuilder t;
  t.process();
  for (std::uint32_t th = 0; th < 3; ++th) {
    t.thread(th, "t" + std::to_string(th));
    for (std::uint32_t b = 0; b < 2; ++b) {
      BlockWriter w(kStartTicks + b * 100, 0, 0, 0);
      w.event(tf::Tag::HubStart, 5).varint(10 + th).varint(20 + th);
      w.suspend(tf::Reason::Sleep, 5).varint(77);  // 77: no Strings chunk defines it
      t.events(th, b, w);
    }
  }
  t.end();
  const traceio::LoadResult serial = load_bytes(t.bytes());
  ASSERT_NE(serial.trace, nullptr);
  EXPECT_TRUE(AnyProblemContains(*serial.trace, "string id 77"));
  expect_same_for_all_thread_counts(t.bytes());
}

TEST(ShardedDecode, GoldenTraceGivesWhatOneThreadGives) {
  const std::string path = std::string(GS_TRACES_DIR) + "/golden-v1.gstrace";
  const traceio::LoadResult serial = load_with(path, 1);
  ASSERT_NE(serial.trace, nullptr) << serial.error;
  const traceio::LoadResult sharded = load_with(path, 2);
  ASSERT_NE(sharded.trace, nullptr) << sharded.error;
  expect_same(*serial.trace, *sharded.trace);
}

}  // namespace
}  // namespace gs::test

namespace gs::test {
namespace {

struct Cancel {};

// A progress callback that throws (how Model::load cancels) leaves load()
// after the decoding threads have stopped and joined.
TEST(ShardedDecode, AProgressCallbackThatThrowsStopsTheWorkers) {
  BusyTraceOptions o;
  o.blocks_per_thread = 8;
  const std::string path = write_file(busy_trace(o), "cancel");
  traceio::LoadOptions options;
  options.decode_threads = 2;
  bool decoding = false;
  options.progress = [&](std::uint64_t done, std::uint64_t total) {
    if (done > total / 2) {
      decoding = true;
      throw Cancel{};
    }
  };
  EXPECT_THROW(traceio::load(path, options), Cancel);
  EXPECT_TRUE(decoding);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace gs::test
