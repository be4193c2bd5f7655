// stall_test.cpp: the stall monitor against programs with known
// non-cooperative code. Each stall must be reported with a duration within
// 10% of what the program measured around its blocking code, and with the
// guilty function on a sampled stack; a program that only waits must report
// nothing.
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "greenscope/observer.h"
#include "greenscope/patch.h"
#include "greenscope/stacks.h"
#include "greenscope/stall.h"
#include "test_support.h"

namespace gs::test {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t ns_since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
}

// The guilty functions: noinline, so that each has a frame of its own.
[[gnu::noinline]] void spin_for(std::chrono::milliseconds d) {
  const auto end = Clock::now() + d;
  while (Clock::now() < end) {
    asm volatile("" ::: "memory");
  }
}

[[gnu::noinline]] ssize_t blocking_pipe_read(int fd, char* buf) {
  const ssize_t r = ::read(fd, buf, 1);
  asm volatile("" ::: "memory");
  return r;
}

[[gnu::noinline]] void sleepy_callback(int ms) {
  ::usleep(static_cast<useconds_t>(ms) * 1000);
  asm volatile("" ::: "memory");
}

[[gnu::noinline]] void lock_contended(std::mutex& m) {
  m.lock();
  asm volatile("" ::: "memory");
  m.unlock();
}

class StallTest : public RuntimeTest {
 protected:
  void SetUp() override {
    RuntimeTest::SetUp();
    gs::on_stall([this](const StallReport& r) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (r.ended) ended_.push_back(r);
      else ongoing_.push_back(r);
      cv_.notify_all();
    });
  }
  void TearDown() override {
    gs::stop_stall_monitor();
    gs::on_stall(nullptr);
    RuntimeTest::TearDown();
  }

  void start(std::chrono::milliseconds threshold) {
    StallOptions o;
    o.threshold = threshold;
    o.sample_interval = std::chrono::milliseconds(2);
    gs::start_stall_monitor(o);
  }

  // stalls_where() waits (in real time, off the hub) for the stalls that
  // match, and returns them all: the test's main
  // greenlet may stall too (starting a thread under TSan takes ~20 ms).
  std::vector<StallReport> stalls_where(const std::function<bool(const StallReport&)>& match) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait_for(lock, std::chrono::seconds(5), [&] {
      return std::any_of(ended_.begin(), ended_.end(), match);
    });
    std::vector<StallReport> out;
    for (const StallReport& r : ended_)
      if (match(r)) out.push_back(r);
    return out;
  }
  std::vector<StallReport> stalls_of(std::uint64_t greenlet) {
    return stalls_where([greenlet](const StallReport& r) { return r.greenlet_id == greenlet; });
  }
  // reported() is every stall reported so far, printed: what a failed
  // expectation about them shows.
  std::string reported() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::string out = std::to_string(ended_.size()) + " stall(s) reported:\n";
    for (const StallReport& r : ended_) out += gs::format_stall(r) + "\n";
    return out;
  }
  std::vector<StallReport> ongoing() {
    std::lock_guard<std::mutex> lock(mutex_);
    return ongoing_;
  }

  // expect_measured() checks the report's duration against the program's
  // own measurement (10%) and that `guilty` is on a sampled stack.
  static void expect_report(const StallReport& r, std::int64_t measured_ns, const char* guilty) {
    const double ratio = static_cast<double>(r.duration.count()) / static_cast<double>(measured_ns);
    EXPECT_GT(ratio, 0.9) << "reported " << r.duration.count() << " ns, measured " << measured_ns;
    EXPECT_LT(ratio, 1.1) << "reported " << r.duration.count() << " ns, measured " << measured_ns;
    if (guilty == nullptr) return;
    ASSERT_FALSE(r.samples.empty());
    bool found = false;
    for (const StallSample& s : r.samples)
      if (gs::format_stack(s.stack).find(guilty) != std::string::npos) found = true;
    EXPECT_TRUE(found) << "no sample names " << guilty << ":\n" << gs::format_stall(r);
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<StallReport> ended_, ongoing_;
};

TEST_F(StallTest, BusyLoopInAGreenletIsACpuBoundStallOfThatGreenlet) {
  start(std::chrono::milliseconds(10));
  std::int64_t measured = 0;
  auto g = gs::spawn([&] {
    const auto t0 = Clock::now();
    spin_for(std::chrono::milliseconds(80));
    measured = ns_since(t0);
  });
  g.set_name("spinner");
  g.join();
  const auto stalls = stalls_of(g.id());
  ASSERT_EQ(stalls.size(), 1u);
  const StallReport& r = stalls[0];
  EXPECT_EQ(r.owner, StallOwner::Greenlet);
  EXPECT_EQ(r.greenlet_id, g.id());
  EXPECT_NE(r.culprit.find("spinner"), std::string::npos) << r.culprit;
  EXPECT_EQ(r.kind, StallKind::CpuBound) << gs::format_stall(r);
  expect_report(r, measured, "spin_for");
}

TEST_F(StallTest, UnpatchedBlockingPipeReadIsABlockedStall) {
  start(std::chrono::milliseconds(10));
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(80));
    EXPECT_EQ(::write(fds[1], "x", 1), 1);
  });
  std::int64_t measured = 0;
  auto g = gs::spawn([&] {
    char c;
    const auto t0 = Clock::now();
    EXPECT_EQ(blocking_pipe_read(fds[0], &c), 1);
    measured = ns_since(t0);
  });
  g.join();
  writer.join();
  ::close(fds[0]);
  ::close(fds[1]);
  const auto stalls = stalls_of(g.id());
  ASSERT_EQ(stalls.size(), 1u);
  EXPECT_EQ(stalls[0].kind, StallKind::Blocked);
  expect_report(stalls[0], measured, "blocking_pipe_read");
}

TEST_F(StallTest, SleepInsideAHubCallbackIsAStallOfTheCallback) {
  start(std::chrono::milliseconds(10));
  std::int64_t measured = 0;
  gs::get_hub().run_callback([&] {
    const auto t0 = Clock::now();
    sleepy_callback(60);
    measured = ns_since(t0);
  });
  gs::sleep(std::chrono::milliseconds(100));
  const auto stalls = stalls_where([](const StallReport& r) { return r.owner == StallOwner::Callback; });
  ASSERT_EQ(stalls.size(), 1u) << reported();
  EXPECT_EQ(stalls[0].owner, StallOwner::Callback);
  EXPECT_EQ(stalls[0].kind, StallKind::Blocked);
  expect_report(stalls[0], measured, "sleepy_callback");
}

TEST_F(StallTest, MutexHeldByAnotherThreadIsABlockedStall) {
  start(std::chrono::milliseconds(10));
  std::mutex m;
  std::atomic<bool> held{false};
  std::thread holder([&] {
    std::lock_guard<std::mutex> lock(m);
    held = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(80));
  });
  while (!held) std::this_thread::yield();
  std::int64_t measured = 0;
  auto g = gs::spawn([&] {
    const auto t0 = Clock::now();
    lock_contended(m);
    measured = ns_since(t0);
  });
  g.join();
  holder.join();
  const auto stalls = stalls_of(g.id());
  ASSERT_EQ(stalls.size(), 1u);
  EXPECT_EQ(stalls[0].kind, StallKind::Blocked);
#if defined(GS_SANITIZE_THREAD)
  // TSan runs signal handlers late, once its pthread_mutex_lock interceptor
  // returns, with a copy of the context taken when the signal arrived: the
  // sample then shows code after the stall, and the monitor drops it. So
  // the stack is not checked here; the duration and the kind still are.
  expect_report(stalls[0], measured, nullptr);
#else
  expect_report(stalls[0], measured, "lock_contended");
#endif
}

TEST_F(StallTest, OneMillisecondThresholdCatchesAThreeMillisecondStall) {
  start(std::chrono::milliseconds(1));
  std::int64_t measured = 0;
  auto g = gs::spawn([&] {
    const auto t0 = Clock::now();
    spin_for(std::chrono::milliseconds(3));
    measured = ns_since(t0);
  });
  g.join();
  gs::sleep(std::chrono::milliseconds(20));
  const auto stalls = stalls_of(g.id());
  std::size_t matching = 0;
  for (const StallReport& r : stalls) {
    if (r.greenlet_id != g.id()) continue;
    ++matching;
    const double ratio = static_cast<double>(r.duration.count()) / static_cast<double>(measured);
    EXPECT_GT(ratio, 0.9) << "reported " << r.duration.count() << " ns, measured " << measured;
#if !defined(GS_SANITIZE_THREAD)
    // Under TSan a fiber switch itself takes a good part of a millisecond,
    // and the stall rightly runs from the switch into the greenlet to the
    // switch out of it: 3 ms of spin showed as 3.7 ms (ratio 1.235). So the
    // 10% bound is checked in the other passes; under TSan, that the stall
    // is caught once and covers the spin.
    EXPECT_LT(ratio, 1.1) << "reported " << r.duration.count() << " ns, measured " << measured;
#endif
  }
  EXPECT_EQ(matching, 1u);
}

// kIdleThreshold: sanitizer runtimes themselves hold the thread for ~10 ms
// now and then (TSan sets up a trace per new fiber), which is a real stall
// of those builds; the property under test is the same at 50 ms.
#if defined(GS_SANITIZE_THREAD) || defined(GS_SANITIZE_ADDRESS)
constexpr std::chrono::milliseconds kIdleThreshold{50};
#else
constexpr std::chrono::milliseconds kIdleThreshold{10};
#endif

TEST_F(StallTest, ProgramThatOnlyWaitsReportsNoStall) {
  start(kIdleThreshold);
  std::vector<gs::Greenlet<void>> sleepers;
  for (int i = 0; i < 200; ++i) {
    sleepers.push_back(gs::spawn([i] {
      for (int k = 0; k < 10; ++k) gs::sleep(std::chrono::milliseconds(5 + (i * 7 + k) % 40));
    }));
  }
  gs::sleep(std::chrono::milliseconds(1500));  // and idle
  for (auto& s : sleepers) s.join();
  gs::sleep(std::chrono::milliseconds(50));
  std::lock_guard<std::mutex> lock(mutex_);
  // A loaded machine can keep this thread off the CPU past the threshold
  // (seen under TSan with both cores busy: 297 ms, with 94 us of CPU in the
  // 247 ms measured and /proc finding it runnable, not in a syscall). That
  // freeze is the machine's, not this program's, and its report says so in
  // its own figures; it is set aside here and printed. Any other report is
  // a false alarm. (The monitor still calls such a freeze cpu-bound: telling
  // it apart is the load-accuracy work of issue 13.)
  const auto starved = [](const StallReport& r) {
    return r.kind == StallKind::CpuBound && r.cpu_window >= std::chrono::milliseconds(1) &&
           r.cpu_time * 10 < r.cpu_window;
  };
  for (const auto* list : {&ended_, &ongoing_}) {
    for (const StallReport& r : *list) {
      if (starved(r)) std::printf("set aside, the thread was kept off the CPU:\n%s\n", gs::format_stall(r).c_str());
      else ADD_FAILURE() << "a program that only waits was reported stalled:\n" << gs::format_stall(r);
    }
  }
}

TEST_F(StallTest, AStallThatGoesOnIsReportedBeforeItEnds) {
  start(std::chrono::milliseconds(10));
  auto g = gs::spawn([&] {
    // Spin until the monitor has reported the stall as still going: a
    // stall that never ended would be reported the same way.
    const auto give_up = Clock::now() + std::chrono::seconds(5);
    while (ongoing().empty() && Clock::now() < give_up) spin_for(std::chrono::milliseconds(5));
  });
  g.join();
  const auto going = ongoing();
  ASSERT_FALSE(going.empty());
  EXPECT_FALSE(going[0].ended);
  EXPECT_GE(going[0].duration, std::chrono::seconds(1));
  EXPECT_EQ(going[0].greenlet_id, g.id());
  const auto stalls = stalls_of(g.id());
  ASSERT_EQ(stalls.size(), 1u);
  EXPECT_GE(stalls[0].duration, going[0].duration);
}

TEST_F(StallTest, ThresholdBelowOneMillisecondIsAUsageError) {
  StallOptions o;
  o.threshold = std::chrono::milliseconds(0);
  EXPECT_THROW(gs::start_stall_monitor(o), gs::UsageError);
}

// BlockingProbe records on_blocking_call().
struct BlockingProbe : Observer {
  struct Call {
    std::string call;
    std::int64_t ns;
    StackTrace stack;
  };
  std::vector<Call> calls;
  void on_blocking_call(const char* call, int, std::int64_t ns, const std::uintptr_t* stack,
                        std::size_t depth) override {
    calls.push_back({call, ns, StackTrace(stack, stack + depth)});
  }
};

[[gnu::noinline]] void unpatched_sleep_5ms() {
  timespec ts{0, 5'000'000};
  ::clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, nullptr);
  asm volatile("" ::: "memory");
}

TEST_F(StallTest, PatchAllReportsACallThatStillBlocks) {
  start(std::chrono::milliseconds(100));  // blocking threshold: 1 ms by default
  BlockingProbe probe;
  gs::set_observer(&probe);
  gs::patch_all();
  std::int64_t measured = 0;
  auto g = gs::spawn([&] {
    const auto t0 = Clock::now();
    unpatched_sleep_5ms();
    measured = ns_since(t0);
  });
  g.join();
  gs::unpatch_all();
  gs::set_observer(nullptr);
  ASSERT_EQ(probe.calls.size(), 1u);
  EXPECT_EQ(probe.calls[0].call, "clock_nanosleep()");
  EXPECT_GE(probe.calls[0].ns, 5'000'000);
  EXPECT_LE(probe.calls[0].ns, measured);
  EXPECT_NE(gs::format_stack(probe.calls[0].stack).find("unpatched_sleep_5ms"), std::string::npos)
      << gs::format_stack(probe.calls[0].stack);
}

// LagProbe records on_loop_lag().
struct LagProbe : Observer {
  std::vector<std::int64_t> lags;
  void on_loop_lag(const Hub&, std::int64_t lag_ns) override { lags.push_back(lag_ns); }
};

TEST_F(StallTest, ManyShortGreenletsTogetherAreLoopLagNotAStall) {
  start(std::chrono::milliseconds(20));
  LagProbe probe;
  gs::sleep(std::chrono::milliseconds(1));  // a poll first: the lag is measured from it
  gs::set_observer(&probe);
  std::vector<gs::Greenlet<void>> workers;
  for (int i = 0; i < 40; ++i) workers.push_back(gs::spawn([] { spin_for(std::chrono::milliseconds(2)); }));
  for (auto& w : workers) w.join();
  gs::sleep(std::chrono::milliseconds(30));
  gs::set_observer(nullptr);
  ASSERT_FALSE(probe.lags.empty());
  const std::int64_t longest = *std::max_element(probe.lags.begin(), probe.lags.end());
  EXPECT_GE(longest, 80'000'000);  // 40 x 2 ms between two polls
  EXPECT_LT(longest, 1'000'000'000);
  std::lock_guard<std::mutex> lock(mutex_);
  EXPECT_TRUE(ended_.empty()) << "no single greenlet held the thread for 20 ms";
}

[[gnu::noinline]] void wait_for_the_event(gs::Event& e) {
  e.wait();
  asm volatile("" ::: "memory");
}

TEST_F(StallTest, RunInfoListsEveryGreenletWithItsStack) {
  gs::Event e;
  auto g = gs::spawn([&] { wait_for_the_event(e); });
  g.set_name("waiter");
  gs::sleep(std::chrono::milliseconds(1));
  const std::string info = gs::format_run_info();
  EXPECT_NE(info.find("Greenlet 'waiter'"), std::string::npos) << info;
  EXPECT_NE(info.find("waiting, event"), std::string::npos) << info;
  EXPECT_NE(info.find("wait_for_the_event"), std::string::npos) << info;
  EXPECT_NE(info.find("Greenlet 'main'"), std::string::npos) << info;
  e.set();
  g.join();
}

// recurse_deeply() recurses until the stack runs out (the limit is only
// there so that the compiler cannot prove the recursion infinite).
[[gnu::noinline]] int recurse_deeply(int depth, int limit) {
  volatile char pad[512];
  pad[0] = static_cast<char>(depth);
  if (depth >= limit) return pad[0];
  return recurse_deeply(depth + 1, limit) + pad[0];
}

TEST(StallDeathTest, StackOverflowInAGreenletReportsItByName) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        gs::start_stall_monitor();
        auto g = gs::spawn([] { recurse_deeply(0, 1 << 30); });
        g.set_name("deep-diver");
        g.join();
      },
      "stack overflow in greenlet 'deep-diver'");
}

}  // namespace
}  // namespace gs::test
