#include "stack_pool.h"
#include "test_support.h"

namespace gs::test {
namespace {

class ScaleTest : public RuntimeTest {};

// 100,000 greenlets alive and blocked at once: more than vm.max_map_count
// allows mprotect()ed guard pages for, so without guard regions (Linux
// 6.13) stacks past the cap fall back to unguarded ones with a canary
// (docs/runtime.md); with them every stack is guarded.
TEST_F(ScaleTest, HundredThousandGreenletsAliveAtOnce) {
#if defined(GS_SANITIZE_THREAD)
  GTEST_SKIP() << "ThreadSanitizer maps a ~1.2 MiB trace per fiber and cannot hold 100,000; "
                  "the release and ASan passes run this test in full";
#endif
  constexpr int kCount = 100000;
  gs::Event go;
  int finished = 0;
  std::vector<Greenlet<void>> all;
  all.reserve(kCount);
  for (int i = 0; i < kCount; ++i) {
    all.push_back(gs::spawn([&] {
      go.wait();
      ++finished;
    }));
  }
  gs::yield();  // every one of them starts and blocks
  EXPECT_EQ(gs::get_hub().live_greenlets(), static_cast<std::size_t>(kCount));
  int waiting = 0, guarded = 0;
  gs::get_hub().for_each_greenlet([&](const GreenletInfo& g) {
    waiting += g.state() == GreenletState::Waiting;
    guarded += g.stack().guarded;
  });
  EXPECT_EQ(waiting, kCount);
  if (detail::StackPool::guard_regions()) {
    EXPECT_EQ(guarded, kCount);  // guard regions cost no mapping: no cap
  } else {
    EXPECT_GT(guarded, 0);
    EXPECT_LT(guarded, kCount);
  }
  go.set();
  gs::joinall(all);
  EXPECT_EQ(finished, kCount);
}

}  // namespace
}  // namespace gs::test
