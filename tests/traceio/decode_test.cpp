// decode_test.cpp: valid traces decode to the right events, times,
// greenlets and statistics.
#include <gtest/gtest.h>

#include <memory>

#include "trace_builder.h"

namespace gs::test {
namespace {

using namespace gs::traceio;
using tf::Reason;
using tf::Tag;

constexpr std::uint64_t kHub = 2, kMain = 1;

// clean_trace() is a trace whose thread 0 holds `block` as block 0, with
// Strings 7 = "recv" and 9 = "join".
Bytes clean_trace(const BlockWriter& block) {
  TraceBuilder b;
  b.process();
  b.thread(0, "worker");
  b.strings({{7, "recv"}, {9, "join"}});
  b.events(0, 0, block);
  b.end(10, 3);
  return b.bytes();
}

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

TEST(Decode, LifecycleAndLoopTagsDecodeToTheirFields) {
  BlockWriter w(kStartTicks, kMain, kHub, 0);
  w.event(Tag::Dropped, 2).varint(5).varint(200);
  w.event(Tag::HubStart, 2).varint(kHub).varint(kMain);
  w.event(Tag::HubStop, 2);
  w.event(Tag::Spawn, 2).varint(10).varint(kMain).str("worker-a");
  w.event(Tag::Rename, 2).varint(10).str("worker-b");
  w.event(Tag::Exit, 2).varint(10).u8(static_cast<std::uint8_t>(ExitKind::Failed)).str("boom");
  w.event(Tag::CallbacksBegin, 2);
  w.event(Tag::CallbacksEnd, 2).varint(3);
  w.event(Tag::PollBegin, 2);
  w.event(Tag::PollEnd, 2).varint(4);
  w.event(Tag::WatcherBegin, 2).u8(static_cast<std::uint8_t>(WatcherKind::Io)).zz(-1).varint(3);
  w.event(Tag::WatcherEnd, 2).u8(static_cast<std::uint8_t>(WatcherKind::Timer));
  w.event(Tag::CallbackEnqueue, 2);
  w.event(Tag::CallbackBegin, 2);
  w.event(Tag::CallbackEnd, 2);
  w.event(Tag::Error, 2).varint(10).str("ValueError");
  w.event(Tag::JobSubmit, 2).varint(77);
  w.event(Tag::JobBegin, 2).varint(77).varint(3);
  w.event(Tag::JobEnd, 2).varint(77).varint(3);
  w.event(Tag::JobDone, 2).varint(77);
  w.event(Tag::PatchedWaitBegin, 2).varint(7).zz(12);
  w.event(Tag::PatchedWaitEnd, 2).varint(7).zz(-5);
  w.event(Tag::TimeoutExpired, 2).varint(10).varint(1500);
  auto t = load_ok(clean_trace(w));
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->problems().empty()) << t->problems().front().message;
  const auto& ev = events_of(*t);
  ASSERT_EQ(ev.size(), 23u);
  const std::vector<EventType> types = {
      EventType::Dropped,         EventType::HubStart,      EventType::HubStop,
      EventType::Spawn,           EventType::Rename,        EventType::Exit,
      EventType::CallbacksBegin,  EventType::CallbacksEnd,  EventType::PollBegin,
      EventType::PollEnd,         EventType::WatcherBegin,  EventType::WatcherEnd,
      EventType::CallbackEnqueue, EventType::CallbackBegin, EventType::CallbackEnd,
      EventType::Error,           EventType::JobSubmit,     EventType::JobBegin,
      EventType::JobEnd,          EventType::JobDone,       EventType::PatchedWaitBegin,
      EventType::PatchedWaitEnd,  EventType::TimeoutExpired};
  for (std::size_t i = 0; i < ev.size(); ++i) {
    EXPECT_EQ(ev[i].type, types[i]) << i;
    EXPECT_EQ(ev[i].time_ns, static_cast<std::int64_t>(i + 1))
        << i;  // 2 ticks per event, 2 ticks/ns
    EXPECT_EQ(ev[i].greenlet, kMain) << i;
  }
  EXPECT_EQ(ev[0].a, 5u);
  EXPECT_EQ(ev[0].c, 100);  // 200 ticks at 2 ticks/ns
  EXPECT_EQ(ev[1].a, kHub);
  EXPECT_EQ(ev[1].b, kMain);
  EXPECT_EQ(ev[3].a, 10u);
  EXPECT_EQ(ev[3].b, kMain);
  EXPECT_EQ(t->text(ev[3].str), "worker-a");
  EXPECT_EQ(t->text(ev[4].str), "worker-b");
  EXPECT_EQ(ev[5].code, static_cast<std::uint8_t>(ExitKind::Failed));
  EXPECT_EQ(t->text(ev[5].str), "boom");
  EXPECT_EQ(ev[7].a, 3u);
  EXPECT_EQ(ev[9].a, 4u);
  EXPECT_EQ(ev[10].code, static_cast<std::uint8_t>(WatcherKind::Io));
  EXPECT_EQ(ev[10].c, -1);
  EXPECT_EQ(ev[10].d, 3);
  EXPECT_EQ(ev[11].code, static_cast<std::uint8_t>(WatcherKind::Timer));
  EXPECT_EQ(ev[15].a, 10u);
  EXPECT_EQ(t->text(ev[15].str), "ValueError");
  EXPECT_EQ(ev[16].a, 77u);
  EXPECT_EQ(ev[17].b, 3u);
  EXPECT_EQ(ev[18].a, 77u);
  EXPECT_EQ(ev[19].a, 77u);
  EXPECT_EQ(t->text(ev[20].str), "recv");
  EXPECT_EQ(ev[20].c, 12);
  EXPECT_EQ(ev[21].c, -5);
  EXPECT_EQ(ev[22].a, 10u);
  EXPECT_EQ(ev[22].c, 1500);
}

TEST(Decode, SwitchSuspendAndResumeTrackTheRunningGreenlet) {
  BlockWriter w(kStartTicks, kMain, kHub, 10);
  w.event(Tag::Switch, 2)
      .varint(kMain)
      .varint(11)
      .u8(static_cast<std::uint8_t>(Reason::Io))
      .varint(7);
  w.sink.varint(5).varint(1);                              // fd 5, read
  w.suspend(Reason::Join, 2).varint(9).varint(12);         // 11 joins 12
  w.resume(Reason::Resume, 2).zz(5);                       // hub -> 10 + 5
  w.suspend(Reason::Io, 2).varint(7).varint(8).varint(2);  // 15 waits on fd 8, write
  w.resume(Reason::Timeout, 2).zz(-3);                     // hub -> 15 - 3
  w.suspend(Reason::Yield, 2).varint(0);                   // 12 yields
  w.event(Tag::Switch, 2)
      .varint(kHub)
      .varint(kMain)
      .u8(static_cast<std::uint8_t>(Reason::Join))
      .varint(9);
  w.sink.varint(12);
  w.event(Tag::PollBegin, 2);
  auto t = load_ok(clean_trace(w));
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->problems().empty());
  const auto& ev = events_of(*t);
  ASSERT_EQ(ev.size(), 8u);
  struct Want {
    std::uint64_t from, to;
    Reason reason;
    const char* what;
    std::int64_t c;
    std::uint16_t d;
  };
  const Want want[] = {
      {kMain, 11, Reason::Io, "recv", 5, 1},      {11, kHub, Reason::Join, "join", 12, 0},
      {kHub, 15, Reason::Resume, "", 0, 0},       {15, kHub, Reason::Io, "recv", 8, 2},
      {kHub, 12, Reason::Timeout, "", 0, 0},      {12, kHub, Reason::Yield, "", 0, 0},
      {kHub, kMain, Reason::Join, "join", 12, 0},
  };
  for (std::size_t i = 0; i < std::size(want); ++i) {
    EXPECT_EQ(ev[i].type, EventType::Switch) << i;
    EXPECT_EQ(ev[i].a, want[i].from) << i;
    EXPECT_EQ(ev[i].b, want[i].to) << i;
    EXPECT_EQ(ev[i].greenlet, want[i].from) << i;
    EXPECT_EQ(ev[i].code, static_cast<std::uint8_t>(want[i].reason)) << i;
    EXPECT_EQ(t->text(ev[i].str), want[i].what) << i;
    EXPECT_EQ(ev[i].c, want[i].c) << i;
    EXPECT_EQ(ev[i].d, want[i].d) << i;
  }
  EXPECT_EQ(ev[7].greenlet, kMain);
}

TEST(Decode, HubStartSetsTheHubThatSuspendsSwitchTo) {
  BlockWriter w(kStartTicks, kMain, 0, 0);
  w.event(Tag::HubStart, 1).varint(kHub).varint(kMain);
  w.suspend(Reason::Sleep, 1).varint(0);
  auto t = load_ok(clean_trace(w));
  ASSERT_TRUE(t);
  const ThreadInfo* thread = t->thread(0);
  ASSERT_NE(thread, nullptr);
  EXPECT_TRUE(thread->has_hub);
  EXPECT_EQ(thread->hub_greenlet, kHub);
  EXPECT_EQ(thread->main_greenlet, kMain);
  ASSERT_EQ(thread->events.size(), 2u);
  EXPECT_EQ(thread->events[1].b, kHub);
}

TEST(Decode, HubStartMakesMainTheRunningGreenletIfNoneIsKnown) {
  BlockWriter w(kStartTicks, 0, 0, 0);
  w.event(Tag::HubStart, 1).varint(kHub).varint(kMain);
  w.suspend(Reason::Sleep, 1).varint(0);
  w.event(Tag::HubStart, 1).varint(kHub).varint(77);  // a known current stays
  w.event(Tag::PollBegin, 1);
  auto t = load_ok(clean_trace(w));
  ASSERT_TRUE(t);
  const auto& ev = events_of(*t);
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[0].greenlet, 0u);
  EXPECT_EQ(ev[1].a, kMain);
  EXPECT_EQ(ev[1].greenlet, kMain);
  EXPECT_EQ(ev[3].greenlet, kHub);
}

TEST(Decode, TickDeltasAccumulateAndUseTheInitialRateWithoutCalibration) {
  BlockWriter w(kStartTicks + 200, kMain, kHub, 0);
  w.event(Tag::PollBegin, 100);
  w.event(Tag::PollEnd, 300).varint(0);
  auto t = load_ok(clean_trace(w));
  ASSERT_TRUE(t);
  const auto& ev = events_of(*t);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].time_ns, 150);  // (1300 - 1000) / 2
  EXPECT_EQ(ev[1].time_ns, 300);
  EXPECT_EQ(t->begin_ns(), 150);
  EXPECT_EQ(t->end_ns(), 300);
  EXPECT_DOUBLE_EQ(t->process().ticks_per_ns, 2.0);
}

TEST(Decode, CalibrationFitsThroughTheFirstAndLastPairs) {
  TraceBuilder b;
  b.process(2.0);  // the initial guess; the pairs below say 3 ticks/ns
  b.thread(0, "worker");
  BlockWriter w(kStartTicks, kMain, kHub, 0);
  w.event(Tag::PollBegin, 3000);
  w.event(Tag::PollBegin, 3'000'000'000);
  b.events(0, 0, w);
  b.calibration(kStartTicks + 1'500'000'000,
                kStartMonoNs + 500'000'123);  // middle pairs do not count
  b.calibration(kStartTicks + 3'000'000'000, kStartMonoNs + 1'000'000'000);
  b.end();
  auto t = load_ok(b.bytes());
  ASSERT_TRUE(t);
  const auto& ev = events_of(*t);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].time_ns, 1000);
  EXPECT_EQ(ev[1].time_ns, 1'000'001'000);
  EXPECT_NEAR(t->process().ticks_per_ns, 3.0, 1e-12);
  EXPECT_EQ(t->process().calibrations, 3u);
}

TEST(Decode, AbsurdCalibrationFallsBackToTheInitialRate) {
  TraceBuilder b;
  b.process(2.0);
  b.thread(0, "worker");
  BlockWriter w(kStartTicks, kMain, kHub, 0);
  w.event(Tag::PollBegin, 4000);
  b.events(0, 0, w);
  b.calibration(kStartTicks + 10, kStartMonoNs - 1);  // time running backwards
  b.end();
  auto t = load_ok(b.bytes());
  ASSERT_TRUE(t);
  ASSERT_EQ(events_of(*t).size(), 1u);
  EXPECT_EQ(events_of(*t)[0].time_ns, 2000);
}

TEST(Decode, EventsOfSeveralBlocksComeOutInTimeOrder) {
  TraceBuilder b;
  b.process();
  b.thread(0, "worker");
  BlockWriter later(kStartTicks + 1000, kMain, kHub, 0);
  later.event(Tag::PollBegin, 0);
  later.event(Tag::PollEnd, 10).varint(1);
  BlockWriter earlier(kStartTicks, kMain, kHub, 0);
  earlier.event(Tag::CallbacksBegin, 0);
  b.events(0, 1, later);
  b.events(0, 0, earlier);
  b.end();
  auto t = load_ok(b.bytes());
  ASSERT_TRUE(t);
  const auto& ev = events_of(*t);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].type, EventType::CallbacksBegin);
  EXPECT_EQ(ev[1].type, EventType::PollBegin);
  EXPECT_EQ(ev[2].type, EventType::PollEnd);
  EXPECT_EQ(ev[2].time_ns, 505);
}

TEST(Decode, ProcessThreadsAndStatsAreFilledIn) {
  TraceBuilder b(tf::kFormatMajor, 3, tf::kFileFlagFlightDump);
  b.process();
  b.thread(0, "worker", 777);
  b.strings({{7, "recv"}});
  BlockWriter w(kStartTicks, kMain, kHub, 0);
  w.event(Tag::Dropped, 1).varint(4).varint(0);
  w.event(Tag::Dropped, 1).varint(6).varint(0);
  w.suspend(Reason::Yield, 1).varint(7);
  b.events(0, 0, w);
  BlockWriter other(kStartTicks, 30, 31, 0);
  other.event(Tag::PollBegin, 1);
  b.events(3, 0, other);  // no Thread chunk for index 3
  b.end(100, 10);
  auto t = load_ok(b.bytes());
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->problems().empty());
  const ProcessInfo& p = t->process();
  EXPECT_EQ(p.major, tf::kFormatMajor);
  EXPECT_EQ(p.minor, 3);
  EXPECT_TRUE(p.flight_dump);
  EXPECT_EQ(p.pid, 4242u);
  EXPECT_EQ(p.program, "/usr/bin/prog");
  EXPECT_EQ(p.args, (std::vector<std::string>{"prog", "-v"}));
  EXPECT_EQ(p.host, "host1");
  EXPECT_EQ(p.clock, "tsc");
  EXPECT_EQ(p.start_wall_ns, 1'700'000'000'000'000'000);
  ASSERT_EQ(t->threads().size(), 2u);
  EXPECT_EQ(t->threads()[0].name, "worker");
  EXPECT_EQ(t->threads()[0].os_tid, 777);
  EXPECT_EQ(t->threads()[1].index, 3u);
  EXPECT_EQ(t->threads()[1].name, "thread 3");
  const FileStats& s = t->stats();
  EXPECT_EQ(s.file_bytes, b.bytes().size());
  EXPECT_EQ(s.chunks, 6u);
  EXPECT_EQ(s.events, 4u);
  EXPECT_EQ(s.count[static_cast<int>(EventType::Dropped)], 2u);
  EXPECT_EQ(s.encoded_bytes[static_cast<int>(EventType::Dropped)], 8u);
  EXPECT_EQ(s.count[static_cast<int>(EventType::Switch)], 1u);
  EXPECT_EQ(s.encoded_bytes[static_cast<int>(EventType::Switch)], 3u);
  EXPECT_EQ(s.event_bytes, w.bytes().size() + other.bytes().size());
  EXPECT_EQ(s.dropped, 10u);
  EXPECT_TRUE(s.clean_end);
  EXPECT_EQ(s.end_events, 100u);
  EXPECT_EQ(s.end_dropped, 10u);
}

TEST(Decode, GreenletsComeFromLifecycleEventsAndSwitches) {
  BlockWriter w(kStartTicks, kMain, 0, 0);
  w.event(Tag::HubStart, 2).varint(kHub).varint(kMain);
  w.event(Tag::Spawn, 2).varint(10).varint(kMain).str("");
  w.event(Tag::Spawn, 2).varint(11).varint(kMain).str("fetcher");
  w.event(Tag::Rename, 2).varint(10).str("renamed");
  w.event(Tag::Exit, 2)
      .varint(11)
      .u8(static_cast<std::uint8_t>(ExitKind::Killed))
      .str("GreenletExit");
  w.event(Tag::Switch, 2).varint(kMain).varint(99).u8(0).varint(0);
  w.event(Tag::Spawn, 2).varint(12).varint(10).str("");
  auto t = load_ok(clean_trace(w));
  ASSERT_TRUE(t);
  const auto& g = t->greenlets();
  ASSERT_EQ(g.size(), 6u);
  EXPECT_EQ(g.at(kHub).name, "hub");
  EXPECT_EQ(g.at(kHub).spawn_ns, 1);
  EXPECT_EQ(g.at(kMain).name, "main");
  EXPECT_EQ(g.at(kMain).spawn_ns, -1);
  EXPECT_EQ(g.at(10).name, "renamed");
  EXPECT_EQ(g.at(10).spawn_ns, 2);
  EXPECT_EQ(g.at(10).spawner, kMain);
  EXPECT_EQ(g.at(10).exit_ns, -1);
  EXPECT_EQ(g.at(11).name, "fetcher");
  EXPECT_EQ(g.at(11).exit_ns, 5);
  EXPECT_EQ(g.at(11).exit_kind, ExitKind::Killed);
  EXPECT_EQ(g.at(11).error, "GreenletExit");
  EXPECT_EQ(g.at(99).name, "Greenlet-99");
  EXPECT_EQ(g.at(99).spawn_ns, -1);
  EXPECT_EQ(g.at(12).name, "Greenlet-12");
  EXPECT_EQ(g.at(12).spawner, 10u);
  EXPECT_EQ(t->greenlet_name(11), "fetcher");
  EXPECT_EQ(t->greenlet_name(12345), "#12345");
}

TEST(Decode, AnUndefinedStringIdReadsEmptyAndIsReportedOnce) {
  BlockWriter w(kStartTicks, kMain, kHub, 0);
  w.suspend(Reason::Event, 1).varint(55);
  w.resume(Reason::Resume, 1).zz(kMain);
  w.suspend(Reason::Event, 1).varint(55);
  w.suspend(Reason::Lock, 1).varint(56);
  auto t = load_ok(clean_trace(w));
  ASSERT_TRUE(t);
  ASSERT_EQ(events_of(*t).size(), 4u);
  EXPECT_EQ(events_of(*t)[0].str, 0u);
  ASSERT_EQ(t->problems().size(), 2u);
  EXPECT_NE(t->problems()[0].message.find("string id 55"), std::string::npos);
  EXPECT_NE(t->problems()[1].message.find("string id 56"), std::string::npos);
}

TEST(Decode, EqualTextsShareOneIndex) {
  BlockWriter w(kStartTicks, kMain, kHub, 0);
  w.event(Tag::Spawn, 1).varint(10).varint(kMain).str("recv");
  w.event(Tag::Error, 1).varint(10).str("recv");
  auto t = load_ok(clean_trace(w));
  ASSERT_TRUE(t);
  const auto& ev = events_of(*t);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_NE(ev[0].str, 0u);
  EXPECT_EQ(ev[0].str, ev[1].str);
  EXPECT_EQ(t->text(ev[0].str), "recv");
  EXPECT_EQ(t->text(999999), "");
}

TEST(Decode, WithoutAProcessRecordTimesCountFromTheFirstBlock) {
  TraceBuilder b;
  b.thread(0, "worker");
  BlockWriter w(50'000, kMain, kHub, 0);
  w.event(Tag::PollBegin, 7);
  b.events(0, 0, w);
  b.end();
  auto t = load_ok(b.bytes());
  ASSERT_TRUE(t);
  ASSERT_EQ(events_of(*t).size(), 1u);
  EXPECT_EQ(events_of(*t)[0].time_ns, 7);
  ASSERT_EQ(t->problems().size(), 1u);
  EXPECT_NE(t->problems()[0].message.find("no process record"), std::string::npos);
}

}  // namespace
}  // namespace gs::test
