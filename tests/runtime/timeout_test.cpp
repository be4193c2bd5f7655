#include "test_support.h"

namespace gs::test {
namespace {

class TimeoutTest : public RuntimeTest {};

TEST_F(TimeoutTest, RaisesAtTheBlockingPointAfterExpiry) {
  gs::Event never;
  bool raised = false;
  try {
    gs::Timeout t(5ms);
    never.wait();
  } catch (const gs::TimeoutError& e) {
    raised = true;
    EXPECT_DOUBLE_EQ(e.seconds().count(), 0.005);
  }
  EXPECT_TRUE(raised);
}

TEST_F(TimeoutTest, InAGreenletItRaisesThere) {
  auto g = gs::spawn([] {
    gs::Timeout t(2ms);
    gs::sleep(100s);
  });
  EXPECT_THROW(g.get(), gs::TimeoutError);
  EXPECT_EQ(reports.size(), 1u);  // an escaped TimeoutError is an error
}

TEST_F(TimeoutTest, NeverRaisesAfterItIsDestroyed) {
  {
    gs::Timeout t(1ms);
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < 5ms) {
    }  // expires while we never block
  }
  EXPECT_NO_THROW(gs::sleep(5ms));
}

TEST_F(TimeoutTest, CancelStopsIt) {
  gs::Timeout t(2ms);
  t.cancel();
  EXPECT_NO_THROW(gs::sleep(5ms));
  EXPECT_FALSE(t.expired());
}

TEST_F(TimeoutTest, ExpiryWhileReadyRaisesAtTheYield) {
  bool raised = false;
  try {
    gs::Timeout t(2ms);
    for (;;) gs::yield();  // every yield is a blocking point
  } catch (const gs::TimeoutError&) {
    raised = true;
  }
  EXPECT_TRUE(raised);
}

TEST_F(TimeoutTest, NestedTimeoutsSayWhichExpired) {
  gs::Timeout outer(50ms);
  try {
    gs::Timeout inner(2ms);
    gs::sleep(1s);
    FAIL();
  } catch (const gs::TimeoutError& e) {
    EXPECT_NE(e.source(), &outer);
  }
  try {
    gs::sleep(1s);
    FAIL();
  } catch (const gs::TimeoutError& e) {
    EXPECT_EQ(e.source(), &outer);
    EXPECT_TRUE(outer.expired());
  }
}

TEST_F(TimeoutTest, WithTimeoutReturnsTheValueInTime) {
  const int v = gs::with_timeout(1s, [] {
    gs::sleep(1ms);
    return 5;
  });
  EXPECT_EQ(v, 5);
}

TEST_F(TimeoutTest, WithTimeoutThrowsWhenLate) {
  EXPECT_THROW(gs::with_timeout(2ms, [] { gs::sleep(1s); }), gs::TimeoutError);
}

TEST_F(TimeoutTest, ForeverMeansNoTimeout) {
  gs::Timeout t(kForever);
  gs::sleep(1ms);
  EXPECT_FALSE(t.expired());
}

TEST_F(TimeoutTest, ATimedOutQueueGetLosesNoItem) {
  gs::Queue<int> q;
  auto getter = gs::spawn([&] {
    gs::Timeout t(3ms);
    return q.get();
  });
  gs::sleep(6ms);
  EXPECT_THROW(getter.get(), gs::TimeoutError);
  q.put(1);
  EXPECT_EQ(q.get_nowait(), 1);
}

}  // namespace
}  // namespace gs::test
