// The per-thread cache of greenlet blocks (greenlet_memory.h): spawn() takes
// from it, a freed greenlet goes back to it, it gives back what goes unused.
#include <chrono>
#include <thread>
#include <utility>
#include <vector>

#include "greenscope/detail/greenlet_memory.h"
#include "test_support.h"

#if defined(GS_SANITIZE_ADDRESS)
#include <sanitizer/asan_interface.h>
#endif

namespace gs::test {
namespace {

using detail::give_greenlet_block;
using detail::greenlet_blocks_cached;
using detail::take_greenlet_block;

class GreenletMemory : public RuntimeTest {};

// spawn_and_join() spawns `n` greenlets of one kind, all alive at once, and
// joins them; their handles are dropped when it returns.
void spawn_and_join(int n, int& runs) {
  std::vector<Greenlet<void>> batch;
  batch.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) batch.push_back(gs::spawn([&runs] { ++runs; }));
  gs::joinall(batch);
}

TEST_F(GreenletMemory, ABlockGivenBackIsTheNextOneTakenOfItsClass) {
  const std::size_t before = greenlet_blocks_cached();
  void* a = take_greenlet_block(3);
  void* b = take_greenlet_block(3);
  give_greenlet_block(a, 3);
  give_greenlet_block(b, 3);
  EXPECT_EQ(greenlet_blocks_cached(), before + 2);
  EXPECT_EQ(take_greenlet_block(3), b);  // the most recently freed first: still in cache
  EXPECT_EQ(take_greenlet_block(3), a);
  void* other = take_greenlet_block(4);  // another class does not take them
  EXPECT_NE(other, a);
  EXPECT_NE(other, b);
  give_greenlet_block(a, 3);
  give_greenlet_block(b, 3);
  give_greenlet_block(other, 4);
}

// on_fresh_thread() runs `f` on a new thread, whose cache starts empty:
// what other tests in this process left in this thread's cache (blocks the
// next batch reuses, blocks of other classes under their floor) would be
// counted otherwise.
template <class F>
void on_fresh_thread(F&& f) {
  std::thread fresh(std::forward<F>(f));
  fresh.join();
}

TEST_F(GreenletMemory, AFinishedBatchOfGreenletsIsTheNextBatchsMemory) {
  int runs = 0;
  std::size_t before = 0, after_first = 0, after_second = 0;
  on_fresh_thread([&] {
    before = greenlet_blocks_cached();
    spawn_and_join(1000, runs);
    after_first = greenlet_blocks_cached();
    spawn_and_join(1000, runs);
    after_second = greenlet_blocks_cached();
  });
  EXPECT_EQ(before, 0u);
  EXPECT_GE(after_first, 1000u);  // every greenlet's block came back
  // The second batch took the first one's blocks: the cache did not grow.
  EXPECT_EQ(after_second, after_first);
  EXPECT_EQ(runs, 2000);
}

TEST_F(GreenletMemory, AGreenletDroppedOnAnotherThreadGoesToThatThreadsCache) {
  std::vector<Greenlet<int>> done;
  for (int i = 0; i < 100; ++i) done.push_back(gs::spawn([i] { return i; }));
  gs::joinall(done);
  int sum = 0;
  for (const auto& g : done) sum += *g.value();
  EXPECT_EQ(sum, 4950);
  std::size_t cached_there_before = 0;
  std::size_t cached_there_after = 0;
  std::thread other([&] {
    cached_there_before = greenlet_blocks_cached();
    done.clear();  // the last references: the blocks are freed on this thread
    cached_there_after = greenlet_blocks_cached();
  });  // the thread ends: its cache goes back to the heap (ASan's leak check)
  other.join();
  EXPECT_EQ(cached_there_after, cached_there_before + 100);
}

TEST_F(GreenletMemory, BlocksLeftUnusedForASecondGoBackToTheHeap) {
  // On a fresh thread: blocks of other classes that other tests left under
  // their floor are kept for good, and would be counted here.
  std::size_t after_burst = 0, settled = 0;
  on_fresh_thread([&] {
    int runs = 0;
    spawn_and_join(2000, runs);
    after_burst = greenlet_blocks_cached();
    // A program going on with one greenlet at a time: the burst's blocks are
    // not needed, and are given back after a second or two of that. Kept:
    // the class's floor (64) and the block the program goes on using.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (greenlet_blocks_cached() > 65 && std::chrono::steady_clock::now() < deadline) {
      for (int i = 0; i < 64; ++i) spawn_and_join(1, runs);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    settled = greenlet_blocks_cached();
  });
  ASSERT_GE(after_burst, 2000u);
  EXPECT_EQ(settled, 65u);
}

#if defined(GS_SANITIZE_ADDRESS)
// A use of a freed greenlet is still caught while its block waits in the
// cache (as a use of poisoned memory rather than of freed memory).
TEST_F(GreenletMemory, ACachedBlockIsPoisonedUnderAsan) {
  void* a = take_greenlet_block(2);
  EXPECT_FALSE(__asan_region_is_poisoned(a, 96));
  give_greenlet_block(a, 2);
  EXPECT_TRUE(__asan_address_is_poisoned(a));
  EXPECT_TRUE(__asan_address_is_poisoned(static_cast<char*>(a) + 95));
  EXPECT_EQ(take_greenlet_block(2), a);
  EXPECT_FALSE(__asan_region_is_poisoned(a, 96));
  give_greenlet_block(a, 2);
}
#endif

}  // namespace
}  // namespace gs::test
