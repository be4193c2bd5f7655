#include "test_support.h"

namespace gs::test {
namespace {

class QueueTest : public RuntimeTest {};

TEST_F(QueueTest, ItemsComeOutInFifoOrder) {
  gs::Queue<int> q;
  for (int i = 0; i < 5; ++i) q.put(i);
  EXPECT_EQ(q.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(q.get(), i);
  EXPECT_TRUE(q.empty());
}

TEST_F(QueueTest, GetWaitsForAPut) {
  gs::Queue<std::string> q;
  auto g = gs::spawn([&] { return q.get(); });
  gs::yield();
  EXPECT_EQ(q.getters_waiting(), 1u);
  q.put("x");
  EXPECT_EQ(g.get(), "x");
}

TEST_F(QueueTest, BoundedPutWaitsForRoom) {
  gs::Queue<int> q(2);
  std::vector<int> put_done;
  auto producer = gs::spawn([&] {
    for (int i = 0; i < 4; ++i) {
      q.put(i);
      put_done.push_back(i);
    }
  });
  gs::yield();
  EXPECT_EQ(put_done, (std::vector<int>{0, 1}));
  EXPECT_TRUE(q.full());
  EXPECT_EQ(q.get(), 0);
  gs::yield();
  EXPECT_EQ(put_done.size(), 3u);
  EXPECT_EQ(q.get(), 1);
  EXPECT_EQ(q.get(), 2);
  EXPECT_EQ(q.get(), 3);
  producer.join();
}

TEST_F(QueueTest, NowaitAndTimeoutsRaiseEmptyAndFull) {
  gs::Queue<int> q(1);
  EXPECT_THROW(q.get_nowait(), gs::Empty);
  EXPECT_THROW(q.get(2ms), gs::Empty);
  q.put_nowait(1);
  EXPECT_THROW(q.put_nowait(2), gs::Full);
  EXPECT_THROW(q.put(2, 2ms), gs::Full);
  EXPECT_EQ(q.get_nowait(), 1);
}

TEST_F(QueueTest, JoinWaitsForTaskDone) {
  gs::Queue<int> q;
  int processed = 0;
  auto worker = gs::spawn([&] {
    for (int i = 0; i < 3; ++i) {
      q.get();
      gs::sleep(1ms);
      ++processed;
      q.task_done();
    }
  });
  for (int i = 0; i < 3; ++i) q.put(i);
  EXPECT_EQ(q.unfinished_tasks(), 3u);
  EXPECT_TRUE(q.join());
  EXPECT_EQ(processed, 3);
  worker.join();
  EXPECT_THROW(q.task_done(), gs::UsageError);
}

TEST_F(QueueTest, JoinTimesOut) {
  gs::Queue<int> q;
  q.put(1);
  EXPECT_FALSE(q.join(2ms));
}

TEST_F(QueueTest, AKilledGetterPassesTheItemToTheNextGetter) {
  gs::Queue<int> q;
  auto first = gs::spawn([&] { return q.get(); });
  auto second = gs::spawn([&] { return q.get(); });
  gs::yield();
  q.put(42);          // notifies `first`...
  first.kill(false);  // ...which dies before it can take the item
  EXPECT_EQ(second.get(), 42);
  first.join();
  EXPECT_TRUE(first.killed());
}

TEST_F(QueueTest, MoveOnlyItems) {
  gs::Queue<std::unique_ptr<int>> q;
  q.put(std::make_unique<int>(3));
  EXPECT_EQ(*q.get(), 3);
}

class ChannelTest : public RuntimeTest {};

TEST_F(ChannelTest, PutReturnsOnlyOnceAGetterTookTheItem) {
  gs::Channel<int> ch;
  bool put_returned = false;
  auto putter = gs::spawn([&] {
    ch.put(5);
    put_returned = true;
  });
  gs::sleep(1ms);
  EXPECT_FALSE(put_returned);
  EXPECT_EQ(ch.putters_waiting(), 1u);
  EXPECT_EQ(ch.get(), 5);
  putter.join();
  EXPECT_TRUE(put_returned);
}

TEST_F(ChannelTest, GetWaitsForAPutter) {
  gs::Channel<std::string> ch;
  auto getter = gs::spawn([&] { return ch.get(); });
  gs::yield();
  EXPECT_EQ(ch.getters_waiting(), 1u);
  ch.put("hi");
  EXPECT_EQ(getter.get(), "hi");
}

TEST_F(ChannelTest, PutTimesOutWithFullAndWithdrawsTheOffer) {
  gs::Channel<int> ch;
  EXPECT_THROW(ch.put(1, 2ms), gs::Full);
  EXPECT_EQ(ch.putters_waiting(), 0u);
  EXPECT_THROW(ch.get(1ms), gs::Empty);
  EXPECT_THROW(ch.put(1, 0s), gs::Full);  // no getter waiting
}

}  // namespace
}  // namespace gs::test
