// switch_store_test.cpp: SwitchStore (analysis/src/switch_store.h) gives
// back every switch it was given, escapes included, whatever the window.
#include <gtest/gtest.h>

#include "switch_store.h"

namespace gs::analysis::detail {
namespace {

struct Added {
  std::vector<SwitchLink> all;
  SwitchStore store{100};
};

// fill() adds 5000 switches 1 us apart, one 10 s gap (past a 32-bit delta)
// and one to a track 70000 past the thread's first (past 16 bits).
void fill(Added& a) {
  std::int64_t t = 1'000'000;
  for (std::uint32_t i = 0; i < 5000; ++i) {
    t += i == 2500 ? 10'000'000'000 : 1000;
    const std::uint32_t from = 100 + i % 3, to = i == 4000 ? 70100 : 101 + i % 5;
    a.all.push_back(SwitchLink{t, from, to});
    a.store.add(t, from, to);
  }
}

bool same(const SwitchLink& x, const SwitchLink& y) {
  return x.time_ns == y.time_ns && x.from_track == y.from_track && x.to_track == y.to_track;
}

TEST(SwitchStore, GivesBackEverySwitchEscapesIncluded) {
  Added a;
  fill(a);
  EXPECT_EQ(a.store.size(), 5000u);
  std::vector<SwitchLink> out;
  a.store.collect(INT64_MIN, INT64_MAX, out);
  ASSERT_EQ(out.size(), a.all.size());
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_TRUE(same(out[i], a.all[i])) << i;
  a.store.shrink();
  EXPECT_LT(a.store.bytes(), 5000u * 8 + 1024);  // 8 bytes a switch, 2 escapes, checkpoints
}

TEST(SwitchStore, WindowsHoldExactlyTheSwitchesInside) {
  Added a;
  fill(a);
  for (const std::size_t first : {0u, 1u, 1023u, 1024u, 2499u, 2500u, 3999u, 4000u, 4999u}) {
    for (const std::size_t n : {0u, 1u, 5u, 1500u}) {
      const std::int64_t from = a.all[first].time_ns;
      const std::size_t last = std::min<std::size_t>(first + n, a.all.size() - 1);
      const std::int64_t to = last == first ? from : a.all[last].time_ns;
      std::vector<SwitchLink> out;
      a.store.collect(from, to, out);
      ASSERT_EQ(out.size(), last - first) << first << "+" << n;
      for (std::size_t i = 0; i < out.size(); ++i) EXPECT_TRUE(same(out[i], a.all[first + i]));
    }
  }
}

TEST(SwitchStore, ShiftMovesEverySwitch) {
  Added a;
  fill(a);
  a.store.shift(500);
  std::vector<SwitchLink> out;
  a.store.collect(a.all[3000].time_ns + 500, a.all[3002].time_ns + 500, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].time_ns, a.all[3000].time_ns + 500);
  EXPECT_EQ(out[1].to_track, a.all[3001].to_track);
}

TEST(SwitchStore, RebaseRenumbersEveryTrackEscapesIncluded) {
  // A store filled with track numbers from 0, as a thread built on its own
  // fills it, then moved to start at track 100 as the Model places it.
  Added a;
  fill(a);
  SwitchStore local;
  for (const SwitchLink& s : a.all) local.add(s.time_ns, s.from_track - 100, s.to_track - 100);
  local.rebase(100);
  std::vector<SwitchLink> out;
  local.collect(INT64_MIN, INT64_MAX, out);
  ASSERT_EQ(out.size(), a.all.size());
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_TRUE(same(out[i], a.all[i])) << i;
}

}  // namespace
}  // namespace gs::analysis::detail
