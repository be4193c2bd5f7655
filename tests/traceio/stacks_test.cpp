// stacks_test.cpp: format 2.0's chunks (modules, stacks, symbols, run-info)
// and extension events (wait stacks, stalls, loop lag, blocking calls,
// crashes) decode exactly, and the stall events join into stalls().
#include <gtest/gtest.h>

#include <memory>

#include "trace_builder.h"

namespace gs::test {
namespace {

using namespace gs::traceio;
using tf::Reason;
using tf::Tag;

constexpr std::uint64_t kHub = 2, kMain = 1;

std::unique_ptr<Trace> load_ok(const Bytes& bytes) {
  LoadResult r = load_bytes(bytes);
  EXPECT_TRUE(r.trace != nullptr) << r.error;
  return std::move(r.trace);
}

const std::vector<Event>& events_of(const Trace& t, std::uint32_t thread = 0) {
  static const std::vector<Event> kNone;
  const ThreadInfo* info = t.thread(thread);
  return info != nullptr ? info->events : kNone;
}

std::string problems_of(const Trace& t) {
  std::string text;
  for (const Problem& p : t.problems()) text += "\n  @" + std::to_string(p.offset) + " " + p.message;
  return text;
}

TEST(Stacks, ModulesStacksSymbolsAndRunInfoDecode) {
  TraceBuilder b;
  b.process();
  b.modules({{1, 0x400000, 0x401000, 0x480000, "/usr/bin/prog", std::string("\x12\x34\x00\xff", 4)},
             {2, 0x7f0000000000, 0x7f0000001000, 0x7f0000200000, "/lib/libc.so.6", ""}});
  b.stacks({{5, {0x401100, 0x402200, 0x7f0000001234}}, {6, {}}});
  b.symbols({{0x401100, {{"inner", "a.h", 10}, {"outer(int)", "a.cpp", 20}}},
             {0x402200, {{"main", "", 0}}}});
  b.run_info(kStartTicks + 3000, "signal SIGUSR1", "hub 1:\n  greenlet 3 'x'\n");
  b.modules({{3, 0x500000, 0x500000, 0x510000, "/tmp/plugin.so", "bid"},
             {1, 0, 0, 1, "/a/later/duplicate", ""}});  // a later chunk adds; an id's first entry stays
  b.stacks({{5, {0x1}}});                                  // a repeated id: the first stays
  b.run_info(kStartTicks + 1000, "api", "");
  b.end();
  auto t = load_ok(b.bytes());
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->problems().empty()) << problems_of(*t);
  ASSERT_EQ(t->modules().size(), 3u);
  const ModuleInfo& m = t->modules()[0];
  EXPECT_EQ(m.id, 1u);
  EXPECT_EQ(m.base, 0x400000u);
  EXPECT_EQ(m.lo, 0x401000u);
  EXPECT_EQ(m.hi, 0x480000u);
  EXPECT_EQ(m.path, "/usr/bin/prog");
  EXPECT_EQ(m.build_id, std::string("\x12\x34\x00\xff", 4));
  EXPECT_EQ(t->modules()[2].path, "/tmp/plugin.so");
  EXPECT_EQ(t->module_at(0x401000), &t->modules()[0]);
  EXPECT_EQ(t->module_at(0x47FFFF), &t->modules()[0]);
  EXPECT_EQ(t->module_at(0x480000), nullptr);
  EXPECT_EQ(t->module_at(0x7f0000001234)->path, "/lib/libc.so.6");
  EXPECT_EQ(t->module_at(0x10), nullptr);

  ASSERT_NE(t->stack(5), nullptr);
  EXPECT_EQ(*t->stack(5), (std::vector<std::uint64_t>{0x401100, 0x402200, 0x7f0000001234}));
  ASSERT_NE(t->stack(6), nullptr);
  EXPECT_TRUE(t->stack(6)->empty());
  EXPECT_EQ(t->stack(0), nullptr);
  EXPECT_EQ(t->stack(7), nullptr);
  EXPECT_EQ(t->stacks().size(), 2u);

  const auto* scopes = t->symbols(0x401100);
  ASSERT_NE(scopes, nullptr);
  ASSERT_EQ(scopes->size(), 2u);
  EXPECT_EQ((*scopes)[0].function, "inner");
  EXPECT_EQ((*scopes)[0].file, "a.h");
  EXPECT_EQ((*scopes)[0].line, 10u);
  EXPECT_EQ((*scopes)[1].function, "outer(int)");
  EXPECT_EQ((*scopes)[1].line, 20u);
  ASSERT_NE(t->symbols(0x402200), nullptr);
  EXPECT_EQ((*t->symbols(0x402200))[0].file, "");
  EXPECT_EQ(t->symbols(0x7f0000001234), nullptr);
  EXPECT_EQ(t->symbol_count(), 2u);

  ASSERT_EQ(t->run_infos().size(), 2u);  // in time order
  EXPECT_EQ(t->run_infos()[0].time_ns, 500);
  EXPECT_EQ(t->run_infos()[0].trigger, "api");
  EXPECT_EQ(t->run_infos()[0].text, "");
  EXPECT_EQ(t->run_infos()[1].time_ns, 1500);
  EXPECT_EQ(t->run_infos()[1].trigger, "signal SIGUSR1");
  EXPECT_EQ(t->run_infos()[1].text, "hub 1:\n  greenlet 3 'x'\n");
}

TEST(Stacks, ExtensionEventsDecodeToTheirFields) {
  TraceBuilder b;
  b.process();
  b.thread(0, "main");
  b.thread(1, "greenscope-monitor");
  b.strings({{7, "fsync()"}});
  b.stacks({{5, {0x10, 0x20}}, {6, {0x30}}});
  BlockWriter w(kStartTicks, kMain, kHub, 0);
  w.wait_stack(2, 5);
  w.suspend(Reason::Sleep, 0).varint(0);
  w.loop_lag(2, 25'000'000);
  w.blocking_call(2, 7, 9, 3'000'000, 6);
  w.blocking_call(2, 7, -1, 4, 0);
  w.crash(2, 11, 0xdead, 12, tf::kCrashStackOverflow, {0x40, 0x50});
  b.events(0, 0, w);
  BlockWriter m(kStartTicks, 0, 0, 0);
  m.stall_begin(20, 1, 0, kStartTicks + 4, 12, tf::StallOwner::Watcher, tf::WatcherKind::Timer);
  m.stall_sample(2, 1, 5, true, 202);
  m.stall_end(2, 1, kStartTicks + 30, 1500, 2000, tf::StallKind::Blocked, 202);
  b.events(1, 0, m);
  b.end();
  auto t = load_ok(b.bytes());
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->problems().empty()) << problems_of(*t);

  const auto& ev = events_of(*t, 0);
  ASSERT_EQ(ev.size(), 6u);
  EXPECT_EQ(ev[0].type, EventType::WaitStack);
  EXPECT_EQ(ev[0].a, 5u);
  EXPECT_EQ(ev[0].greenlet, kMain);
  EXPECT_EQ(ev[0].time_ns, 1);
  EXPECT_EQ(ev[1].type, EventType::Switch);
  EXPECT_EQ(ev[2].type, EventType::LoopLag);
  EXPECT_EQ(ev[2].c, 25'000'000);
  EXPECT_EQ(ev[2].time_ns, 2);
  EXPECT_EQ(ev[3].type, EventType::BlockingCall);
  EXPECT_EQ(t->text(ev[3].str), "fsync()");
  EXPECT_EQ(ev[3].c, 9);
  EXPECT_EQ(ev[3].b, 3'000'000u);
  EXPECT_EQ(ev[3].a, 6u);
  EXPECT_EQ(ev[4].c, -1);
  EXPECT_EQ(ev[4].a, 0u);
  EXPECT_EQ(ev[5].type, EventType::Crash);
  EXPECT_EQ(ev[5].d, 11);
  EXPECT_EQ(ev[5].b, 0xdeadu);
  EXPECT_EQ(ev[5].c, 12);
  EXPECT_EQ(ev[5].code, tf::kCrashStackOverflow);
  ASSERT_NE(t->stack(ev[5].a), nullptr);
  EXPECT_EQ(*t->stack(ev[5].a), (std::vector<std::uint64_t>{0x40, 0x50}));

  const auto& mon = events_of(*t, 1);
  ASSERT_EQ(mon.size(), 3u);
  EXPECT_EQ(mon[0].type, EventType::StallBegin);
  EXPECT_EQ(mon[0].a, 1u);
  EXPECT_EQ(mon[0].b, 0u);
  EXPECT_EQ(mon[0].c, 2);
  EXPECT_EQ(mon[0].code, static_cast<std::uint8_t>(tf::StallOwner::Watcher));
  EXPECT_EQ(mon[0].d, static_cast<std::uint16_t>(tf::WatcherKind::Timer));
  EXPECT_EQ(mon[0].time_ns, 10);
  EXPECT_EQ(mon[0].greenlet, 0u);
  EXPECT_EQ(mon[1].type, EventType::StallSample);
  EXPECT_EQ(mon[1].b, 5u);
  EXPECT_EQ(mon[1].code, 1);
  EXPECT_EQ(mon[1].c, 202);
  EXPECT_EQ(mon[2].type, EventType::StallEnd);
  EXPECT_EQ(mon[2].b, 1500u);
  EXPECT_EQ(mon[2].c, 15);
  EXPECT_EQ(mon[2].code, static_cast<std::uint8_t>(tf::StallKind::Blocked));

  const FileStats& s = t->stats();
  EXPECT_EQ(s.events, 9u);
  EXPECT_EQ(s.count[static_cast<int>(EventType::BlockingCall)], 2u);
  EXPECT_EQ(s.count[static_cast<int>(EventType::StallSample)], 1u);
  // tag, delta, length, stack id
  EXPECT_EQ(s.encoded_bytes[static_cast<int>(EventType::WaitStack)], 4u);
  EXPECT_EQ(s.extensions_skipped_unknown, 0u);

  ASSERT_EQ(t->crashes().size(), 1u);
  const CrashInfo& c = t->crashes()[0];
  EXPECT_EQ(c.time_ns, 5);
  EXPECT_EQ(c.thread, 0u);
  EXPECT_EQ(c.signal, 11);
  EXPECT_EQ(c.fault_address, 0xdeadu);
  EXPECT_EQ(c.greenlet, 12u);
  EXPECT_TRUE(c.stack_overflow);
  EXPECT_EQ(c.stack, ev[5].a);

  ASSERT_EQ(t->stalls().size(), 1u);
  const StallInfo& st = t->stalls()[0];
  EXPECT_EQ(st.id, 1u);
  EXPECT_EQ(st.thread, 0u);
  EXPECT_EQ(st.monitor_thread, 1u);
  EXPECT_TRUE(st.has_begin);
  EXPECT_TRUE(st.has_end);
  EXPECT_TRUE(st.ended());
  EXPECT_EQ(st.start_ns, 2);
  EXPECT_EQ(st.end_ns, 15);
  EXPECT_EQ(st.duration_ns, 13);
  EXPECT_EQ(st.owner, tf::StallOwner::Watcher);
  EXPECT_EQ(st.watcher, tf::WatcherKind::Timer);
  EXPECT_EQ(st.greenlet, 12u);
  EXPECT_EQ(st.kind, tf::StallKind::Blocked);
  EXPECT_EQ(st.cpu_ns, 1500);
  EXPECT_EQ(st.cpu_window_ns, 2000);
  EXPECT_EQ(st.syscall, 202);
  ASSERT_EQ(st.samples.size(), 1u);
  EXPECT_EQ(st.samples[0].time_ns, 11);
  EXPECT_EQ(st.samples[0].stack, 5u);
  EXPECT_TRUE(st.samples[0].in_syscall);
  EXPECT_EQ(st.samples[0].syscall, 202);
}

TEST(Stacks, AWaitStackBelongsToTheSwitchRightAfterIt) {
  TraceBuilder b;
  b.process();
  b.stacks({{5, {0x10}}, {6, {0x20}}});
  BlockWriter w(kStartTicks, kMain, kHub, 10);
  w.wait_stack(1, 5);
  w.suspend(Reason::Queue, 1).varint(0);  // 1: main waits at stack 5
  w.resume(Reason::Resume, 1).zz(0);      // 2: hub -> 10, no stack
  w.wait_stack(1, 6);
  w.event(Tag::Switch, 0).varint(10).varint(11).u8(static_cast<std::uint8_t>(Reason::Event)).varint(0);  // 4
  w.wait_stack(1, 6);                    // 5: a stack for 11, but...
  w.event(Tag::PollBegin, 1);            // 6: ...no switch follows it
  w.suspend(Reason::Yield, 1).varint(0);  // 7: so this one has none
  b.events(0, 0, w);
  b.end();
  auto t = load_ok(b.bytes());
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->problems().empty()) << problems_of(*t);
  const ThreadInfo& th = *t->thread(0);
  ASSERT_EQ(th.events.size(), 8u);
  EXPECT_EQ(th.wait_stack(1), 5u);
  EXPECT_EQ(th.wait_stack(2), 0u);
  EXPECT_EQ(th.wait_stack(4), 6u);
  EXPECT_EQ(th.wait_stack(7), 0u);
  EXPECT_EQ(th.wait_stack(0), 0u);
  EXPECT_EQ(th.wait_stack(3), 0u);   // not a switch
  EXPECT_EQ(th.wait_stack(99), 0u);  // out of range
}

TEST(Stacks, StallsThatNeverEndedKeepTheirKnownDuration) {
  TraceBuilder b;
  b.process();
  b.stacks({{5, {0x10}}});
  BlockWriter m(kStartTicks, 0, 0, 0);
  // Stall 1 ends at a StallEnd whose end ticks are 0: the monitor stopped
  // while it went on (at 100 ns).
  m.stall_begin(20, 1, 0, kStartTicks + 20, 3);
  m.stall_sample(40, 1, 5);
  m.stall_sample(40, 1, 5);
  m.stall_end(100, 1, 0, 70, 100, tf::StallKind::CpuBound);
  // Stall 2 has no StallEnd: the trace ended (at 1000 ns) with it going on.
  m.stall_begin(200, 2, 4, kStartTicks + 400, 0, tf::StallOwner::Hub);
  m.stall_sample(1600, 2, 5);
  // Stall 3 lost its StallBegin: it starts at its first event.
  m.stall_sample(2, 3, 0);
  m.stall_end(2, 3, kStartTicks + 2010, 1, 2, tf::StallKind::Blocked);
  b.events(1, 0, m);
  b.end();
  auto t = load_ok(b.bytes());
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->problems().empty()) << problems_of(*t);
  EXPECT_EQ(t->end_ns(), 1002);
  ASSERT_EQ(t->stalls().size(), 3u);
  const StallInfo& s1 = t->stalls()[0];
  EXPECT_EQ(s1.id, 1u);
  EXPECT_FALSE(s1.ended());
  EXPECT_EQ(s1.end_ns, -1);
  EXPECT_TRUE(s1.has_end);
  EXPECT_EQ(s1.start_ns, 10);
  EXPECT_EQ(s1.duration_ns, 100 - 10);  // to its StallEnd record
  EXPECT_EQ(s1.samples.size(), 2u);
  const StallInfo& s2 = t->stalls()[1];
  EXPECT_EQ(s2.id, 2u);
  EXPECT_EQ(s2.thread, 4u);
  EXPECT_EQ(s2.owner, tf::StallOwner::Hub);
  EXPECT_FALSE(s2.has_end);
  EXPECT_FALSE(s2.ended());
  EXPECT_EQ(s2.start_ns, 200);
  EXPECT_EQ(s2.duration_ns, t->end_ns() - 200);  // to the end of the trace
  const StallInfo& s3 = t->stalls()[2];
  EXPECT_EQ(s3.id, 3u);
  EXPECT_FALSE(s3.has_begin);
  EXPECT_TRUE(s3.ended());
  EXPECT_EQ(s3.start_ns, 1001);
  EXPECT_EQ(s3.end_ns, 1005);
  EXPECT_EQ(s3.duration_ns, 4);
  EXPECT_EQ(s3.samples[0].stack, 0u);
  EXPECT_EQ(s3.kind, tf::StallKind::Blocked);
}

TEST(Stacks, CrashStacksTakeIdsNoStacksChunkUsed) {
  TraceBuilder b;
  b.process();
  b.stacks({{Trace::kFirstSyntheticStack, {0x1}}, {Trace::kFirstSyntheticStack - 2, {0x2}}});
  BlockWriter w(kStartTicks, kMain, kHub, 0);
  w.crash(1, 6, 0, 0, 0, {0x10});
  w.crash(1, 6, 0, 0, 0, {0x20});
  w.crash(1, 6, 0, 0, 0, {});  // no frames: no stack
  b.events(0, 0, w);
  auto t = load_ok(b.bytes());
  ASSERT_TRUE(t);
  ASSERT_EQ(t->crashes().size(), 3u);
  EXPECT_EQ(t->crashes()[0].stack, Trace::kFirstSyntheticStack - 1);
  EXPECT_EQ(t->crashes()[1].stack, Trace::kFirstSyntheticStack - 3);
  EXPECT_EQ(t->crashes()[2].stack, 0u);
  EXPECT_FALSE(t->crashes()[0].stack_overflow);
  EXPECT_EQ(*t->stack(Trace::kFirstSyntheticStack), (std::vector<std::uint64_t>{0x1}));
  EXPECT_EQ(*t->stack(Trace::kFirstSyntheticStack - 3), (std::vector<std::uint64_t>{0x20}));
}

TEST(Stacks, AnUnknownExtensionTagIsSkippedByItsLength) {
  TraceBuilder b;
  b.process();
  BlockWriter w(kStartTicks, kMain, kHub, 0);
  w.event(Tag::PollBegin, 1);
  w.extension(0x3A, 1, ByteSink().varint(1).str("a field of a newer greenscope").u8(0xFF));
  w.extension(0x27, 1, ByteSink());
  w.event(Tag::PollEnd, 1).varint(2);
  b.events(0, 0, w);
  b.end();
  auto t = load_ok(b.bytes());
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->problems().empty()) << problems_of(*t);
  EXPECT_EQ(t->stats().extensions_skipped_unknown, 2u);
  const auto& ev = events_of(*t);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1].type, EventType::PollEnd);
  EXPECT_EQ(ev[1].a, 2u);
  EXPECT_EQ(ev[1].time_ns, 2);  // the skipped events' deltas count
}

TEST(Stacks, FieldsANewerMinorAppendsAreIgnored) {
  TraceBuilder b(tf::kFormatMajor, 9);
  b.process();
  b.stacks({{5, {0x10}}});
  BlockWriter w(kStartTicks, kMain, kHub, 0);
  w.extension(Tag::WaitStack, 1, ByteSink().varint(5).varint(77).str("more"));
  w.extension(Tag::LoopLag, 1, ByteSink().varint(1000).u8(1));
  w.suspend(Reason::Sleep, 1).varint(0);
  b.events(0, 0, w);
  b.end();
  auto t = load_ok(b.bytes());
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->problems().empty()) << problems_of(*t);
  const auto& ev = events_of(*t);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].a, 5u);
  EXPECT_EQ(ev[1].c, 1000);
  EXPECT_EQ(ev[2].type, EventType::Switch);
}

TEST(Stacks, AStallBeginWithoutItsWatcherByteStillReads) {
  TraceBuilder b;
  b.process();
  BlockWriter m(kStartTicks, 0, 0, 0);
  m.extension(Tag::StallBegin, 2, ByteSink().varint(1).varint(0).varint(kStartTicks).varint(3).u8(0));
  b.events(1, 0, m);
  b.end();
  auto t = load_ok(b.bytes());
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->problems().empty()) << problems_of(*t);
  ASSERT_EQ(t->stalls().size(), 1u);
  EXPECT_EQ(t->stalls()[0].greenlet, 3u);
}

TEST(Stacks, AMalformedExtensionIsSkippedAndItsBlockGoesOn) {
  TraceBuilder b;
  b.process();
  BlockWriter w(kStartTicks, kMain, kHub, 0);
  w.extension(Tag::LoopLag, 1, ByteSink());  // its one field is missing
  std::vector<std::uint64_t> deep(tf::kMaxStackFrames + 1, 0x10);
  w.crash(1, 11, 0, 0, 0, deep);
  w.extension(Tag::StallSample, 1, ByteSink().varint(1).varint(0).u8(0));  // no syscall
  w.event(Tag::PollBegin, 1);
  b.events(0, 0, w);
  b.end();
  auto t = load_ok(b.bytes());
  ASSERT_TRUE(t);
  ASSERT_EQ(t->problems().size(), 3u) << problems_of(*t);
  EXPECT_TRUE(Contains(t->problems()[0].message, "thread 0 block 0: event 0x24 malformed"));
  EXPECT_TRUE(Contains(t->problems()[0].message, "it is skipped"));
  EXPECT_TRUE(Contains(t->problems()[1].message, "129 frames, over the limit of 128"));
  EXPECT_TRUE(Contains(t->problems()[2].message, "event 0x22 malformed"));
  ASSERT_EQ(events_of(*t).size(), 1u);
  EXPECT_EQ(events_of(*t)[0].type, EventType::PollBegin);
  EXPECT_EQ(events_of(*t)[0].time_ns, 2);
  EXPECT_TRUE(t->crashes().empty());
  EXPECT_TRUE(t->stalls().empty());
  EXPECT_EQ(t->stats().events, 1u);
}

TEST(Stacks, AnExtensionLengthPastTheBlockStopsTheBlock) {
  TraceBuilder b;
  b.process();
  BlockWriter w(kStartTicks, kMain, kHub, 0);
  w.event(Tag::PollBegin, 1);
  w.event(Tag::LoopLag, 1).varint(100).varint(5);
  b.events(0, 0, w);
  b.end();
  auto t = load_ok(b.bytes());
  ASSERT_TRUE(t);
  EXPECT_EQ(t->stats().events, 1u);
  EXPECT_TRUE(AnyProblemContains(*t, "event 0x24 cut short or malformed"));
}

TEST(Stacks, StackIdsNoStacksChunkDefinedAreOneProblem) {
  TraceBuilder b;
  b.process();
  b.stacks({{5, {0x10}}});
  BlockWriter w(kStartTicks, kMain, kHub, 0);
  w.wait_stack(1, 5);
  w.wait_stack(1, 8);
  w.wait_stack(1, 9);
  w.wait_stack(1, 8);
  w.wait_stack(1, 0);
  b.events(0, 0, w);
  b.end();
  auto t = load_ok(b.bytes());
  ASSERT_TRUE(t);
  ASSERT_EQ(t->problems().size(), 1u) << problems_of(*t);
  EXPECT_TRUE(Contains(t->problems()[0].message, "2 stack ids (such as 8) used by events but not defined"));
  EXPECT_EQ(t->stats().events, 5u);
  EXPECT_EQ(t->stack(8), nullptr);
}

TEST(Stacks, AStackOverTheFrameLimitIsDamage) {
  TraceBuilder b;
  b.process();
  std::vector<std::uint64_t> deep(tf::kMaxStackFrames + 1, 0x10);
  std::vector<std::uint64_t> deepest(tf::kMaxStackFrames, 0x10);
  const std::size_t at = b.stacks({{1, {0x1}}, {2, deepest}, {3, deep}, {4, {0x4}}});
  b.end();
  auto t = load_ok(b.bytes());
  ASSERT_TRUE(t);
  ASSERT_EQ(t->problems().size(), 1u) << problems_of(*t);
  EXPECT_EQ(t->problems()[0].offset, at);
  EXPECT_TRUE(Contains(t->problems()[0].message, "malformed stack entry"));
  EXPECT_TRUE(Contains(t->problems()[0].message, "129 frames, over the limit of 128"));
  EXPECT_NE(t->stack(1), nullptr);
  EXPECT_EQ(t->stack(2)->size(), tf::kMaxStackFrames);
  EXPECT_EQ(t->stack(3), nullptr);
  EXPECT_EQ(t->stack(4), nullptr);  // after the damage: the rest of the chunk
}

TEST(Stacks, MalformedEntriesOfEachNewChunkAreReported) {
  struct Case {
    tf::ChunkType type;
    Bytes payload;
    const char* what;
  };
  const std::vector<Case> cases = {
      {tf::ChunkType::Modules, ByteSink().varint(1).varint(0).varint(10).varint(5).str("/x").str("").bytes,
       "malformed module entry at payload byte 0 (its address range ends before it begins)"},
      {tf::ChunkType::Modules, ByteSink().varint(1).varint(0).varint(0).varint(5).str("/x").bytes,
       "malformed module entry"},
      {tf::ChunkType::Stacks, ByteSink().varint(0).varint(0).bytes, "stack id 0"},
      {tf::ChunkType::Stacks, ByteSink().varint(1).varint(3).varint(7).bytes, "malformed stack entry"},
      {tf::ChunkType::Symbols, ByteSink().varint(0x10).varint(0).bytes, "malformed symbol entry at payload byte 0 (0 scopes)"},
      {tf::ChunkType::Symbols, ByteSink().varint(0x10).varint(1).str("f").str("").bytes, "malformed symbol entry"},
      {tf::ChunkType::RunInfo, Bytes{}, "malformed run-info entry at payload byte 0 (empty)"},
      {tf::ChunkType::RunInfo, ByteSink().varint(5).str("api").varint(100).bytes, "malformed run-info entry"},
  };
  for (const Case& c : cases) {
    TraceBuilder b;
    b.process();
    const std::size_t at = b.chunk(c.type, c.payload);
    b.end();
    auto t = load_ok(b.bytes());
    ASSERT_TRUE(t);
    ASSERT_EQ(t->problems().size(), 1u) << c.what << problems_of(*t);
    EXPECT_EQ(t->problems()[0].offset, at);
    EXPECT_TRUE(Contains(t->problems()[0].message, c.what));
    EXPECT_TRUE(t->modules().empty() && t->stacks().empty() && t->run_infos().empty() && t->symbol_count() == 0);
  }
}

TEST(Stacks, A1xTraceHasNoneOfThe20Tables) {
  TraceBuilder b(1, 0);
  b.process();
  BlockWriter w(kStartTicks, kMain, kHub, 0);
  w.suspend(Reason::Sleep, 1).varint(0);
  b.events(0, 0, w);
  b.end();
  auto t = load_ok(b.bytes());
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->problems().empty());
  EXPECT_TRUE(t->modules().empty());
  EXPECT_TRUE(t->stalls().empty());
  EXPECT_TRUE(t->crashes().empty());
  EXPECT_EQ(t->thread(0)->wait_stack(0), 0u);
}

}  // namespace
}  // namespace gs::test
