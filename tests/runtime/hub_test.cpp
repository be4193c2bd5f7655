#include <ev.h>

#include <atomic>
#include <stdexcept>
#include <thread>

#include "test_support.h"

namespace gs::test {
namespace {

class HubTest : public RuntimeTest {};

TEST_F(HubTest, YieldRunsEveryReadyGreenletBeforeReturning) {
  std::vector<int> order;
  std::vector<Greenlet<void>> all;
  for (int i = 0; i < 3; ++i) all.push_back(gs::spawn([&order, i] { order.push_back(i); }));
  gs::yield();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  gs::joinall(all);
}

TEST_F(HubTest, YieldingGreenletsTakeTurns) {
  std::string trace;
  auto a = gs::spawn([&] {
    for (int i = 0; i < 3; ++i) {
      trace += 'a';
      gs::yield();
    }
  });
  auto b = gs::spawn([&] {
    for (int i = 0; i < 3; ++i) {
      trace += 'b';
      gs::yield();
    }
  });
  gs::joinall(std::vector<GreenletRef>{a, b});
  EXPECT_EQ(trace, "ababab");
}

TEST_F(HubTest, CallbacksAndGreenletsShareOneFifo) {
  std::vector<std::string> order;
  gs::run_callback([&] { order.push_back("cb1"); });
  auto g = gs::spawn([&] { order.push_back("g"); });
  gs::run_callback([&] { order.push_back("cb2"); });
  gs::yield();
  EXPECT_EQ(order, (std::vector<std::string>{"cb1", "g", "cb2"}));
  g.join();
}

TEST_F(HubTest, CallbacksRunInTheHubGreenlet) {
  GreenletKind kind = GreenletKind::User;
  gs::run_callback([&] { kind = gs::current().info().kind(); });
  gs::yield();
  EXPECT_EQ(kind, GreenletKind::Hub);
}

TEST_F(HubTest, BlockingInACallbackIsAReportedUsageError) {
  gs::run_callback([] { gs::sleep(1ms); });
  gs::yield();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_NE(reports[0].find("hub greenlet"), std::string::npos) << reports[0];
  EXPECT_NE(reports[0].find("gs::spawn"), std::string::npos) << reports[0];
}

TEST_F(HubTest, ACallbackThatThrowsIsReportedAndTheLoopGoesOn) {
  gs::run_callback([] { throw std::runtime_error("cb failed"); });
  bool next = false;
  gs::run_callback([&] { next = true; });
  gs::yield();
  EXPECT_TRUE(next);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_NE(reports[0].find("cb failed"), std::string::npos);
}

TEST_F(HubTest, RunCallbackThreadsafeRunsOnTheHubsThread) {
  gs::Hub& hub = gs::get_hub();
  gs::Event done;
  std::thread::id ran_on;
  std::thread other([&] {
    gs::run_callback_threadsafe(hub, [&] {
      ran_on = std::this_thread::get_id();
      done.set();
    });
  });
  EXPECT_TRUE(done.wait(10s));
  other.join();
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST_F(HubTest, RunCallbackThreadsafeWithoutAHubTargetsTheMainThread) {
  gs::get_hub();
  gs::Event done;
  std::thread::id ran_on;
  std::thread other([&] {
    gs::run_callback_threadsafe([&] {
      ran_on = std::this_thread::get_id();
      done.set();
    });
  });
  EXPECT_TRUE(done.wait(10s));
  other.join();
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST_F(HubTest, SleepLastsAtLeastItsDuration) {
  const auto took = elapsed([] { gs::sleep(15ms); });
  EXPECT_GE(took, 15ms);
}

TEST_F(HubTest, SleepZeroIsYield) {
  bool ran = false;
  auto g = gs::spawn([&] { ran = true; });
  gs::sleep(0s);
  EXPECT_TRUE(ran);
  g.join();
}

TEST_F(HubTest, IdleWaitsUntilOtherWorkIsDone) {
  std::vector<std::string> order;
  auto g = gs::spawn([&] {
    for (int i = 0; i < 3; ++i) {
      order.push_back("work");
      gs::yield();
    }
  });
  gs::idle();
  order.push_back("idle");
  EXPECT_EQ(order, (std::vector<std::string>{"work", "work", "work", "idle"}));
  g.join();
}

TEST_F(HubTest, ReadyGreenletsDoNotStarveTimers) {
  // A greenlet that only yields must not keep the loop from polling: the
  // hub runs ready work in budgeted slices.
  bool stop = false;
  auto spinner = gs::spawn([&] {
    while (!stop) gs::yield();
  });
  gs::sleep(5ms);  // only returns if the loop still polls timers
  stop = true;
  spinner.join();
}

TEST_F(HubTest, LoopExitNamesWhatMainWaitsOn) {
  gs::Event never;
  try {
    never.wait();
    FAIL() << "expected LoopExit";
  } catch (const gs::LoopExit& e) {
    EXPECT_NE(std::string(e.what()).find("Event.wait()"), std::string::npos) << e.what();
  }
}

TEST_F(HubTest, LoopExitNamesTheJoinedGreenletAndTheBlockedOnes) {
  gs::Queue<int> q;
  auto stuck = gs::spawn([&] { return q.get(); });
  stuck.set_name("consumer");
  try {
    stuck.join();
    FAIL() << "expected LoopExit";
  } catch (const gs::LoopExit& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("join() on greenlet 'consumer'"), std::string::npos) << what;
    EXPECT_NE(what.find("Queue.get()"), std::string::npos) << what;
  }
  // Main may carry on: a later wait that can finish does.
  q.put(4);
  EXPECT_EQ(stuck.get(), 4);
}

TEST_F(HubTest, NoLoopExitWhileATimerCanStillWakeMain) {
  gs::Event ev;
  auto setter = gs::spawn_later(5ms, [&] { ev.set(); });
  EXPECT_TRUE(ev.wait());
  setter.join();
}

TEST_F(HubTest, MainThreadUsesTheDefaultLoop) {
  EXPECT_TRUE(ev_is_default_loop(gs::get_hub().loop()));
  EXPECT_EQ(gs::get_hub().thread_id(), std::this_thread::get_id());
  EXPECT_EQ(&gs::get_hub(), &gs::get_hub());
}

TEST_F(HubTest, LiveGreenletsCountsSpawnedUntilDead) {
  gs::Event go;
  auto a = gs::spawn([&] { go.wait(); });
  auto b = gs::spawn([&] { go.wait(); });
  EXPECT_EQ(gs::get_hub().live_greenlets(), 2u);
  gs::yield();
  std::vector<std::uint64_t> ids;
  gs::get_hub().for_each_greenlet([&](const GreenletInfo& g) {
    ids.push_back(g.id());
    EXPECT_EQ(g.state(), GreenletState::Waiting);
    EXPECT_STREQ(g.wait_info().what, "Event.wait()");
    EXPECT_GT(g.stack().hi, g.stack().lo);
  });
  EXPECT_EQ(ids.size(), 2u);
  go.set();
  gs::joinall(std::vector<GreenletRef>{a, b});
  EXPECT_EQ(gs::get_hub().live_greenlets(), 0u);
}

TEST_F(HubTest, StackSizeIsConfigurable) {
  EXPECT_EQ(gs::options().stack_size, 128u * 1024u);
  auto g = gs::spawn([] {
    const auto& s = gs::current().info().stack();
    return s.hi - s.lo;
  });
  EXPECT_EQ(g.get(), 128u * 1024u);
  std::size_t other_size = 0;
  std::thread t([&] {
    gs::RuntimeOptions o = gs::options();
    o.stack_size = 256 * 1024;
    gs::configure(o);  // applies to hubs created afterwards: this thread's
    auto h = gs::spawn([] {
      const auto& s = gs::current().info().stack();
      return s.hi - s.lo;
    });
    other_size = h.get();
  });
  t.join();
  EXPECT_EQ(other_size, 256u * 1024u);
  gs::configure(gs::RuntimeOptions{});
}

TEST(HubDeathTest, AClobberedStackCanaryAbortsNamingTheGreenlet) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        std::thread t([] {
          gs::RuntimeOptions o;
          o.max_guarded_stacks = 1;  // the hub's stack takes the only guarded slot
          gs::configure(o);
          auto g = gs::spawn([] {
            const auto& s = gs::current().info().stack();
            *reinterpret_cast<volatile std::uint64_t*>(s.lo) = 0;  // what an overflow does
            gs::yield();
          });
          g.set_name("victim");
          g.join();
        });
        t.join();
      },
      "stack overflow in greenlet 'victim'");
}

TEST(HubDeathTest, OverflowingAGuardedStackFaults) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        std::function<int(int)> recurse = [&](int depth) -> int {
          volatile char pad[1024];
          pad[0] = static_cast<char>(depth);
          return recurse(depth + 1) + pad[0];
        };
        auto g = gs::spawn([&] { return recurse(0); });
        g.join();
      },
      "");
}

}  // namespace
}  // namespace gs::test
