// session_test.cpp: start/stop in code, several hubs on several threads,
// loss accounting, and the flight recorder.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "greenscope/runtime.h"
#include "test_support.h"
#include "trace_test_support.h"

namespace gs::test {
namespace {

using traceio::EventType;

class SessionTest : public RuntimeTest {};

void ping_pong(int rounds) {
  auto a = gs::spawn([&] { for (int i = 0; i < rounds; ++i) gs::yield(); });
  auto b = gs::spawn([&] { for (int i = 0; i < rounds; ++i) gs::yield(); });
  a.join();
  b.join();
}

TEST_F(SessionTest, StartTwiceSaysTracingIsOn) {
  const std::string path = temp_trace_path("twice");
  ASSERT_TRUE(trace::start({.path = path}));
  EXPECT_TRUE(trace::active());
  std::string error;
  EXPECT_FALSE(trace::start({.path = path + "-other"}, &error));
  EXPECT_NE(error.find("already on"), std::string::npos) << error;
  EXPECT_NE(error.find(path), std::string::npos) << error;
  trace::stop();
  EXPECT_FALSE(trace::active());
  ::unlink(path.c_str());
}

TEST_F(SessionTest, UncreatableFileIsAnErrorNamingIt) {
  std::string error;
  EXPECT_FALSE(trace::start({.path = "/nonexistent-dir/x.gstrace"}, &error));
  EXPECT_NE(error.find("/nonexistent-dir/x.gstrace"), std::string::npos) << error;
  EXPECT_NE(error.find("No such file"), std::string::npos) << error;
  EXPECT_FALSE(trace::active());
}

// A trace holds arguments, environment, host name and stacks: only its
// owner may read it, whatever the umask lets other files be.
TEST_F(SessionTest, TraceFilesAreReadableByTheirOwnerOnly) {
  const std::string path = temp_trace_path("mode");
  const mode_t old_umask = ::umask(0);
  std::string error;
  const bool started = trace::start({.path = path}, &error);
  ::umask(old_umask);
  ASSERT_TRUE(started) << error;
  trace::stop();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ::unlink(path.c_str());
}

// A symbolic link planted at the trace's path (another user, a shared /tmp)
// must not make the tracer overwrite the file it points to.
TEST_F(SessionTest, ASymbolicLinkAtThePathIsRefusedAndItsTargetUntouched) {
  const std::string target = temp_trace_path("victim"), path = temp_trace_path("planted");
  write_file(target, "precious");
  ASSERT_EQ(::symlink(target.c_str(), path.c_str()), 0);
  std::string error;
  EXPECT_FALSE(trace::start({.path = path}, &error));
  EXPECT_FALSE(trace::active());
  EXPECT_NE(error.find("'" + path + "'"), std::string::npos) << error;
  EXPECT_NE(error.find("symbolic link"), std::string::npos) << error;
  EXPECT_EQ(read_all(target), "precious");
  ::unlink(path.c_str());
  ::unlink(target.c_str());
}

// An earlier run's trace at the path is replaced, as users expect; a hard
// link to it (another name for the same file) keeps what it held.
TEST_F(SessionTest, AnOlderFileAtThePathIsReplacedNotTruncated) {
  const std::string path = temp_trace_path("older"), other_name = temp_trace_path("older-link");
  write_file(path, "last run");
  ASSERT_EQ(::link(path.c_str(), other_name.c_str()), 0);
  std::string error;
  ASSERT_TRUE(trace::start({.path = path}, &error)) << error;
  ping_pong(10);
  trace::stop();
  EXPECT_EQ(read_all(other_name), "last run");
  auto t = load_or_fail(path);
  ASSERT_TRUE(t);
  EXPECT_GT(t->stats().events, 0u);
  ::unlink(path.c_str());
  ::unlink(other_name.c_str());
}

TEST_F(SessionTest, ADirectoryAtThePathIsAnErrorThatSaysSo) {
  const std::string path = temp_trace_path("dir");
  ASSERT_EQ(::mkdir(path.c_str(), 0700), 0);
  std::string error;
  EXPECT_FALSE(trace::start({.path = path}, &error));
  EXPECT_NE(error.find("other than a file"), std::string::npos) << error;
  ::rmdir(path.c_str());
}

TEST_F(SessionTest, StopWhenOffDoesNothing) {
  const trace::Stats s = trace::stop();
  EXPECT_EQ(s.events, 0u);
}

TEST_F(SessionTest, PercentPBecomesThePid) {
  ASSERT_TRUE(trace::start({.path = "/tmp/gs-tracer-test-%p-pid.gstrace"}));
  const std::string path = trace::path();
  trace::stop();
  EXPECT_EQ(path, "/tmp/gs-tracer-test-" + std::to_string(::getpid()) + "-pid.gstrace");
  EXPECT_EQ(::access(path.c_str(), R_OK), 0);
  ::unlink(path.c_str());
}

TEST_F(SessionTest, StatsMatchWhatTheFileHolds) {
  const std::string path = temp_trace_path("stats");
  ASSERT_TRUE(trace::start({.path = path}));
  ping_pong(1000);
  const trace::Stats s = trace::stop();
  auto t = load_or_fail(path);
  ::unlink(path.c_str());
  ASSERT_TRUE(t);
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(count(*t, EventType::Dropped), 0u);
  EXPECT_EQ(t->stats().events, s.events);
  EXPECT_EQ(t->stats().end_events, s.events);
  EXPECT_EQ(t->stats().file_bytes, s.bytes);
  EXPECT_GE(count(*t, EventType::Switch), 4000u);
}

TEST_F(SessionTest, ConsecutiveSessionsWriteIndependentFiles) {
  const std::string first = temp_trace_path("first"), second = temp_trace_path("second");
  ASSERT_TRUE(trace::start({.path = first}));
  ping_pong(10);
  trace::stop();
  ping_pong(10);  // not recorded
  ASSERT_TRUE(trace::start({.path = second}));
  ping_pong(20);
  trace::stop();
  auto a = load_or_fail(first), b = load_or_fail(second);
  ::unlink(first.c_str());
  ::unlink(second.c_str());
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->problems().empty());
  EXPECT_TRUE(b->problems().empty()) << b->problems().front().message;
  EXPECT_GE(count(*b, EventType::Switch), 2 * count(*a, EventType::Switch) - 8);
  EXPECT_EQ(b->threads()[0].hub_greenlet, gs::get_hub().hub_greenlet().id()) << "the second file learns the hub again";
}

// A session started mid-run (say, by the toggle signal) still names the
// greenlets that were named before it began.
TEST_F(SessionTest, SessionStartedMidRunKnowsEarlierNames) {
  bool done = false;
  auto worker = gs::spawn([&] { while (!done) gs::sleep(1ms); });
  worker.set_name("named-before-start");
  gs::sleep(2ms);
  auto t = record([&] { gs::sleep(5ms); });
  done = true;
  worker.join();
  ASSERT_TRUE(t);
  const std::uint64_t id = greenlet_named(*t, "named-before-start");
  ASSERT_NE(id, 0u);
  EXPECT_EQ(id, worker.id());
  EXPECT_EQ(t->greenlets().at(id).spawn_ns, -1) << "spawned before the trace";
}

TEST_F(SessionTest, SeveralHubsOnSeveralThreads) {
  constexpr int kThreads = 4, kRounds = 500;
  std::uint64_t hub_ids[kThreads] = {};
  const std::string path = temp_trace_path("threads");
  ASSERT_TRUE(trace::start(exiting_threads_ok({.path = path})));
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      hub_ids[i] = gs::get_hub().hub_greenlet().id();
      auto g = gs::spawn([] { ping_pong(kRounds); });
      g.set_name("worker-" + std::to_string(i));
      g.join();
    });
  for (auto& th : threads) th.join();
  trace::stop();
  auto t = load_or_fail(path);
  ::unlink(path.c_str());
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->problems().empty()) << t->problems().front().message;
  int hubs = 0;
  for (const auto& th : t->threads()) {
    if (!th.has_hub) continue;
    ++hubs;
    std::size_t switches = 0;
    for (const auto& e : th.events) switches += e.type == EventType::Switch;
    EXPECT_GE(switches, 4u * kRounds) << "thread " << th.index;
    EXPECT_TRUE(std::find(std::begin(hub_ids), std::end(hub_ids), th.hub_greenlet) != std::end(hub_ids));
  }
  EXPECT_EQ(hubs, kThreads);
  EXPECT_EQ(count(*t, EventType::HubStop), static_cast<std::size_t>(kThreads)) << "each thread's hub went away";
  for (int i = 0; i < kThreads; ++i) {
    const std::uint64_t id = greenlet_named(*t, "worker-" + std::to_string(i));
    ASSERT_NE(id, 0u);
    const std::uint32_t index = t->greenlets().at(id).thread;
    const auto thread = std::find_if(t->threads().begin(), t->threads().end(),
                                     [&](const traceio::ThreadInfo& th) { return th.index == index; });
    ASSERT_NE(thread, t->threads().end());
    EXPECT_TRUE(std::find(std::begin(hub_ids), std::end(hub_ids), thread->hub_greenlet) != std::end(hub_ids));
  }
}

// A writer stuck on its output (a FIFO nobody reads yet) must not stall the
// program: events are dropped, counted, and the loss is in the file.
TEST_F(SessionTest, StuckWriterDropsAndCountsInsteadOfWaiting) {
  const std::string fifo = temp_trace_path("fifo"), path = temp_trace_path("drained");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const int drain = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);  // so the writer's open does not block
  ASSERT_GE(drain, 0);
  trace::Options o = exiting_threads_ok({.path = fifo});
  o.buffer_mib = 1;
  ASSERT_TRUE(trace::start(o));
  std::thread other([] { ping_pong(100000); });
  ping_pong(100000);
  other.join();
  // Now drain the FIFO into a file while stop() writes the rest.
  std::atomic<bool> stopped{false};
  trace::Stats s;
  std::thread stopper([&] {
    s = trace::stop();
    stopped = true;
  });
  const int out = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ::fcntl(drain, F_SETFL, 0);
  char buf[65536];
  for (ssize_t n; (n = ::read(drain, buf, sizeof buf)) != 0;) {
    if (n < 0) continue;
    ASSERT_EQ(::write(out, buf, static_cast<std::size_t>(n)), n);
  }
  stopper.join();
  ::close(out);
  ::close(drain);
  ::unlink(fifo.c_str());
  auto t = load_or_fail(path);
  ::unlink(path.c_str());
  ASSERT_TRUE(t);
  EXPECT_GT(s.dropped, 0u) << "the writer could not keep up";
  EXPECT_GT(count(*t, EventType::Dropped), 0u) << "loss is never silent";
  EXPECT_EQ(t->stats().dropped, s.dropped) << "the Dropped events add up to every lost event";
  EXPECT_EQ(t->stats().end_dropped, s.dropped);
  EXPECT_EQ(t->stats().events - count(*t, EventType::Dropped), s.events) << "every recorded event reached the file";
}

TEST_F(SessionTest, FlightRecorderKeepsTheLatestEventsAndDumpsOnDemand) {
  const std::string path = temp_trace_path("flight");
  trace::Options o{.path = path};
  o.flight_recorder_mib = 1;
  ASSERT_TRUE(trace::start(o));
  ping_pong(500000);  // about 6 MiB of events: the old ones are evicted
  auto last = gs::spawn([] {});
  last.set_name("the-last-one");
  last.join();
  EXPECT_EQ(::access(path.c_str(), F_OK), -1) << "a flight recorder writes nothing until asked";
  const std::string written = trace::dump();
  EXPECT_EQ(written, path);
  const trace::Stats s = trace::stop();
  auto t = load_or_fail(path);
  ::unlink(path.c_str());
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->process().flight_dump);
  EXPECT_TRUE(t->stats().clean_end);
  EXPECT_NE(greenlet_named(*t, "the-last-one"), 0u) << "the newest events are kept";
  EXPECT_LT(t->stats().events, s.events / 2)
      << "the oldest events were evicted; switches kept: " << count(*t, EventType::Switch);
  EXPECT_LT(t->stats().event_bytes, 2u << 20) << "about the configured MiB";
  EXPECT_GT(count(*t, EventType::Switch), 10000u);
}

// unmarked_spawn_gaps() counts the places where greenlet ids are missing
// between two Spawn events of one thread with no Dropped event between them:
// a program that spawns one greenlet after another on one thread spawns
// every id in between, so such a gap is a loss the trace does not own up to.
// (A producer that outruns the writer drops events, and says so.)
std::size_t unmarked_spawn_gaps(const traceio::Trace& t) {
  std::size_t gaps = 0;
  for (const auto& th : t.threads()) {
    std::uint64_t last_id = 0;
    bool dropped_since = false;
    for (const auto& e : th.events) {
      if (e.type == EventType::Dropped) dropped_since = true;
      if (e.type != EventType::Spawn) continue;
      if (last_id != 0 && e.a != last_id + 1 && !dropped_since) ++gaps;
      last_id = e.a;
      dropped_since = false;
    }
  }
  return gaps;
}

// A dump taken while a thread fills blocks holds an unbroken run of its
// events, but for losses it marks: a block filled just before the dump
// (after the writer's last regular pass) is in it too.
TEST_F(SessionTest, FlightRecorderDumpHasNoGapWhileAThreadRecords) {
  const std::string path = temp_trace_path("flight-gap");
  trace::Options o = exiting_threads_ok({.path = path});
  o.flight_recorder_mib = 1;  // small: each dump is read back, and under ASan that is slow
  o.stall_monitor = false;
  ASSERT_TRUE(trace::start(o));
  std::atomic<bool> stop{false};
  std::thread spawner([&] {
    while (!stop.load(std::memory_order_relaxed)) gs::spawn([] {}).join();
  });
  std::vector<std::string> problems;
  // Before the fix 17 of 60 dumps had a gap: 20 all without one by chance
  // is about 1 in 1000.
  for (int i = 0; i < 20; ++i) {
    const std::string dumped = trace::dump(path + "." + std::to_string(i));
    ASSERT_FALSE(dumped.empty());
    auto t = load_or_fail(dumped);
    ::unlink(dumped.c_str());
    ASSERT_TRUE(t);
    if (const std::size_t gaps = unmarked_spawn_gaps(*t); gaps != 0)
      problems.push_back("dump " + std::to_string(i) + ": " + std::to_string(gaps) + " unmarked gap(s)");
  }
  stop.store(true);
  spawner.join();
  trace::stop();
  EXPECT_TRUE(problems.empty()) << problems.size() << " dump(s) with a gap, first: " << problems.front();
}

TEST_F(SessionTest, DumpWithoutFlightRecorderReturnsEmpty) {
  const std::string path = temp_trace_path("nodump");
  ASSERT_TRUE(trace::start({.path = path}));
  EXPECT_EQ(trace::dump(), "");
  trace::stop();
  ::unlink(path.c_str());
}

}  // namespace
}  // namespace gs::test
