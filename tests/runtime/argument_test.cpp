// argument_test.cpp: what the runtime's calls do with values a user should
// not pass (NaN, negative or endless timeouts, sizes that were negative
// numbers, options out of range, empty functions): a documented meaning or a
// UsageError that names the call and says how to call it, never a hang, a
// crash or silent undefined behaviour.
#include <climits>
#include <cmath>
#include <limits>
#include <string>
#include <thread>

#include "greenscope/stall.h"
#include "test_support.h"

namespace gs::test {
namespace {

class ArgumentTest : public RuntimeTest {};

const gs::Duration kInfinity{std::numeric_limits<double>::infinity()};

// --- Timeouts ------------------------------------------------------------------

// A negative timeout has already passed (gevent: Event().wait(-1) is False
// at once): every wait gives up without waiting, as with 0.
TEST_F(ArgumentTest, NegativeTimeoutsHaveAlreadyPassed) {
  gs::Event never;
  EXPECT_FALSE(never.wait(-1s));
  gs::Queue<int> empty;
  EXPECT_THROW(empty.get(-1s), gs::Empty);
  gs::Queue<int> full(1);
  full.put(1);
  EXPECT_THROW(full.put(2, -5ms), gs::Full);
  gs::Channel<int> channel;
  EXPECT_THROW(channel.get(-1s), gs::Empty);
  EXPECT_THROW(channel.put(1, -1s), gs::Full);
  gs::Semaphore none(0);
  EXPECT_FALSE(none.acquire(-1s));
  EXPECT_FALSE(none.wait(-2.5s));
  gs::AsyncResult<int> result;
  EXPECT_THROW(result.get(-1s), gs::TimeoutError);
  auto waiter = gs::spawn([&] { never.wait(); });
  gs::yield();
  EXPECT_FALSE(waiter.join(-1s));
  EXPECT_TRUE(gs::joinall(std::vector<gs::GreenletRef>{waiter}, -1s).empty());
  never.set();
  EXPECT_TRUE(waiter.join());
}

TEST_F(ArgumentTest, NegativeTimeoutObjectExpiresAtTheFirstBlockingPoint) {
  gs::Event never;
  bool raised = false;
  try {
    gs::Timeout t(-1s);
    never.wait();
  } catch (const gs::TimeoutError&) {
    raised = true;
  }
  EXPECT_TRUE(raised);
}

// kForever, infinity and any timeout too long to be meant (1e9 s: 31 years)
// wait without a limit: the wait ends only when its object is ready.
TEST_F(ArgumentTest, HugeTimeoutsWaitWithoutALimit) {
  const gs::Duration timeouts[] = {gs::kForever, kInfinity, gs::Duration(1e300), gs::Duration(1e9),
                                   std::chrono::nanoseconds::max(), std::chrono::hours::max()};
  for (const gs::Duration timeout : timeouts) {
    gs::Queue<int> q;
    auto producer = gs::spawn([&] { q.put(7); });
    EXPECT_EQ(q.get(timeout), 7) << timeout.count();
    gs::Event e;
    auto setter = gs::spawn([&] { e.set(); });
    EXPECT_TRUE(e.wait(timeout)) << timeout.count();
    auto slow = gs::spawn([] { gs::yield(); });
    EXPECT_TRUE(slow.join(timeout)) << timeout.count();
  }
}

// sleep(kForever) sleeps until the greenlet is killed (it used to yield).
TEST_F(ArgumentTest, SleepForeverSleepsUntilKilled) {
  auto sleeper = gs::spawn([] { gs::sleep(gs::kForever); });
  gs::yield();
  gs::yield();
  EXPECT_EQ(sleeper.state(), gs::GreenletState::Waiting);
  sleeper.kill();
  EXPECT_TRUE(sleeper.killed());
}

TEST_F(ArgumentTest, NanTimeoutsAreRejectedNamingTheCall) {
  gs::Event e;
  expect_usage_error([&] { e.wait(kNan); }, {"Event.wait()", "NaN", "kForever"});
  gs::Queue<int> q;
  expect_usage_error([&] { q.get(kNan); }, {"Queue.get()", "NaN"});
  expect_usage_error([&] { gs::sleep(kNan); }, {"gs::sleep()", "NaN"});
  expect_usage_error([&] { gs::Timeout t(kNan); }, {"gs::Timeout", "NaN"});
  expect_usage_error([&] { gs::with_timeout(kNan, [] { return 1; }); }, {"gs::Timeout", "NaN"});
  gs::Semaphore s(0);
  expect_usage_error([&] { s.acquire(kNan); }, {"Semaphore.acquire()", "NaN"});
  auto g = gs::spawn([] { gs::yield(); });
  expect_usage_error([&] { g.join(kNan); }, {"Greenlet.join()", "NaN"});
  expect_usage_error([&] { gs::joinall(std::vector<gs::GreenletRef>{g}, kNan); }, {"gs::joinall()", "NaN"});
  expect_usage_error([&] { gs::spawn_later(kNan, [] {}); }, {"gs::spawn_later()", "NaN"});
  EXPECT_TRUE(g.join());
  EXPECT_EQ(gs::get_hub().live_greenlets(), 0u);  // the rejected spawn_later made none
}

// A delay is when to start: negative starts at once (gevent), one that
// never ends is refused rather than leave a greenlet that never runs.
TEST_F(ArgumentTest, SpawnLaterNeedsADelayThatEnds) {
  auto now = gs::spawn_later(-1s, [] { return 5; });
  EXPECT_EQ(now.get(), 5);
  expect_usage_error([] { gs::spawn_later(gs::kForever, [] {}); }, {"gs::spawn_later()", "never"});
  expect_usage_error([] { gs::spawn_later(gs::Duration(1e12), [] {}); }, {"gs::spawn_later()"});
  EXPECT_EQ(gs::get_hub().live_greenlets(), 0u);
}

// --- Sizes and counts ------------------------------------------------------------

// A size_t parameter given a negative int arrives as a number past
// PTRDIFF_MAX: refused, as gevent refuses Semaphore(-1) and Pool(-1).
TEST_F(ArgumentTest, SizesThatWereNegativeNumbersAreRejected) {
  const int minus_one = -1;
  expect_usage_error([&] { gs::Semaphore s(static_cast<std::size_t>(minus_one)); }, {"Semaphore", "negative"});
  expect_usage_error([&] { gs::BoundedSemaphore s(static_cast<std::size_t>(minus_one)); }, {"negative"});
  expect_usage_error([&] { gs::Pool p(static_cast<std::size_t>(minus_one)); }, {"gs::Pool", "negative"});
  // A Queue's maxsize 0 is unbounded, and so is a huge one (gevent's
  // Queue(-1) is unbounded too).
  gs::Queue<int> q(static_cast<std::size_t>(minus_one));
  for (int i = 0; i < 1000; ++i) q.put_nowait(i);
  EXPECT_FALSE(q.full());
}

// --- Functions -------------------------------------------------------------------

TEST_F(ArgumentTest, EmptyFunctionsAreRejectedWhereTheyArePassed) {
  expect_usage_error([] { gs::run_callback(std::function<void()>()); }, {"run_callback()", "empty"});
  expect_usage_error([] { gs::get_hub().run_callback_threadsafe(std::function<void()>()); },
                     {"run_callback_threadsafe()", "empty"});
  expect_usage_error([] { gs::spawn(std::function<int()>()); }, {"gs::spawn()", "empty"});
  void (*none)() = nullptr;
  expect_usage_error([&] { gs::spawn(none); }, {"gs::spawn()"});
  auto g = gs::spawn([] {});
  expect_usage_error([&] { g.link(nullptr); }, {"link()", "empty"});
  g.join();
  EXPECT_TRUE(reports.empty()) << reports.front();  // nothing failed later in the hub
}

// --- Names -----------------------------------------------------------------------

// A name is kept byte for byte, whatever it holds: what prints it makes it
// safe for its output (the CLI, JSON, the viewer), not the runtime.
TEST_F(ArgumentTest, NamesAreKeptAsGiven) {
  const std::string odd("a\0b\x1b[31m\x07\r\xff\xc3(", 12);
  auto g = gs::spawn([] {});
  g.set_name(odd);
  EXPECT_EQ(g.name(), odd);
  g.join();
}

// --- RuntimeOptions and StallOptions ---------------------------------------------

TEST_F(ArgumentTest, ConfigureRejectsOptionsOutOfRangeAndKeepsTheOldOnes) {
  const gs::RuntimeOptions before = gs::options();
  auto with = [](auto change) {
    gs::RuntimeOptions o;
    change(o);
    return o;
  };
  expect_usage_error([&] { gs::configure(with([](auto& o) { o.stack_size = SIZE_MAX; })); },
                     {"stack_size", "18446744073709551615"});
  expect_usage_error([&] { gs::configure(with([](auto& o) { o.stack_size = std::size_t{2} << 30; })); },
                     {"stack_size", "1 GiB"});
  expect_usage_error([&] { gs::configure(with([](auto& o) { o.threadpool_size = 0; })); }, {"threadpool_size"});
  expect_usage_error([&] { gs::configure(with([](auto& o) { o.callback_budget = kNan; })); }, {"callback_budget"});
  expect_usage_error([&] { gs::configure(with([](auto& o) { o.callback_budget = -1s; })); }, {"callback_budget"});
  expect_usage_error([&] { gs::configure(with([](auto& o) { o.callback_budget = gs::kForever; })); },
                     {"callback_budget"});
  EXPECT_EQ(gs::options().stack_size, before.stack_size);
  EXPECT_EQ(gs::options().threadpool_size, before.threadpool_size);
  EXPECT_EQ(gs::options().callback_budget, before.callback_budget);
}

// A tiny stack_size is raised to the 16 KiB minimum, an odd one rounded up
// to whole pages: greenlets on a hub made afterwards run.
TEST_F(ArgumentTest, SmallAndOddStackSizesAreRoundedUp) {
  for (const std::size_t size : {std::size_t{1}, std::size_t{20000}}) {
    gs::RuntimeOptions o;
    o.stack_size = size;
    gs::configure(o);
    int got = 0;
    std::thread([&] { got = gs::spawn([] { return 42; }).get(); }).join();
    EXPECT_EQ(got, 42) << size;
  }
  gs::configure(gs::RuntimeOptions{});
}

TEST_F(ArgumentTest, StallMonitorRejectsThresholdsOutOfRange) {
  auto with = [](auto change) {
    gs::StallOptions o;
    change(o);
    return o;
  };
  expect_usage_error([&] { gs::start_stall_monitor(with([](auto& o) { o.threshold = std::chrono::hours(2); })); },
                     {"threshold", "1 h"});
  expect_usage_error(
      [&] { gs::start_stall_monitor(with([](auto& o) { o.threshold = std::chrono::milliseconds::max(); })); },
      {"threshold"});
  expect_usage_error(
      [&] { gs::start_stall_monitor(with([](auto& o) { o.blocking_threshold = std::chrono::milliseconds(-1); })); },
      {"blocking_threshold"});
  expect_usage_error(
      [&] { gs::start_stall_monitor(with([](auto& o) { o.sample_interval = std::chrono::hours(2); })); },
      {"sample_interval"});
  EXPECT_FALSE(gs::stall_monitor_running());
}

}  // namespace
}  // namespace gs::test
