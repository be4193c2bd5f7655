// stall_trace_test.cpp: tracing starts the runtime's stall monitor, and its
// stalls come back from the trace: when, who, what kind, and stack samples
// that name the code that held the thread.
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "greenscope/runtime.h"
#include "greenscope/stacks.h"
#include "greenscope/stall.h"
#include "stall_watch.h"
#include "test_support.h"
#include "trace_test_support.h"

namespace gs::test {
namespace {

using traceio::EventType;

class StallTraceTest : public RuntimeTest {
 protected:
  void SetUp() override {
    RuntimeTest::SetUp();
    if (gs::stall_monitor_running()) GTEST_SKIP() << "a stall monitor runs already, with its own threshold";
  }
};

// kGiveUp bounds each wait below for something the monitor must do, so
// that a monitor that never does it fails the test instead of hanging it
// (two of them stay under the test's 120 s timeout).
constexpr std::chrono::seconds kGiveUp{30};

// spin_without_yielding() holds the thread: a stall. Given a watch, it goes
// on past `d` until the monitor has sampled it here.
[[gnu::noinline]] void spin_without_yielding(std::chrono::milliseconds d, const StallWatch* until = nullptr) {
  const auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) asm volatile("" ::: "memory");
  const auto give_up = end + kGiveUp;
  while (until != nullptr && !until->sampled() && std::chrono::steady_clock::now() < give_up)
    asm volatile("" ::: "memory");
}

// switch_time() is when the first switch matching `pred` happened (-1: none).
template <class Pred>
std::int64_t switch_time(const traceio::Trace& t, Pred pred) {
  for (const auto& e : all_events(t, EventType::Switch))
    if (pred(e)) return e.time_ns;
  return -1;
}

bool stack_names(const traceio::Trace& t, std::uint64_t stack, const std::string& part) {
  const auto* frames = t.stack(stack);
  if (frames == nullptr) return false;
  for (std::uint64_t address : *frames) {
    if (const auto* scopes = t.symbols(address))
      for (const auto& s : *scopes)
        if (s.function.find(part) != std::string::npos) return true;
  }
  return false;
}

TEST_F(StallTraceTest, SpinningGreenletIsOneStallWithSamplesNamingIt) {
  ScopedEnv threshold("GREENSCOPE_STALL_MS", "10");
  std::uint64_t spinner = 0;
  StallWatch watch;  // outlives the session: stop() joins the monitor's threads
  auto t = record([&] {
    ASSERT_NE(gs::observer(), nullptr) << "trace::start() installs the recorder";
    auto g = gs::spawn([&watch] { spin_without_yielding(50ms, &watch); });  // and on, until sampled there
    spinner = g.id();
    watch.arm(spinner);
    g.join();
    // The monitor reports the end from its own thread once the hub has
    // published it: wait for that report to have reached the recorder.
    const auto give_up = std::chrono::steady_clock::now() + kGiveUp;
    while (!watch.ended() && std::chrono::steady_clock::now() < give_up) gs::sleep(1ms);
    watch.disarm();
  });
  ASSERT_TRUE(t);
  EXPECT_TRUE(watch.sampled()) << "the monitor never sampled the spinner in spin_without_yielding";
  EXPECT_TRUE(watch.ended()) << "the monitor never reported the spinner's stall ended";
  EXPECT_TRUE(t->problems().empty()) << t->problems().front().message;
  // The spin is one stall. (Under sanitizers the test's own main greenlet
  // can take 10 ms between start() and its first switch: a stall too.)
  std::vector<const traceio::StallInfo*> spins;
  std::string seen;
  for (const auto& st : t->stalls()) {
    if (st.greenlet == spinner) spins.push_back(&st);
    seen += "\n  stall " + std::to_string(st.id) + ": " + std::string(traceio::to_string(st.owner)) + " " +
            std::to_string(st.greenlet) + " from " + std::to_string(st.start_ns) + " ns for " +
            std::to_string(st.duration_ns) + " ns on thread " + std::to_string(st.thread);
  }
  ASSERT_EQ(spins.size(), 1u) << "spinner " << spinner << ":" << seen;
  const traceio::StallInfo& s = *spins[0];
  EXPECT_TRUE(s.has_begin);
  EXPECT_TRUE(s.has_end);
  ASSERT_TRUE(s.ended());
  EXPECT_EQ(s.owner, traceio::StallOwner::Greenlet);
  EXPECT_EQ(s.greenlet, spinner);
  EXPECT_EQ(s.kind, traceio::StallKind::CpuBound);
  const traceio::ThreadInfo* hub_thread = t->thread(s.thread);
  ASSERT_NE(hub_thread, nullptr);
  EXPECT_TRUE(hub_thread->has_hub);
  EXPECT_NE(s.monitor_thread, s.thread);

  // The stall is the spin: from the hub's switch to the spinner to the
  // spinner's exit (the same clock). The hub stamps each end of it just
  // before the switch event, so a stamp is never after its event; it can be
  // well before when the thread is preempted in between (this is a loaded
  // 2-core machine), or, under TSan, which holds a signal until the thread's
  // next intercepted call, when a pending sample's handler runs there. How
  // long that is, no bound fixes; but the stamp comes after every event the
  // hub's thread recorded before the switch. So the start lies between the
  // thread's last event before the switch to the spinner and that switch.
  std::int64_t before = -1, began = -1;
  for (const traceio::Event& e : hub_thread->events) {
    if (e.type == EventType::Switch && e.b == spinner) {
      began = e.time_ns;
      break;
    }
    before = e.time_ns;
  }
  const std::int64_t ended = switch_time(*t, [&](const traceio::Event& e) {
    return e.a == spinner && e.code == static_cast<std::uint8_t>(traceio::Reason::Exit);
  });
  ASSERT_GE(began, 0) << "no switch to the spinner on the stalled thread";
  ASSERT_GE(before, 0) << "the hub's thread recorded nothing before the switch to the spinner";
  ASSERT_GE(ended, 0);
  constexpr std::int64_t kSpinNs = 50'000'000;
  constexpr std::int64_t kStampAfterEventNs = 200'000;  // clock reads in a different order
  EXPECT_LE(s.start_ns, began + kStampAfterEventNs);
  EXPECT_GE(s.start_ns, before - kStampAfterEventNs) << "the stall began before the hub's step that led to the spin";
  EXPECT_LE(s.end_ns, ended + kStampAfterEventNs);
  EXPECT_GE(s.end_ns, began + kSpinNs - kStampAfterEventNs) << "the spin lasted 50 ms from its resume";
  EXPECT_GE(s.duration_ns, 45'000'000);

  ASSERT_FALSE(s.samples.empty());
  bool named = false;
  for (const auto& sample : s.samples) {
    EXPECT_GE(sample.time_ns, s.start_ns);
    EXPECT_LE(sample.time_ns, s.end_ns + kStampAfterEventNs);
    named = named || stack_names(*t, sample.stack, "spin_without_yielding");
  }
  EXPECT_TRUE(named) << "no sample names spin_without_yielding";
}

TEST_F(StallTraceTest, SessionStopsTheMonitorItStarted) {
  ASSERT_TRUE(trace::start({.path = temp_trace_path("monitor")}));
  const std::string path = trace::path();
  EXPECT_TRUE(gs::stall_monitor_running());
  trace::stop();
  EXPECT_FALSE(gs::stall_monitor_running());
  ::unlink(path.c_str());
}

TEST_F(StallTraceTest, ProgramsOwnMonitorIsLeftRunning) {
  gs::start_stall_monitor();
  ASSERT_TRUE(trace::start({.path = temp_trace_path("own-monitor")}));
  const std::string path = trace::path();
  trace::stop();
  EXPECT_TRUE(gs::stall_monitor_running());
  gs::stop_stall_monitor();
  ::unlink(path.c_str());
}

TEST_F(StallTraceTest, SessionCanOptOutOfTheMonitor) {
  trace::Options options;
  options.stall_monitor = false;
  bool running = true;
  ScopedEnv threshold("GREENSCOPE_STALL_MS", "10");
  auto t = record(
      [&] {
        running = gs::stall_monitor_running();
        auto g = gs::spawn([] { spin_without_yielding(30ms); });
        g.join();
      },
      options);
  ASSERT_TRUE(t);
  EXPECT_FALSE(running);
  EXPECT_TRUE(t->stalls().empty());
}

}  // namespace
}  // namespace gs::test
