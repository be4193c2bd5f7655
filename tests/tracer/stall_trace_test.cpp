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

// kGiveUp bounds each wait below for something the monitor must do, so
// that a monitor that never does it fails the test instead of hanging it
// (two of them stay under the test's 120 s timeout).
constexpr std::chrono::seconds kGiveUp{30};

// SampleWatch stands between the runtime and the tracer's recorder while the
// spinner runs: it passes every hook on to the recorder unchanged, and notes
// when the monitor has sampled the spinner inside spin_without_yielding()
// and when it has reported the spinner's stall ended. The spinner then
// stalls until it was sampled, not for a fixed time: a loaded machine can
// keep the monitor thread off the CPU for all of a fixed 50 ms, and the hub
// then finds the stall itself, at its end, with no sample. And the test
// waits for the stall's end to be reported rather than sleeping 30 ms.
class SampleWatch final : public gs::Observer {
 public:
  // arm() watches greenlet `id` and puts the watch in front of the observer
  // installed now (the recorder trace::start() installed). Hub thread.
  void arm(std::uint64_t id) {
    inner_ = gs::observer();
    spinner_.store(id, std::memory_order_release);
    gs::set_observer(this);
  }
  // disarm() hands the hooks back to the recorder. The watch must outlive
  // the monitor's threads, which may still be in a call through it.
  void disarm() { gs::set_observer(inner_); }
  bool sampled() const { return sampled_.load(std::memory_order_acquire); }
  bool ended() const { return ended_.load(std::memory_order_acquire); }

  // The stall hooks: passed on first, so that what the watch has seen is in
  // the trace.
  void on_stall_begin(const StallReport& r) override { inner_->on_stall_begin(r); }
  void on_stall_sample(const StallReport& r, const StallSample& sample) override {
    inner_->on_stall_sample(r, sample);
    if (!sampled() && is_spinner(r) &&
        gs::format_stack(sample.stack).find("spin_without_yielding") != std::string::npos)
      sampled_.store(true, std::memory_order_release);
  }
  void on_stall_end(const StallReport& r) override {
    inner_->on_stall_end(r);
    if (is_spinner(r) && r.ended) ended_.store(true, std::memory_order_release);
  }

  // Every other hook, passed on as it is.
  void on_hub_start(const Hub& hub) override { inner_->on_hub_start(hub); }
  void on_hub_stop(const Hub& hub) override { inner_->on_hub_stop(hub); }
  void on_spawn(const GreenletInfo& g, const GreenletInfo& spawner) override { inner_->on_spawn(g, spawner); }
  void on_switch(const GreenletInfo& from, const GreenletInfo& to, SwitchReason reason) override {
    inner_->on_switch(from, to, reason);
  }
  void on_rename(const GreenletInfo& g) override { inner_->on_rename(g); }
  void on_exit(const GreenletInfo& g, ExitKind kind, std::string_view error) override {
    inner_->on_exit(g, kind, error);
  }
  void on_poll_begin(const Hub& hub) override { inner_->on_poll_begin(hub); }
  void on_poll_end(const Hub& hub, int pending) override { inner_->on_poll_end(hub, pending); }
  void on_callbacks_begin(const Hub& hub) override { inner_->on_callbacks_begin(hub); }
  void on_callbacks_end(const Hub& hub, std::size_t items) override { inner_->on_callbacks_end(hub, items); }
  void on_watcher_begin(const Hub& hub, WatcherKind kind, const void* watcher, int fd, int revents) override {
    inner_->on_watcher_begin(hub, kind, watcher, fd, revents);
  }
  void on_watcher_end(const Hub& hub, WatcherKind kind, const void* watcher) override {
    inner_->on_watcher_end(hub, kind, watcher);
  }
  void on_callback_enqueue(const Hub& hub) override { inner_->on_callback_enqueue(hub); }
  void on_callback_begin(const Hub& hub) override { inner_->on_callback_begin(hub); }
  void on_callback_end(const Hub& hub) override { inner_->on_callback_end(hub); }
  void on_error(const Hub& hub, const GreenletInfo* g, std::string_view text) override {
    inner_->on_error(hub, g, text);
  }
  void on_timeout(const Hub& hub, const GreenletInfo& target, Duration seconds) override {
    inner_->on_timeout(hub, target, seconds);
  }
  void on_patched_wait_begin(const char* call, int fd) override { inner_->on_patched_wait_begin(call, fd); }
  void on_patched_wait_end(const char* call, int fd) override { inner_->on_patched_wait_end(call, fd); }
  void on_job_submit(const Hub& hub, const void* job) override { inner_->on_job_submit(hub, job); }
  void on_job_begin(const void* job, std::size_t worker) override { inner_->on_job_begin(job, worker); }
  void on_job_end(const void* job, std::size_t worker) override { inner_->on_job_end(job, worker); }
  void on_job_done(const Hub& hub, const void* job) override { inner_->on_job_done(hub, job); }
  void on_loop_lag(const Hub& hub, std::int64_t lag_ns) override { inner_->on_loop_lag(hub, lag_ns); }
  void on_blocking_call(const char* call, int fd, std::int64_t duration_ns, const std::uintptr_t* stack,
                        std::size_t depth) override {
    inner_->on_blocking_call(call, fd, duration_ns, stack, depth);
  }
  void on_crash(int sig, std::uintptr_t fault_address, std::uint64_t greenlet_id, bool overflow,
                const std::uintptr_t* stack, std::size_t depth, std::string_view text) override {
    inner_->on_crash(sig, fault_address, greenlet_id, overflow, stack, depth, text);
  }
  void on_run_info(std::string_view trigger, std::string_view text) override { inner_->on_run_info(trigger, text); }

 private:
  bool is_spinner(const StallReport& r) const {
    return r.owner == gs::StallOwner::Greenlet && r.greenlet_id == spinner_.load(std::memory_order_acquire);
  }

  gs::Observer* inner_ = nullptr;  // set before the watch is installed, then never changed
  std::atomic<std::uint64_t> spinner_{0};
  std::atomic<bool> sampled_{false}, ended_{false};
};

// spin_without_yielding() holds the thread: a stall. Given a watch, it goes
// on past `d` until the monitor has sampled it here.
[[gnu::noinline]] void spin_without_yielding(std::chrono::milliseconds d, const SampleWatch* until = nullptr) {
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
  SampleWatch watch;  // outlives the session: stop() joins the monitor's threads
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
