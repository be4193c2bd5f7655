// stall_trace_test.cpp: tracing starts the runtime's stall monitor, and its
// stalls come back from the trace: when, who, what kind, and stack samples
// that name the code that held the thread.
#include <stdlib.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "greenscope/runtime.h"
#include "greenscope/stall.h"
#include "test_support.h"
#include "trace_test_support.h"

namespace gs::test {
namespace {

using traceio::EventType;

// ScopedEnv sets an environment variable for one test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_, old_->c_str(), 1); else ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class StallTraceTest : public RuntimeTest {
 protected:
  void SetUp() override {
    RuntimeTest::SetUp();
    if (gs::stall_monitor_running()) GTEST_SKIP() << "a stall monitor runs already, with its own threshold";
  }
};

// spin_without_yielding() holds the thread: a stall.
[[gnu::noinline]] void spin_without_yielding(std::chrono::milliseconds d) {
  const auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) asm volatile("" ::: "memory");
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
  auto t = record([&] {
    auto g = gs::spawn([] { spin_without_yielding(50ms); });
    spinner = g.id();
    g.join();
    gs::sleep(30ms);  // the monitor reports the end within a few ms
  });
  ASSERT_TRUE(t);
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
  // next intercepted call, when a pending sample's handler runs there.
  const std::int64_t began = switch_time(*t, [&](const traceio::Event& e) { return e.b == spinner; });
  const std::int64_t ended = switch_time(*t, [&](const traceio::Event& e) {
    return e.a == spinner && e.code == static_cast<std::uint8_t>(traceio::Reason::Exit);
  });
  ASSERT_GE(began, 0);
  ASSERT_GE(ended, 0);
  constexpr std::int64_t kSpinNs = 50'000'000;
  constexpr std::int64_t kStampAfterEventNs = 200'000;  // clock reads in a different order
#if defined(GS_SANITIZE_THREAD) || defined(GS_SANITIZE_ADDRESS)
  constexpr std::int64_t kPreemptedNs = 20'000'000;
#else
  constexpr std::int64_t kPreemptedNs = 10'000'000;
#endif
  EXPECT_LE(s.start_ns, began + kStampAfterEventNs);
  EXPECT_GE(s.start_ns, began - kPreemptedNs);
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
