#include <set>
#include <stdexcept>

#include "test_support.h"

namespace gs::test {
namespace {

class PoolTest : public RuntimeTest {};

TEST_F(PoolTest, GroupJoinWaitsForEveryMember) {
  gs::Group group;
  int done = 0;
  for (int i = 0; i < 4; ++i) {
    group.spawn([&done, i] {
      gs::sleep(std::chrono::milliseconds(i));
      ++done;
    });
  }
  EXPECT_EQ(group.size(), 4u);
  EXPECT_TRUE(group.join());
  EXPECT_EQ(done, 4);
  EXPECT_TRUE(group.empty());
}

TEST_F(PoolTest, GroupJoinTimesOutAndRaisesErrors) {
  gs::Group group;
  gs::Event never;
  group.spawn([&] { never.wait(); });
  EXPECT_FALSE(group.join(2ms));
  group.spawn([] { throw std::runtime_error("member failed"); });
  gs::yield();
  EXPECT_THROW(group.join(kForever, /*raise_error=*/true), std::runtime_error);
  group.kill();
  EXPECT_TRUE(group.empty());
}

TEST_F(PoolTest, GroupAddAndDiscard) {
  gs::Group group;
  gs::Event go;
  auto g = gs::spawn([&] { go.wait(); });
  group.add(g);
  EXPECT_TRUE(group.contains(g));
  group.discard(g);
  EXPECT_FALSE(group.contains(g));
  EXPECT_TRUE(group.join());
  go.set();
  g.join();
}

TEST_F(PoolTest, PoolRunsAtMostItsSizeAtOnce) {
  gs::Pool pool(3);
  int running = 0, most = 0;
  for (int i = 0; i < 10; ++i) {
    pool.spawn([&] {
      most = std::max(most, ++running);
      gs::sleep(1ms);
      --running;
    });
  }
  pool.join();
  EXPECT_EQ(most, 3);
  EXPECT_EQ(pool.free_count(), 3u);
}

TEST_F(PoolTest, PoolSpawnWaitsWhileFull) {
  gs::Pool pool(1);
  gs::Event release;
  pool.spawn([&] { release.wait(); });
  EXPECT_TRUE(pool.full());
  bool second_spawned = false;
  auto spawner = gs::spawn([&] {
    pool.spawn([] {});
    second_spawned = true;
  });
  gs::sleep(2ms);
  EXPECT_FALSE(second_spawned);
  EXPECT_FALSE(pool.wait_available(1ms));
  release.set();
  spawner.join();
  EXPECT_TRUE(second_spawned);
  pool.join();
}

TEST_F(PoolTest, MapKeepsTheItemsOrder) {
  gs::Pool pool(2);
  std::vector<int> items{5, 1, 4, 2, 3};
  auto squares = pool.map(
      [](int x) {
        gs::sleep(std::chrono::milliseconds(x));
        return x * x;
      },
      items);
  EXPECT_EQ(squares, (std::vector<int>{25, 1, 16, 4, 9}));
}

TEST_F(PoolTest, MapRethrowsAFailure) {
  gs::Group group;
  auto call = [&] {
    group.map(
        [](int x) {
          if (x == 2) throw std::invalid_argument("two");
          return x;
        },
        std::vector<int>{1, 2, 3});
  };
  EXPECT_THROW(call(), std::invalid_argument);
  group.join();
}

TEST_F(PoolTest, ImapUnorderedYieldsResultsAsTheyComplete) {
  // Items finish in the reverse of their input order, each once the one
  // before it finished (events, not sleeps: no dependence on timing).
  gs::Pool pool(4);
  std::vector<int> order;
  gs::Event done[6];
  done[0].set();
  for (int v : pool.imap_unordered(
           [&done](int x) {
             done[x - 1].wait();
             done[x].set();
             return x;
           },
           std::vector<int>{4, 3, 2, 1})) {
    order.push_back(v);
  }
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4}));
  pool.join();
}

TEST_F(PoolTest, ImapUnorderedThroughASmallPoolGetsEverything) {
  gs::Pool pool(2);
  std::vector<int> items(20);
  for (int i = 0; i < 20; ++i) items[i] = i;
  auto results = pool.imap_unordered([](int x) { return x + 100; }, items);
  std::set<int> seen;
  while (auto v = results.next()) seen.insert(*v);
  EXPECT_EQ(seen.size(), 20u);
  EXPECT_EQ(*seen.begin(), 100);
  pool.join();
}

TEST_F(PoolTest, ImapUnorderedRethrowsWhenTheFailureIsReached) {
  gs::Pool pool(2);
  auto results = pool.imap_unordered(
      [](int x) {
        if (x == 1) throw std::runtime_error("bad item");
        return x;
      },
      std::vector<int>{1});
  EXPECT_THROW(results.next(), std::runtime_error);
  pool.join();
}

TEST_F(PoolTest, PoolOfZeroIsAUsageError) { EXPECT_THROW(gs::Pool(0), gs::UsageError); }

}  // namespace
}  // namespace gs::test
