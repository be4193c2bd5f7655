// round_trip_test.cpp: every event type the tracer writes, produced by the
// real runtime doing the real thing, comes back from the reader with the
// fields the program knows.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "greenscope/runtime.h"
#include "every_wait.h"
#include "test_support.h"
#include "trace_test_support.h"

namespace gs::test {
namespace {

using traceio::EventType;
using traceio::Reason;

class RoundTripTest : public RuntimeTest {};

// switches_from() is every switch away from greenlet `id`.
std::vector<traceio::Event> switches_from(const traceio::Trace& t, std::uint64_t id) {
  std::vector<traceio::Event> out;
  for (const auto& e : all_events(t, EventType::Switch))
    if (e.a == id) out.push_back(e);
  return out;
}

bool has_reason(const std::vector<traceio::Event>& switches, Reason r) {
  return std::any_of(switches.begin(), switches.end(), [&](const traceio::Event& e) { return e.code == static_cast<std::uint8_t>(r); });
}

TEST_F(RoundTripTest, LifecycleEventsCarryNamesSpawnersAndEndings) {
  std::uint64_t parent_id = 0, child_id = 0, failed_id = 0, killed_id = 0, never_id = 0;
  auto t = record([&] {
    auto parent = gs::spawn([&] {
      auto child = gs::spawn([] { gs::yield(); });
      child.set_name("child");
      child_id = child.id();
      child.join();
    });
    parent.set_name("parent");
    parent_id = parent.id();
    auto failed = gs::spawn([]() -> int { throw std::runtime_error("boom in greenlet"); });
    failed_id = failed.id();
    auto killed = gs::spawn([] { gs::sleep(10s); });
    killed_id = killed.id();
    auto never = gs::spawn([] {});
    never_id = never.id();
    never.kill();
    gs::yield();
    killed.kill();
    parent.join();
    failed.join();
  });
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->problems().empty()) << t->problems().front().message;
  const auto& gl = t->greenlets();
  ASSERT_TRUE(gl.count(parent_id) && gl.count(child_id));
  EXPECT_EQ(gl.at(parent_id).name, "parent");
  EXPECT_EQ(gl.at(child_id).name, "child");
  EXPECT_EQ(gl.at(child_id).spawner, parent_id);
  EXPECT_EQ(gl.at(child_id).exit_kind, traceio::ExitKind::Returned);
  EXPECT_GE(gl.at(child_id).exit_ns, gl.at(child_id).spawn_ns);
  EXPECT_EQ(gl.at(failed_id).exit_kind, traceio::ExitKind::Failed);
  EXPECT_NE(gl.at(failed_id).error.find("boom in greenlet"), std::string::npos) << gl.at(failed_id).error;
  EXPECT_EQ(gl.at(killed_id).exit_kind, traceio::ExitKind::Killed);
  EXPECT_EQ(gl.at(never_id).exit_kind, traceio::ExitKind::NeverStarted);
  EXPECT_EQ(count(*t, EventType::Rename), 2u);
  const auto errors = all_events(*t, EventType::Error);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].a, failed_id);
  EXPECT_NE(t->text(errors[0].str).find("boom in greenlet"), std::string::npos);
  reports.clear();
}

TEST_F(RoundTripTest, EverySwitchReasonIsRecordedWithWhatItWaitsOn) {
  EveryWait w;
  auto t = record([&] { w = run_every_wait([](EveryWait&) {}); });
  std::uint64_t ids[8] = {};
  for (int i = 0; i < 8; ++i) ids[i] = w.greenlets[i].id();
  const int read_fd = w.read_fd;
  ASSERT_TRUE(t);
  EXPECT_TRUE(has_reason(switches_from(*t, ids[0]), Reason::Yield));
  EXPECT_TRUE(has_reason(switches_from(*t, ids[1]), Reason::Sleep));
  const auto io = switches_from(*t, ids[2]);
  ASSERT_TRUE(has_reason(io, Reason::Io));
  for (const auto& e : io) {
    if (e.code != static_cast<std::uint8_t>(Reason::Io)) continue;
    EXPECT_EQ(e.c, read_fd);
    EXPECT_EQ(e.d, 1) << "a read wait";
  }
  EXPECT_TRUE(has_reason(switches_from(*t, ids[3]), Reason::Event));
  EXPECT_TRUE(has_reason(switches_from(*t, ids[4]), Reason::Lock));
  EXPECT_TRUE(has_reason(switches_from(*t, ids[5]), Reason::Queue));
  const auto join = switches_from(*t, ids[6]);
  ASSERT_TRUE(has_reason(join, Reason::Join));
  for (const auto& e : join) {
    if (e.code != static_cast<std::uint8_t>(Reason::Join)) continue;
    EXPECT_EQ(static_cast<std::uint64_t>(e.c), ids[1]);
  }
  // The hub resumes the timed-out greenlet to raise TimeoutError in it.
  const auto resumes = all_events(*t, EventType::Switch);
  EXPECT_TRUE(std::any_of(resumes.begin(), resumes.end(), [&](const traceio::Event& e) {
    return e.b == ids[7] && e.code == static_cast<std::uint8_t>(Reason::Timeout);
  }));
  const auto expiries = all_events(*t, EventType::TimeoutExpired);
  ASSERT_EQ(expiries.size(), 1u);
  EXPECT_EQ(expiries[0].a, ids[7]);
  EXPECT_EQ(expiries[0].c, 1000) << "the timeout in microseconds";
  // Waits name their primitive.
  std::set<std::string> whats;
  for (const auto& e : all_events(*t, EventType::Switch)) whats.insert(t->text(e.str));
  EXPECT_TRUE(whats.count("Queue.get()")) << "what-strings come from the string table";
}

TEST_F(RoundTripTest, SwitchesPairUpAndTimeMovesForward) {
  auto t = record([] {
    auto a = gs::spawn([] { for (int i = 0; i < 100; ++i) gs::yield(); });
    auto b = gs::spawn([] { for (int i = 0; i < 100; ++i) gs::yield(); });
    a.join();
    b.join();
  }, without_monitor());
  ASSERT_TRUE(t);
  ASSERT_EQ(t->threads().size(), 1u);
  const auto& th = t->threads()[0];
  std::uint64_t running = 0;
  std::int64_t last = 0;
  std::size_t switches = 0;
  for (const auto& e : th.events) {
    EXPECT_GE(e.time_ns, last);
    last = e.time_ns;
    if (e.type != EventType::Switch) continue;
    ++switches;
    if (running != 0) {
      EXPECT_EQ(e.a, running) << "a switch leaves the greenlet the previous one entered";
    }
    running = e.b;
  }
  EXPECT_GE(switches, 400u) << "each yield is a switch to the hub and one back";
}

TEST_F(RoundTripTest, LoopPhasesWatchersAndCallbacks) {
  auto t = record([] {
    gs::get_hub().run_callback([] {});
    gs::sleep(2ms);  // a timer watcher
    std::thread([] {}).join();
    gs::get_hub().run_callback_threadsafe([] {});  // an async watcher
    gs::sleep(2ms);
  });
  ASSERT_TRUE(t);
  EXPECT_GE(count(*t, EventType::PollBegin), 1u);
  EXPECT_EQ(count(*t, EventType::PollBegin), count(*t, EventType::PollEnd));
  EXPECT_GE(count(*t, EventType::CallbacksBegin), 1u);
  EXPECT_EQ(count(*t, EventType::CallbackEnqueue), 2u);
  EXPECT_EQ(count(*t, EventType::CallbackBegin), 2u);
  EXPECT_EQ(count(*t, EventType::CallbackEnd), 2u);
  std::set<std::uint8_t> kinds;
  for (const auto& e : all_events(*t, EventType::WatcherBegin)) kinds.insert(e.code);
  EXPECT_TRUE(kinds.count(static_cast<std::uint8_t>(traceio::WatcherKind::Timer)));
  EXPECT_TRUE(kinds.count(static_cast<std::uint8_t>(traceio::WatcherKind::Async)));
  // stop() runs in the main greenlet, which the hub may have resumed from
  // inside a watcher callback: that one callback ends after the trace does.
  EXPECT_LE(count(*t, EventType::WatcherEnd), count(*t, EventType::WatcherBegin));
  EXPECT_LE(count(*t, EventType::WatcherBegin), count(*t, EventType::WatcherEnd) + 1);
}

TEST_F(RoundTripTest, IoWatcherCallbacksCarryTheirFd) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  auto t = record([&] {
    auto reader = gs::spawn([&] { gs::wait_read(fds[0]); });
    gs::sleep(1ms);
    ASSERT_EQ(::write(fds[1], "x", 1), 1);
    reader.join();
  });
  ::close(fds[0]);
  ::close(fds[1]);
  ASSERT_TRUE(t);
  bool seen = false;
  for (const auto& e : all_events(*t, EventType::WatcherBegin))
    if (e.code == static_cast<std::uint8_t>(traceio::WatcherKind::Io) && e.c == fds[0] && (e.d & 1)) seen = true;
  EXPECT_TRUE(seen) << "an io watcher callback for the pipe's read end";
}

TEST_F(RoundTripTest, ThreadPoolJobsAppearOnTheHubAndTheWorker) {
  auto t = record([] { EXPECT_EQ(gs::run_in_thread([] { return 42; }), 42); }, without_monitor());
  ASSERT_TRUE(t);
  const auto submit = all_events(*t, EventType::JobSubmit);
  const auto begin = all_events(*t, EventType::JobBegin);
  const auto end = all_events(*t, EventType::JobEnd);
  const auto done = all_events(*t, EventType::JobDone);
  ASSERT_EQ(submit.size(), 1u);
  ASSERT_EQ(begin.size(), 1u);
  ASSERT_EQ(end.size(), 1u);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(submit[0].a, begin[0].a);
  EXPECT_EQ(begin[0].a, done[0].a);
  EXPECT_LE(submit[0].time_ns, begin[0].time_ns);
  EXPECT_LE(end[0].time_ns, done[0].time_ns);
  EXPECT_EQ(t->threads().size(), 2u) << "the hub's thread and the worker's";
}

TEST_F(RoundTripTest, PatchedCallWaitsNameTheCallAndFd) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  gs::patch_all();
  auto t = record([&] {
    auto reader = gs::spawn([&] {
      char c;
      EXPECT_EQ(::read(fds[0], &c, 1), 1);
    });
    gs::sleep(2ms);
    ASSERT_EQ(::write(fds[1], "x", 1), 1);
    reader.join();
    ::usleep(1000);
  });
  gs::unpatch_all();
  ::close(fds[0]);
  ::close(fds[1]);
  ASSERT_TRUE(t);
  const auto begins = all_events(*t, EventType::PatchedWaitBegin);
  const auto ends = all_events(*t, EventType::PatchedWaitEnd);
  ASSERT_EQ(begins.size(), 2u);
  ASSERT_EQ(ends.size(), 2u);
  EXPECT_EQ(t->text(begins[0].str), "read()");
  EXPECT_EQ(begins[0].c, fds[0]);
  EXPECT_EQ(t->text(begins[1].str), "usleep()");
  EXPECT_EQ(begins[1].c, -1);
  EXPECT_GE(ends[0].time_ns, begins[0].time_ns);
}

TEST_F(RoundTripTest, SignalAndChildWatchers) {
  auto t = record([] {
    gs::Event got;
    auto handler = gs::signal_handler(SIGUSR1, [&] { got.set(); });
    ::kill(::getpid(), SIGUSR1);
    EXPECT_TRUE(got.wait(5s));
    gs::Subprocess child({"true"});
    EXPECT_EQ(child.wait(5s), 0);
  });
  ASSERT_TRUE(t);
  std::set<std::uint8_t> kinds;
  for (const auto& e : all_events(*t, EventType::WatcherBegin)) kinds.insert(e.code);
  EXPECT_TRUE(kinds.count(static_cast<std::uint8_t>(traceio::WatcherKind::Signal)));
  EXPECT_TRUE(kinds.count(static_cast<std::uint8_t>(traceio::WatcherKind::Child)));
}

TEST_F(RoundTripTest, HeaderDescribesTheProcess) {
  auto t = record([] { gs::yield(); }, without_monitor());
  ASSERT_TRUE(t);
  const auto& p = t->process();
  EXPECT_EQ(p.pid, static_cast<std::uint64_t>(::getpid()));
  EXPECT_NE(p.program.find("tracer_tests"), std::string::npos) << p.program;
  ASSERT_FALSE(p.args.empty());
  EXPECT_FALSE(p.host.empty());
  EXPECT_TRUE(p.clock == "tsc" || p.clock == "monotonic") << p.clock;
  EXPECT_GT(p.ticks_per_ns, 0.0);
  EXPECT_GE(p.calibrations, 2u) << "the start point and the one written at stop";
  EXPECT_GT(p.start_wall_ns, 1700000000ll * 1000000000ll);
  EXPECT_TRUE(t->stats().clean_end);
  EXPECT_EQ(t->stats().end_events, t->stats().events);
  ASSERT_EQ(t->threads().size(), 1u);
  EXPECT_TRUE(t->threads()[0].has_hub);
  EXPECT_EQ(t->threads()[0].hub_greenlet, gs::get_hub().hub_greenlet().id());
  EXPECT_EQ(t->threads()[0].main_greenlet, gs::get_hub().main_greenlet().id());
}

}  // namespace
}  // namespace gs::test
