// stall_test.cpp: the stall monitor against programs with known
// non-cooperative code. Each stall must be reported with a duration within
// 10% of what the program measured around its blocking code, and with the
// guilty function on a sampled stack; a program that only waits must report
// nothing.
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <thread>

#include "greenscope/detail/clock.h"
#include "greenscope/observer.h"
#include "greenscope/patch.h"
#include "greenscope/stacks.h"
#include "greenscope/stall.h"
#include "beat.h"  // private: Readings, the window a missed stall is judged over
#include "test_support.h"

namespace gs::test {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t ns_since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
}

std::int64_t mono_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

#if defined(GS_SANITIZE_THREAD)
constexpr bool kTsan = true;
#else
constexpr bool kTsan = false;
#endif

// kGiveUp bounds every wait below for something the monitor must do, so
// that a monitor that never does it fails the test instead of hanging it.
constexpr std::chrono::seconds kGiveUp{60};

// in_kernel_text() lists, sample by sample, whether the monitor found the
// thread in a system call ('k', with its number) or running ('r'): what a
// stall's verdict rests on, shown when a verdict is not the expected one.
std::string in_kernel_text(const StallReport& r) {
  std::string out = "samples in the kernel (k) or running (r):";
  for (const StallSample& s : r.samples) out += s.in_syscall ? " k" + std::to_string(s.syscall) : " r";
  return out + "\n";
}

// names() is true if `function` is on the sample's stack.
bool names(const StallSample& s, const char* function) {
  return gs::format_stack(s.stack).find(function) != std::string::npos;
}

// SampleWatch learns, on the monitor's reporting thread, of every sample
// the monitor takes of a stall. A test's program then stalls until the
// monitor has sampled it as the test needs, not for a fixed time: a loaded
// machine can keep the monitor thread off the CPU for all of a fixed 80 ms,
// and the hub then finds the stall itself, at its end, with no sample; and a
// fixed time on another thread could run out before the program even began
// to stall.
class SampleWatch : public gs::Observer {
 public:
  using Match = std::function<bool(const StallReport&, const StallSample&)>;
  // arm() installs the watch as the observer. The fixture removes it once
  // the monitor, whose reporting thread calls it, has stopped.
  void arm(Match match) {
    match_ = std::move(match);
    gs::set_observer(this);
  }
  bool seen() const { return seen_.load(std::memory_order_acquire); }
  void on_stall_sample(const StallReport& r, const StallSample& s) override {
    if (!seen() && match_(r, s)) seen_.store(true, std::memory_order_release);
  }

 private:
  Match match_;
  std::atomic<bool> seen_{false};
};

// wait_for_sample() holds the calling thread (not a hub's) until `watch`
// has seen its sample and `at_least` has passed since `since` (a Clock
// reading's count, stored by the stalling program; 0 until then).
void wait_for_sample(const SampleWatch& watch, const std::atomic<Clock::rep>& since,
                     std::chrono::milliseconds at_least) {
  const auto give_up = Clock::now() + kGiveUp;
  while (Clock::now() < give_up) {
    const Clock::rep began = since.load(std::memory_order_acquire);
    if (watch.seen() && began != 0 && Clock::now() >= Clock::time_point(Clock::duration(began)) + at_least) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// HubClock tells a stall of the program's own making from one the machine
// made. Installed as the observer, it reads on the hub's thread, right
// after each stamp the hub makes (at every switch, and at each poll's begin
// and end: the tests that use it run no callback and no signal or child
// watcher, the only other stamps), the tick clock, CLOCK_MONOTONIC, and how
// long the thread has so far waited on a run queue: runnable, but kept off
// the CPU by the machine (/proc/thread-self/schedstat, second figure). The
// kernel adds a wait to that figure when it ends; the thread reads it
// itself, running, so none is in progress and the figure is exact. A
// stall's own time is its wall time less that wait: the time the thread ran
// or was blocked in a call of its own. Under the threshold, the stall was
// the machine's doing.
class HubClock : public gs::Observer {
 public:
  ~HubClock() override {
    if (fd_ >= 0) ::close(fd_);
  }
  // install() takes a first reading and installs the clock as the
  // observer; on the hub's thread. The fixture removes it.
  void install() {
    thread_ = std::this_thread::get_id();
    fd_ = ::open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    readings_.reserve(1 << 16);
    record(Kind::Other);
    gs::set_observer(this);
  }
  void on_switch(const GreenletInfo&, const GreenletInfo&, SwitchReason) override { record(Kind::Other); }
  void on_poll_begin(const Hub&) override { record(Kind::PollBegin); }
  void on_poll_end(const Hub&, int) override { record(Kind::PollEnd); }
  void on_loop_lag(const Hub&, std::int64_t lag_ns) override { lags.push_back(lag_ns); }

  // latest_poll_end() is the index of the latest reading at a poll's end,
  // next_poll_begin() that of the first at a poll's begin after `after`;
  // size() for none.
  std::size_t latest_poll_end() const {
    for (std::size_t k = readings_.size(); k-- > 0;)
      if (readings_[k].kind == Kind::PollEnd) return k;
    return readings_.size();
  }
  std::size_t next_poll_begin(std::size_t after) const {
    for (std::size_t k = after + 1; k < readings_.size(); ++k)
      if (readings_[k].kind == Kind::PollBegin) return k;
    return readings_.size();
  }

  // own_ns() bounds from above the own time of a stall that held the
  // thread from tick `from` to tick `to`: over the readings around it, the
  // last one taken wholly before it began and the first wholly after it
  // ended. -1 if there are none.
  std::int64_t own_ns(std::uint64_t from, std::uint64_t to) const {
    const std::size_t none = readings_.size();
    std::size_t a = none, b = none;
    for (std::size_t k = 0; k < readings_.size(); ++k) {
      if (readings_[k].ticks_after <= from) a = k;
      if (readings_[k].ticks_before >= to) {
        b = k;
        break;
      }
    }
    if (a == none || b == none) return -1;
    std::int64_t slack = 0;
    // A stall never holds a poll: one begun after the reading at a poll's
    // begin began at that poll's end stamp, after which only the hook ran
    // before the next reading.
    if (readings_[a].kind == Kind::PollBegin && a + 1 < b && readings_[a + 1].kind == Kind::PollEnd) {
      ++a;
      slack = kHookSlack;
    }
    return own_between(a, b) + slack;
  }

  // longest_own_ns() bounds from above the own time of every segment from
  // reading `first` to reading `last` (readings k and k + 1 follow the
  // stamps that begin and end one) and returns the longest; -1 if the
  // readings are not there.
  std::int64_t longest_own_ns(std::size_t first, std::size_t last) const {
    if (first >= last || last >= readings_.size()) return -1;
    std::int64_t longest = 0;
    for (std::size_t k = first; k < last; ++k) {
      if (readings_[k].kind == Kind::PollBegin) continue;  // to the next reading: a poll
      longest = std::max(longest, own_between(k, k + 1) + kHookSlack);
    }
    return longest;
  }

  std::vector<std::int64_t> lags;  // on_loop_lag()'s figures, in ns

 private:
  enum class Kind : std::uint8_t { Other, PollBegin, PollEnd };
  struct Reading {
    Kind kind;
    std::uint64_t ticks_before, ticks_after;
    std::int64_t mono_before, mono_after;
    std::int64_t waited_ns;
  };
  // From a stamp to the reading after it only the hook runs: microseconds
  // of the thread's own time; kHookSlack is far above that.
  static constexpr std::int64_t kHookSlack = 1'000'000;

  void record(Kind kind) {
    if (fd_ < 0 || std::this_thread::get_id() != thread_) return;
    Reading x{};
    x.kind = kind;
    x.ticks_before = gs::detail::clock_ticks();
    x.mono_before = mono_ns();
    char buf[128];
    const ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
    x.mono_after = mono_ns();
    x.ticks_after = gs::detail::clock_ticks();
    if (n <= 0) return;
    buf[n] = '\0';
    unsigned long long ran = 0, waited = 0;
    if (std::sscanf(buf, "%llu %llu", &ran, &waited) != 2) return;
    x.waited_ns = static_cast<std::int64_t>(waited);
    readings_.push_back(x);
  }
  // own_between() bounds the thread's own time from reading a to reading b.
  std::int64_t own_between(std::size_t a, std::size_t b) const {
    return (readings_[b].mono_after - readings_[a].mono_before) - (readings_[b].waited_ns - readings_[a].waited_ns);
  }

  std::thread::id thread_;
  int fd_ = -1;
  std::vector<Reading> readings_;
};

// The guilty functions: noinline, so that each has a frame of its own.
// Given a watch, one goes on past its time until the watch has seen its
// sample.
[[gnu::noinline]] void spin_for(std::chrono::milliseconds d, const SampleWatch* until = nullptr) {
  const auto end = Clock::now() + d;
  while (Clock::now() < end) {
    asm volatile("" ::: "memory");
  }
  const auto give_up = end + kGiveUp;
  while (until != nullptr && !until->seen() && Clock::now() < give_up) {
    asm volatile("" ::: "memory");
  }
}

[[gnu::noinline]] ssize_t blocking_pipe_read(int fd, char* buf) {
  const ssize_t r = ::read(fd, buf, 1);
  asm volatile("" ::: "memory");
  return r;
}

[[gnu::noinline]] void sleepy_callback(int ms, const SampleWatch* until = nullptr) {
  ::usleep(static_cast<useconds_t>(ms) * 1000);
  const auto give_up = Clock::now() + kGiveUp;
  while (until != nullptr && !until->seen() && Clock::now() < give_up) ::usleep(1000);
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
    gs::stop_stall_monitor();  // joins the monitor's threads: no observer call is under way after it
    gs::set_observer(nullptr);
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

  // expect_report() checks the report's duration against the program's
  // own clocks: the stall covers the blocking code the program measured
  // (`measured_ns`, inside the greenlet), and lies within the time the
  // test's main greenlet was away from the hub's loop (`away_ns`, around
  // it), each with 1% for the tick clock's calibration. Those are exact
  // containments, whatever the machine's load: a loaded machine can take the
  // CPU away between the switch into the greenlet and its first clock read,
  // time that rightly counts in the stall (3 ms of spin was reported as
  // 3.31 ms once in 20 loaded runs, past the 10% this used to allow).
  // It also checks that `guilty` is on a sampled stack.
  static void expect_report(const StallReport& r, std::int64_t measured_ns, std::int64_t away_ns,
                            const char* guilty) {
    const auto reported = static_cast<double>(r.duration.count());
    EXPECT_GE(reported, static_cast<double>(measured_ns) * 0.99)
        << "reported " << r.duration.count() << " ns, the blocking code took " << measured_ns << " ns";
    EXPECT_LE(reported, static_cast<double>(away_ns) * 1.01)
        << "reported " << r.duration.count() << " ns, main was away " << away_ns << " ns";
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
  // Observers some tests install; members so that they outlive the
  // monitor's threads, which TearDown() stops.
  SampleWatch watch_;
  HubClock hub_clock_;
};

// A stall the hub found itself is judged from the monitor's last reading
// before it: a reading taken inside the stall (the monitor looked while it
// was still short) would judge it over its tail only.
TEST(StallReadings, AMissedStallIsJudgedFromTheReadingBeforeIt) {
  detail::Readings r;
  EXPECT_EQ(r.window_start(100).ticks, 0u);  // none yet
  r.take({50, 1'000, -1});
  EXPECT_EQ(r.window_start(100).ticks, 50u);
  r.take({120, 1'500, -1});  // inside a stall that began at 100
  EXPECT_EQ(r.window_start(100).ticks, 50u);
  EXPECT_EQ(r.window_start(130).ticks, 120u);  // a stall after both
  r.take({140, 1'600, -1});  // both kept readings inside it: the earlier
  EXPECT_EQ(r.window_start(100).ticks, 120u);
}

TEST_F(StallTest, BusyLoopInAGreenletIsACpuBoundStallOfThatGreenlet) {
  start(std::chrono::milliseconds(10));
  std::int64_t measured = 0;
  auto g = gs::spawn([&] {
    const auto t0 = Clock::now();
    spin_for(std::chrono::milliseconds(80), &watch_);  // and on, until sampled in spin_for
    measured = ns_since(t0);
  });
  g.set_name("spinner");
  const std::uint64_t id = g.id();
  watch_.arm([id](const StallReport& r, const StallSample& s) { return r.greenlet_id == id && names(s, "spin_for"); });
  const auto left = Clock::now();
  g.join();
  const std::int64_t away = ns_since(left);
  const auto stalls = stalls_of(g.id());
  ASSERT_EQ(stalls.size(), 1u);
  const StallReport& r = stalls[0];
  EXPECT_EQ(r.owner, StallOwner::Greenlet);
  EXPECT_EQ(r.greenlet_id, g.id());
  EXPECT_NE(r.culprit.find("spinner"), std::string::npos) << r.culprit;
  EXPECT_EQ(r.kind, StallKind::CpuBound) << gs::format_stall(r);
  expect_report(r, measured, away, "spin_for");
}

TEST_F(StallTest, UnpatchedBlockingPipeReadIsABlockedStall) {
  start(std::chrono::milliseconds(10));
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::atomic<Clock::rep> read_began{0};
  std::int64_t measured = 0;
  auto g = gs::spawn([&] {
    char c;
    const auto t0 = Clock::now();
    read_began.store(t0.time_since_epoch().count(), std::memory_order_release);
    EXPECT_EQ(blocking_pipe_read(fds[0], &c), 1);
    measured = ns_since(t0);
  });
  const std::uint64_t id = g.id();
  watch_.arm([id](const StallReport& r, const StallSample& s) {
    return r.greenlet_id == id && s.in_syscall && names(s, "blocking_pipe_read");
  });
  // The writer writes once the monitor has sampled g blocked in the read,
  // and 80 ms into it. Writing 80 ms after the writer's own start could
  // come before a late g read (its start waits for this thread to get to
  // join()), and then nothing stalled.
  std::thread writer([&] {
    wait_for_sample(watch_, read_began, std::chrono::milliseconds(80));
    EXPECT_EQ(::write(fds[1], "x", 1), 1);
  });
  const auto left = Clock::now();
  g.join();
  const std::int64_t away = ns_since(left);
  writer.join();
  ::close(fds[0]);
  ::close(fds[1]);
  const auto stalls = stalls_of(g.id());
  ASSERT_EQ(stalls.size(), 1u);
  EXPECT_EQ(stalls[0].kind, StallKind::Blocked);
  expect_report(stalls[0], measured, away, "blocking_pipe_read");
}

TEST_F(StallTest, SleepInsideAHubCallbackIsAStallOfTheCallback) {
  start(std::chrono::milliseconds(10));
  std::int64_t measured = 0;
  watch_.arm([](const StallReport& r, const StallSample& s) {
    return r.owner == StallOwner::Callback && names(s, "sleepy_callback");
  });
  gs::get_hub().run_callback([&] {
    const auto t0 = Clock::now();
    sleepy_callback(60, &watch_);  // and on, until sampled in sleepy_callback
    measured = ns_since(t0);
  });
  const auto left = Clock::now();
  gs::yield();  // the callback, queued first, runs first
  const std::int64_t away = ns_since(left);
  const auto stalls = stalls_where([](const StallReport& r) { return r.owner == StallOwner::Callback; });
  ASSERT_EQ(stalls.size(), 1u) << reported();
  EXPECT_EQ(stalls[0].owner, StallOwner::Callback);
  EXPECT_EQ(stalls[0].kind, StallKind::Blocked);
  expect_report(stalls[0], measured, away, "sleepy_callback");
}

TEST_F(StallTest, MutexHeldByAnotherThreadIsABlockedStall) {
  start(std::chrono::milliseconds(10));
  std::mutex m;
  std::atomic<bool> held{false};
  std::atomic<Clock::rep> lock_began{0};
  std::int64_t measured = 0;
  auto g = gs::spawn([&] {
    const auto t0 = Clock::now();
    lock_began.store(t0.time_since_epoch().count(), std::memory_order_release);
    lock_contended(m);
    measured = ns_since(t0);
  });
  const std::uint64_t id = g.id();
  // Under TSan the sample of a thread waiting for a mutex has no stack (see
  // below): there, one taken in the kernel is enough.
  watch_.arm([id](const StallReport& r, const StallSample& s) {
    return r.greenlet_id == id && s.in_syscall && (kTsan || names(s, "lock_contended"));
  });
  // The holder lets go once the monitor has sampled g waiting for the lock,
  // and 80 ms into that. Holding it 80 ms from the holder's own start could
  // end before a late g asked for it, and then nothing stalled.
  std::thread holder([&] {
    std::lock_guard<std::mutex> lock(m);
    held = true;
    wait_for_sample(watch_, lock_began, std::chrono::milliseconds(80));
  });
  while (!held) std::this_thread::yield();
  const auto left = Clock::now();
  g.join();
  const std::int64_t away = ns_since(left);
  holder.join();
  const auto stalls = stalls_of(g.id());
  ASSERT_EQ(stalls.size(), 1u);
  EXPECT_EQ(stalls[0].kind, StallKind::Blocked) << gs::format_stall(stalls[0]) << in_kernel_text(stalls[0]);
#if defined(GS_SANITIZE_THREAD)
  // TSan runs signal handlers late, once its pthread_mutex_lock interceptor
  // returns, with a copy of the context taken when the signal arrived: the
  // sample then shows code after the stall, and the monitor drops it. So
  // the stack is not checked here; the duration and the kind still are.
  expect_report(stalls[0], measured, away, nullptr);
#else
  expect_report(stalls[0], measured, away, "lock_contended");
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
  const auto left = Clock::now();
  g.join();
  const std::int64_t away = ns_since(left);
  gs::sleep(std::chrono::milliseconds(20));
  const auto stalls = stalls_of(g.id());
  std::size_t matching = 0;
  for (const StallReport& r : stalls) {
    if (r.greenlet_id != g.id()) continue;
    ++matching;
    expect_report(r, measured, away, nullptr);
  }
  EXPECT_EQ(matching, 1u);
}

// Stalls that end about when the monitor flags them: the hub may read the
// flag a moment before the monitor sets it and report the stall itself,
// while the monitor goes on with its own report of it. Each must still be
// reported once, ended, with no sample taken after its end. (Before the
// fix, the monitor's report never ended, and it sampled code that ran after
// the stall.) Spins of 1.1 to 1.5 ms against a 1 ms threshold are all
// stalls; many end within a monitor period of being flagged.
// kTickConversionSlackNs: a report's times are tick readings converted to
// CLOCK_MONOTONIC with a rate calibrated as the process runs (some ppm off
// over the second since the last anchor), a sample's time is read from
// CLOCK_MONOTONIC directly.
constexpr std::int64_t kTickConversionSlackNs = 50'000;

TEST_F(StallTest, StallsEndingAsTheMonitorFlagsThemAreEachReportedOnce) {
  start(std::chrono::milliseconds(1));
  constexpr int kStalls = 300;
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < kStalls; ++i) {
    const auto spin = std::chrono::microseconds(1100 + (i * 37) % 400);
    auto g = gs::spawn([spin] {
      const auto end = Clock::now() + spin;
      while (Clock::now() < end) asm volatile("" ::: "memory");
    });
    g.join();
    ids.push_back(g.id());
  }
  gs::stop_stall_monitor();  // settles every report
  std::lock_guard<std::mutex> lock(mutex_);
  for (const std::uint64_t id : ids) {
    std::size_t ended = 0;
    for (const StallReport& r : ended_) {
      if (r.greenlet_id != id) continue;
      ++ended;
      for (const StallSample& s : r.samples) {
        EXPECT_GE(s.mono_ns, r.start_mono_ns) << gs::format_stall(r);
        EXPECT_LE(s.mono_ns, r.end_mono_ns + kTickConversionSlackNs) << gs::format_stall(r);
      }
    }
    EXPECT_EQ(ended, 1u) << "greenlet " << id;
    for (const StallReport& r : ongoing_)
      EXPECT_NE(r.greenlet_id, id) << "never ended: " << gs::format_stall(r);
  }
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
  hub_clock_.install();
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
  // freeze is the machine's, not this program's; it is set aside here and
  // printed. The report's own figures show it when the monitor caught the
  // freeze under way (starved, below), but not when the hub found the stall
  // itself at its end (the monitor thread kept off the CPU too: no figures)
  // or when it ended just as the monitor came (a window under 1 ms); the
  // hub's run-queue figures show it in every case: a stall of under the
  // threshold of the thread's own time (HubClock). Any other report is a
  // false alarm. (The monitor still calls such a freeze cpu-bound: telling
  // it apart is the load-accuracy work of issue 13.)
  const auto starved = [](const StallReport& r) {
    return r.kind == StallKind::CpuBound && r.cpu_window >= std::chrono::milliseconds(1) &&
           r.cpu_time * 10 < r.cpu_window;
  };
  // own_of() is the report's stall's own time (a bound from above), -1 if
  // unknown; a report of a stall still going is judged by its end's report.
  const auto own_of = [&](const StallReport& r) -> std::int64_t {
    const StallReport* whole = &r;
    for (const StallReport& e : ended_)
      if (!r.ended && e.id == r.id) whole = &e;
    return whole->ended ? hub_clock_.own_ns(whole->start_ticks, whole->end_ticks) : -1;
  };
  const std::int64_t threshold_ns = std::chrono::nanoseconds(kIdleThreshold).count();
  for (const auto* list : {&ended_, &ongoing_}) {
    for (const StallReport& r : *list) {
      const std::int64_t own = own_of(r);
      if (starved(r) || (own >= 0 && own < threshold_ns)) {
        std::printf("set aside, the thread was kept off the CPU (%lld ns of its own):\n%s\n",
                    static_cast<long long>(own), gs::format_stall(r).c_str());
      } else {
        ADD_FAILURE() << "a program that only waits was reported stalled (" << own << " ns of its own):\n"
                      << gs::format_stall(r);
      }
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

// monitor_wakeups() is how many times the stall monitor's thread (named
// gs-monitor) has slept and been woken: its voluntary context switches
// (being preempted is not a wake-up). -1 if there is no such thread.
long monitor_wakeups() {
  DIR* tasks = ::opendir("/proc/self/task");
  if (tasks == nullptr) return -1;
  long wakeups = -1;
  while (dirent* e = ::readdir(tasks)) {
    if (e->d_name[0] == '.') continue;
    const std::string dir = std::string("/proc/self/task/") + e->d_name;
    std::ifstream comm(dir + "/comm");
    std::string name;
    if (!std::getline(comm, name) || name != "gs-monitor") continue;
    std::ifstream status(dir + "/status");
    wakeups = 0;
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0) wakeups += std::stol(line.substr(line.find(':') + 1));
    }
  }
  ::closedir(tasks);
  return wakeups;
}

TEST_F(StallTest, ABusyHubWakesTheMonitorAboutOncePerThreshold) {
  // The monitor sleeps until the hub's current segment would become a stall
  // or, when the hub has moved on, a threshold after it last looked: a hub
  // that switches all the time costs it about one wake-up per threshold
  // (every quarter threshold before: 200 in the 400 ms below).
  const auto threshold = std::chrono::milliseconds(20);
  start(threshold);
  gs::sleep(std::chrono::milliseconds(50));  // the monitor has started and slept
  const long before = monitor_wakeups();
  ASSERT_GE(before, 0) << "no thread named gs-monitor";
  const auto t0 = Clock::now();
  std::vector<gs::Greenlet<void>> pair;
  for (int i = 0; i < 2; ++i)
    pair.push_back(gs::spawn([t0] {
      while (Clock::now() - t0 < std::chrono::milliseconds(400)) gs::yield();
    }));
  for (auto& g : pair) g.join();
  const long wakeups = monitor_wakeups() - before;
  const std::int64_t elapsed_ns = ns_since(t0);
  // A loaded machine can hold the hub past the threshold mid-switch: each
  // such stall is sampled every 2 ms while it lasts, which wakes the
  // monitor too.
  long allowed = 2 * static_cast<long>(elapsed_ns / std::chrono::nanoseconds(threshold).count()) + 4;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const StallReport& r : ended_) allowed += static_cast<long>(r.duration / std::chrono::milliseconds(2)) + 2;
  }
  EXPECT_LE(wakeups, allowed) << "in " << elapsed_ns / 1'000'000 << " ms of switching\n" << reported();
  EXPECT_GE(wakeups, 1) << "the monitor never looked at the hub";
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

// kLagThreshold: 40 greenlets of 2 ms each between two polls lag the loop
// by 80 ms, over the threshold, each one far under it. Under the
// sanitizers, whose runtimes hold the thread ~10 ms now and then (see
// kIdleThreshold), it is 50 ms: still under the 80.
#if defined(GS_SANITIZE_THREAD) || defined(GS_SANITIZE_ADDRESS)
constexpr std::chrono::milliseconds kLagThreshold{50};
#else
constexpr std::chrono::milliseconds kLagThreshold{20};
#endif

TEST_F(StallTest, ManyShortGreenletsTogetherAreLoopLagNotAStall) {
  start(kLagThreshold);
  hub_clock_.install();
  // The gap between two polls is loop lag when no single stall explains it
  // (the gap less its longest stall is over the threshold), so all 80 ms of
  // it are lag, even on a loaded machine that stretches a 2 ms greenlet past
  // the threshold. Such a stretched greenlet is a stall by wall clock, and
  // rightly; it must be the machine's: the hub's run-queue figures
  // (HubClock) show that no segment held the thread for the threshold of
  // its own time. A runtime that makes a stall of its own, or loses the lag,
  // fails.
  const std::int64_t threshold_ns = std::chrono::nanoseconds(kLagThreshold).count();
  const auto left = Clock::now();
  gs::sleep(std::chrono::milliseconds(1));  // a poll first: the lag is measured from it
  const std::size_t lags_before = hub_clock_.lags.size();
  const std::size_t first = hub_clock_.latest_poll_end();  // the gap begins at that poll's end
  const std::uint64_t workers_began = gs::detail::clock_ticks();
  std::vector<gs::Greenlet<void>> workers;
  for (int i = 0; i < 40; ++i) workers.push_back(gs::spawn([] { spin_for(std::chrono::milliseconds(2)); }));
  for (auto& w : workers) w.join();
  const std::uint64_t workers_ended = gs::detail::clock_ticks();
  gs::sleep(std::chrono::milliseconds(30));
  const std::int64_t away = ns_since(left);
  ASSERT_GT(hub_clock_.lags.size(), lags_before) << "no loop lag for 40 x 2 ms between two polls\n" << reported();
  const std::int64_t longest = *std::max_element(hub_clock_.lags.begin() + static_cast<std::ptrdiff_t>(lags_before),
                                                 hub_clock_.lags.end());
  EXPECT_GE(longest, 80'000'000);  // 40 x 2 ms between two polls
  // The gap lies within the time main was away (1% for the tick clock's
  // calibration).
  EXPECT_LE(static_cast<double>(longest), static_cast<double>(away) * 1.01) << "main was away " << away << " ns";
  bool stalled = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const StallReport& r : ended_) stalled = stalled || (r.end_ticks > workers_began && r.start_ticks < workers_ended);
  }
  if (!stalled) return;
  const std::int64_t own = hub_clock_.longest_own_ns(first, hub_clock_.next_poll_begin(first));
  ASSERT_GE(own, 0) << "a stall between the two polls, and no run-queue figures to tell whose\n" << reported();
  EXPECT_LT(own, threshold_ns) << "a segment between the two polls held the thread for " << own
                               << " ns of its own: a stall the runtime made\n"
                               << reported();
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

// An unnamed greenlet's default name is formatted when first asked for;
// the crash handler (a signal handler: no heap) writes it itself.
TEST(StallDeathTest, StackOverflowInAnUnnamedGreenletNamesItByItsDefaultName) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        gs::start_stall_monitor();
        auto g = gs::spawn([] { recurse_deeply(0, 1 << 30); });
        g.join();
      },
      "stack overflow in greenlet 'Greenlet-[0-9]+' \\(id [0-9]+\\)");
}

}  // namespace
}  // namespace gs::test
