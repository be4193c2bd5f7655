// stack_pool_test.cpp: greenlet stacks carved from slabs (runtime/src/core/
// stack_pool.h): each below a guard page that faults, guard regions where
// the kernel has them and mprotect()ed pages capped otherwise, freed stacks
// kept warm and given back by the decay.
#include <gtest/gtest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "greenscope/config.h"
#include "greenscope/runtime.h"
#include "stack_pool.h"

namespace gs::test {
namespace {

using detail::StackPool;
using gs::StackRange;

constexpr std::size_t kStack = 64 * 1024;

// mappings_holding() counts the mappings of /proc/self/maps that hold at
// least one of `stacks`: one per slab at most, unless guards split them.
std::size_t mappings_holding(const std::vector<StackRange>& stacks) {
  std::ifstream in("/proc/self/maps");
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) {
    const std::uintptr_t lo = std::stoull(line.substr(0, line.find('-')), nullptr, 16);
    const std::uintptr_t hi = std::stoull(line.substr(line.find('-') + 1), nullptr, 16);
    for (const StackRange& s : stacks) {
      if (s.lo >= lo && s.lo < hi) {
        ++n;
        break;
      }
    }
  }
  return n;
}

// resident() says whether the page holding `address` is in memory.
bool resident(std::uintptr_t address) {
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  unsigned char vec = 0;
  void* base = reinterpret_cast<void*>(address / page * page);
  EXPECT_EQ(::mincore(base, page, &vec), 0) << std::strerror(errno);
  return (vec & 1) != 0;
}

// touch() writes to every page of a stack, as a deep greenlet would.
void touch(const StackRange& s) {
  for (std::uintptr_t p = s.hi - 64; p >= s.lo + 4096; p -= 4096) *reinterpret_cast<volatile char*>(p) = 1;
}

class StackPoolTest : public ::testing::Test {
 protected:
  void TearDown() override {
    gs::configure(gs::RuntimeOptions{});
    StackPool::set_guard_regions_for_testing(true);
  }
};

TEST_F(StackPoolTest, StacksComeFromFewMappingsAndDoNotOverlap) {
  StackPool pool(kStack, 16);
  std::vector<StackRange> stacks;
  for (int i = 0; i < 1000; ++i) stacks.push_back(pool.acquire());
  // 8, 16, 32, ... 256 stacks a slab: 1,000 stacks in 8 mappings.
  EXPECT_EQ(pool.slabs(), 8u);
  std::set<std::uintptr_t> seen;
  for (const StackRange& s : stacks) {
    EXPECT_EQ(s.hi - s.lo, kStack);
    EXPECT_TRUE(seen.insert(s.lo).second);
  }
  for (std::size_t i = 1; i < stacks.size(); ++i) {
    const auto& a = stacks[i - 1];
    const auto& b = stacks[i];
    EXPECT_TRUE(a.hi <= b.lo - 4096 || b.hi <= a.lo - 4096) << "stacks " << i - 1 << " and " << i << " overlap";
  }
  for (const StackRange& s : stacks) touch(s);
  for (const StackRange& s : stacks) pool.release(s);
}

TEST_F(StackPoolTest, WithGuardRegionsEveryStackIsGuardedAtNoMappingCost) {
  if (!StackPool::guard_regions()) GTEST_SKIP() << "this kernel has no MADV_GUARD_INSTALL (Linux 6.13)";
  StackPool pool(kStack, 16);
  const std::size_t guarded_before = StackPool::guarded_in_use();
  std::vector<StackRange> stacks;
  for (int i = 0; i < 3000; ++i) stacks.push_back(pool.acquire());
  for (const StackRange& s : stacks) EXPECT_TRUE(s.guarded);
  EXPECT_EQ(StackPool::guarded_in_use() - guarded_before, 3000u);
  // One mapping a slab at most (neighbouring slabs may merge), not two a stack.
  EXPECT_LE(mappings_holding(stacks), pool.slabs());
  for (const StackRange& s : stacks) pool.release(s);
}

TEST_F(StackPoolTest, WithoutGuardRegionsEachGuardSplitsItsSlab) {
  StackPool::set_guard_regions_for_testing(false);
  StackPool pool(kStack, 16);
  std::vector<StackRange> stacks;
  for (int i = 0; i < 100; ++i) stacks.push_back(pool.acquire());
  for (const StackRange& s : stacks) EXPECT_TRUE(s.guarded);
  EXPECT_EQ(mappings_holding(stacks), 100u);  // what the cap is for
  for (const StackRange& s : stacks) pool.release(s);
}

TEST_F(StackPoolTest, WithoutGuardRegionsGuardsAreCappedAndTheRestCarryACanary) {
  StackPool::set_guard_regions_for_testing(false);
  gs::RuntimeOptions o;
  o.max_guarded_stacks = StackPool::guarded_in_use() + 5;
  gs::configure(o);
  StackPool pool(kStack, 16);
  std::vector<StackRange> stacks;
  for (int i = 0; i < 20; ++i) stacks.push_back(pool.acquire());
  int guarded = 0;
  for (const StackRange& s : stacks) {
    guarded += s.guarded;
    EXPECT_TRUE(StackPool::canary_intact(s));
    if (!s.guarded) {
      EXPECT_EQ(*reinterpret_cast<const std::uint64_t*>(s.lo), detail::kStackCanary);
    }
  }
  EXPECT_EQ(guarded, 5);
  for (const StackRange& s : stacks) pool.release(s);
}

// overflow_below() writes one byte just below the `index`-th stack of a slab.
void overflow_below(bool guard_regions, int index) {
  StackPool::set_guard_regions_for_testing(guard_regions);
  StackPool pool(kStack, 16);
  std::vector<StackRange> stacks;
  for (int i = 0; i <= index; ++i) stacks.push_back(pool.acquire());
  if (!stacks[index].guarded) {
    std::fprintf(stderr, "not guarded\n");
    std::_Exit(3);
  }
  *reinterpret_cast<volatile char*>(stacks[index].lo - 1) = 1;
  std::_Exit(0);  // not reached: the guard page faults
}

// Under ASan and TSan the fault is the sanitizer's report and exit code.
#if defined(GS_SANITIZE_ADDRESS)
#define EXPECT_SEGV(statement) EXPECT_EXIT(statement, ::testing::ExitedWithCode(1), "SEGV")
#elif defined(GS_SANITIZE_THREAD)
#define EXPECT_SEGV(statement) EXPECT_EXIT(statement, ::testing::ExitedWithCode(66), "SEGV")
#else
#define EXPECT_SEGV(statement) EXPECT_EXIT(statement, ::testing::KilledBySignal(SIGSEGV), "")
#endif

TEST_F(StackPoolTest, TheGuardBelowAStackInTheMiddleOfASlabFaults) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  if (StackPool::guard_regions()) {
    EXPECT_SEGV(overflow_below(true, 5));
  }
  EXPECT_SEGV(overflow_below(false, 5));
}

TEST_F(StackPoolTest, FreedStacksStayWarmUntilTrimmedThenSlabsAreUnmapped) {
  StackPool pool(kStack, 10);
  std::vector<StackRange> stacks;
  for (int i = 0; i < 1000; ++i) stacks.push_back(pool.acquire());
  for (const StackRange& s : stacks) touch(s);
  const std::size_t slabs = pool.slabs();
  // Freed in the order taken (a burst's greenlets end as they began).
  for (const StackRange& s : stacks) pool.release(s);
  EXPECT_EQ(pool.warm_free(), 1000u);
  EXPECT_TRUE(resident(stacks.front().hi - 64));
  pool.trim_now();
  EXPECT_EQ(pool.warm_free(), 10u);
  EXPECT_LT(pool.slabs(), slabs);
  // The ten kept are the last freed; the oldest stacks' slab is gone.
  EXPECT_TRUE(resident(stacks.back().hi - 64));
  // What was trimmed but could not be unmapped (its slab still had warm
  // stacks) lost its pages and is handed out again, guard and all.
  std::vector<StackRange> again;
  for (int i = 0; i < 40; ++i) again.push_back(pool.acquire());
  for (const StackRange& s : again) {
    touch(s);
    EXPECT_TRUE(StackPool::canary_intact(s));
  }
  for (const StackRange& s : again) pool.release(s);
}

TEST_F(StackPoolTest, AStackInUseKeepsItsSlabWhenTheRestIsTrimmed) {
  StackPool pool(kStack, 0);
  std::vector<StackRange> stacks;
  for (int i = 0; i < 8; ++i) stacks.push_back(pool.acquire());  // the first slab, whole
  const StackRange other = pool.acquire();  // from a second slab, carved from now
  ASSERT_EQ(pool.slabs(), 2u);
  const StackRange kept = stacks[3];
  for (const StackRange& s : stacks) touch(s);
  for (const StackRange& s : stacks) {
    if (s.lo != kept.lo) pool.release(s);
  }
  pool.trim_now();
  EXPECT_EQ(pool.warm_free(), 0u);
  EXPECT_EQ(pool.cold_free(), 7u);  // pages given back, mapping kept for `kept`
  EXPECT_EQ(pool.slabs(), 2u);
  EXPECT_FALSE(resident(stacks[0].hi - 64));
  touch(kept);  // still mapped
  pool.release(kept);
  pool.release(other);
  pool.trim_now();
  EXPECT_EQ(pool.slabs(), 1u);  // all of the first slab free and cold: unmapped
}

TEST_F(StackPoolTest, TheDecayGivesBackStacksLeftUnusedForASecond) {
  StackPool pool(kStack, 10);
  std::vector<StackRange> stacks;
  for (int i = 0; i < 2000; ++i) stacks.push_back(pool.acquire());
  for (const StackRange& s : stacks) touch(s);
  for (const StackRange& s : stacks) pool.release(s);
  ASSERT_EQ(pool.warm_free(), 2000u);
  // A program going on with one greenlet at a time: the burst's stacks are
  // not needed, and are given back after a second or two of that. Kept:
  // the cache's 10 and the one stack the program goes on using.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (pool.warm_free() > 11 && std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 64; ++i) pool.release(pool.acquire());
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(pool.warm_free(), 11u);
  EXPECT_LT(pool.slabs(), 4u);
}

// Giving a burst's stacks back all at once is a stall the runtime makes:
// 200,000 of them held the hub's thread 111 ms in munmap. The decay gives
// back at most a slab's worth at a time, on the cache's way.
TEST_F(StackPoolTest, TheDecayGivesABurstBackAPieceAtATime) {
  StackPool pool(kStack, 10);
  std::vector<StackRange> stacks;
  for (int i = 0; i < 3000; ++i) stacks.push_back(pool.acquire());
  for (const StackRange& s : stacks) pool.release(s);  // untouched: no pages to give back, only slabs
  ASSERT_EQ(pool.warm_free(), 3000u);
  std::size_t most_at_once = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (pool.warm_free() > 11 && std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 64; ++i) {
      const std::size_t before = pool.warm_free();
      pool.release(pool.acquire());
      most_at_once = std::max(most_at_once, before - std::min(before, pool.warm_free()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(pool.warm_free(), 11u);  // all given back in the end
  EXPECT_GT(most_at_once, 0u);
  EXPECT_LE(most_at_once, detail::CacheDecay::kMostPerCall);
}

TEST_F(StackPoolTest, StacksTakenAgainWithinTheSecondStayWarm) {
  StackPool pool(kStack, 10);
  std::vector<StackRange> stacks;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 500; ++i) stacks.push_back(pool.acquire());
    for (const StackRange& s : stacks) touch(s);
    for (const StackRange& s : stacks) pool.release(s);
    stacks.clear();
  }
  // Three bursts back to back reuse the first one's stacks.
  EXPECT_EQ(pool.warm_free(), 500u);
  EXPECT_EQ(pool.cold_free(), 0u);
}

// The smallest stacks: the hub's own is one of them, and mapping and
// guarding slabs (up to 256 stacks at once) runs on it.
TEST_F(StackPoolTest, GreenletsRunOnSixteenKiBStacks) {
  gs::RuntimeOptions o;
  o.stack_size = 16 * 1024;
  gs::configure(o);
  int finished = 0;
  std::thread t([&finished] {  // a new hub, made with these options
    std::vector<gs::GreenletRef> all;
    for (int i = 0; i < 600; ++i) {  // slabs of 8, 16, ... 256: six of them
      all.push_back(gs::spawn([&finished] {
        gs::yield();
        ++finished;
      }));
    }
    gs::joinall(all);
  });
  t.join();
  EXPECT_EQ(finished, 600);
}

}  // namespace
}  // namespace gs::test
