// kill() during every kind of wait: GreenletExit is raised at the suspension
// point, RAII cleanup runs, and the primitive is left consistent.
#include <functional>
#include <string>

#include "test_support.h"

namespace gs::test {
namespace {

struct WaitKind {
  std::string name;
  // block() waits forever on something the test's Shared provides.
  std::function<void(struct Shared&)> block;
};

struct Shared {
  gs::Event event;
  gs::AsyncResult<int> result;
  gs::Lock lock;
  gs::Semaphore sem{0};
  gs::Queue<int> empty_queue;
  gs::Queue<int> full_queue{1};
  gs::Channel<int> channel;
  gs::Event never;
  GreenletRef blocker;
};

void PrintTo(const WaitKind& kind, std::ostream* os) { *os << kind.name; }

class KillDuringWait : public RuntimeTest, public ::testing::WithParamInterface<WaitKind> {};

TEST_P(KillDuringWait, RaisesGreenletExitAtTheWaitAndRunsCleanup) {
  Shared shared;
  shared.full_queue.put(0);
  ASSERT_TRUE(shared.lock.try_acquire());  // held by main
  shared.blocker = gs::spawn([&] { shared.never.wait(); });
  int cleaned = 0;
  bool returned_normally = false;
  auto victim = gs::spawn([&] {
    struct Cleanup {
      int& n;
      ~Cleanup() { ++n; }
    } cleanup{cleaned};
    GetParam().block(shared);
    returned_normally = true;
  });
  gs::sleep(2ms);
  ASSERT_EQ(victim.state(), GreenletState::Waiting) << GetParam().name;
  victim.kill();
  EXPECT_TRUE(victim.dead());
  EXPECT_TRUE(victim.killed());
  EXPECT_TRUE(victim.successful());  // as in gevent, a kill is not an error
  EXPECT_EQ(cleaned, 1);
  EXPECT_FALSE(returned_normally);
  EXPECT_TRUE(reports.empty()) << "GreenletExit must not be reported";
  // The primitive still works after losing a waiter.
  EXPECT_EQ(shared.sem.waiters(), 0u);
  shared.lock.release();
  EXPECT_TRUE(shared.lock.try_acquire());
  shared.lock.release();
  shared.blocker.kill();
}

INSTANTIATE_TEST_SUITE_P(
    EveryWait, KillDuringWait,
    ::testing::Values(
        WaitKind{"sleep", [](Shared&) { gs::sleep(100s); }},
        WaitKind{"event", [](Shared& s) { s.event.wait(); }},
        WaitKind{"async_result", [](Shared& s) { s.result.get(); }},
        WaitKind{"lock", [](Shared& s) { s.lock.acquire(); }},
        WaitKind{"semaphore", [](Shared& s) { s.sem.acquire(); }},
        WaitKind{"queue_get", [](Shared& s) { s.empty_queue.get(); }},
        WaitKind{"queue_put", [](Shared& s) { s.full_queue.put(1); }},
        WaitKind{"channel_get", [](Shared& s) { s.channel.get(); }},
        WaitKind{"channel_put", [](Shared& s) { s.channel.put(1); }},
        WaitKind{"join", [](Shared& s) { s.blocker.join(); }},
        WaitKind{"idle", [](Shared&) {
                   for (;;) gs::idle();
                 }}),
    [](const ::testing::TestParamInfo<WaitKind>& p) { return p.param.name; });

class Kill : public RuntimeTest {};

TEST_F(Kill, ANotYetStartedGreenletNeverRuns) {
  bool ran = false;
  auto g = gs::spawn([&] { ran = true; });
  g.kill();
  EXPECT_TRUE(g.dead());
  EXPECT_TRUE(g.killed());
  EXPECT_FALSE(g.started());
  gs::sleep(1ms);
  EXPECT_FALSE(ran);
  EXPECT_THROW(Greenlet<void>(g).get(), gs::GreenletExit);
}

TEST_F(Kill, ASpawnLaterGreenletKilledBeforeItsDelayNeverRuns) {
  bool ran = false;
  auto g = gs::spawn_later(5ms, [&] { ran = true; });
  g.kill();
  gs::sleep(10ms);
  EXPECT_FALSE(ran);
  EXPECT_TRUE(g.dead());
}

TEST_F(Kill, NonBlockingKillReturnsAtOnce) {
  auto g = gs::spawn([] { gs::sleep(100s); });
  gs::sleep(1ms);
  g.kill(/*block=*/false);
  EXPECT_FALSE(g.dead());
  g.join();
  EXPECT_TRUE(g.killed());
}

TEST_F(Kill, KillingTheCurrentGreenletThrowsHere) {
  bool after = false;
  auto g = gs::spawn([&] {
    gs::current().kill();
    after = true;
  });
  g.join();
  EXPECT_FALSE(after);
  EXPECT_TRUE(g.killed());
}

TEST_F(Kill, AStackLeftByAGreenletThatKilledItselfServesTheNextOne) {
  // The dead greenlet's final switch never returns; under ASan its frame's
  // redzones must not stay poisoned for the next greenlet on that stack,
  // whose own GreenletExit is copied there (StackPool::release()).
  for (int i = 0; i < 3; ++i) {
    bool after = false;
    auto g = gs::spawn([&] {
      gs::current().kill();
      after = true;
    });
    g.join();
    EXPECT_FALSE(after) << "round " << i;
    EXPECT_TRUE(g.killed()) << "round " << i;
  }
}

TEST_F(Kill, AGreenletThatCatchesGreenletExitKeepsRunning) {
  int stage = 0;
  auto g = gs::spawn([&] {
    try {
      gs::sleep(100s);
    } catch (const gs::GreenletExit&) {
      stage = 1;
    }
    gs::sleep(1ms);
    stage = 2;
    return 7;
  });
  gs::sleep(1ms);
  g.kill(/*block=*/true, 100s);
  EXPECT_EQ(stage, 2);
  EXPECT_EQ(g.get(), 7);
  EXPECT_FALSE(g.killed());
}

TEST_F(Kill, KillingAReadyGreenletRaisesAtItsYield) {
  int yields = 0;
  auto g = gs::spawn([&] {
    for (;;) {
      gs::yield();
      ++yields;
    }
  });
  gs::yield();  // g runs once and yields: it is now Ready
  ASSERT_EQ(g.state(), GreenletState::Ready);
  g.kill();
  EXPECT_TRUE(g.killed());
  EXPECT_EQ(yields, 0);
}

TEST_F(Kill, KillingTheMainGreenletIsAUsageError) {
  EXPECT_THROW(gs::current().kill(), gs::UsageError);
}

TEST_F(Kill, AKillOutranksAPendingTimeout) {
  auto g = gs::spawn([] {
    gs::Timeout t(1ms);
    gs::sleep(100s);
  });
  gs::sleep(1ms);
  g.kill();
  EXPECT_TRUE(g.killed());
  EXPECT_TRUE(g.exception() == nullptr);
}

}  // namespace
}  // namespace gs::test
