// flame_test.cpp: the stall flame graph's tree (viewer/src/flame_graph.h),
// without a window: frame names from frame_lines(), and the samples of the
// sample trace's longest stall merged by path.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>

#include "flame_graph.h"

namespace gs::viewer {
namespace {

TEST(FlameGraph, FrameNamesAreEachFramesInnermostScopeOutermostFirst) {
  const std::vector<std::string> lines = {
      "#0 spin (demo.cpp:12)",
      "#1 operator() (demo.cpp:30) [inlined]",
      "   std::__invoke<lambda> (invoke.h:61) [inlined]",
      "   gs::detail::GreenletImpl<void>::run() (greenlet.h:96)",
      "#2 0x7f00deadbeef (libfoo.so+0x1234)",
  };
  EXPECT_EQ(frame_names(lines), (std::vector<std::string>{"0x7f00deadbeef", "operator()", "spin"}));
  EXPECT_TRUE(frame_names({}).empty());
}

TEST(FlameGraph, TheLongestStallsSamplesMergeByPath) {
  analysis::Model m;
  std::string error;
  ASSERT_TRUE(m.load(GS_TRACES_DIR "/stall-zoo.gstrace", &error)) << error;
  ASSERT_FALSE(m.stalls.empty());
  const auto longest = std::max_element(m.stalls.begin(), m.stalls.end(), [](const auto& a, const auto& b) {
    return a.duration_ns < b.duration_ns;
  });
  std::map<std::uint64_t, std::size_t> counts;
  for (const traceio::StallSampleInfo& s : longest->samples) ++counts[s.stack];
  const FlameNode root = build_flame(m, 0, {counts.begin(), counts.end()});
  EXPECT_EQ(root.samples, longest->samples.size());
  // Every level holds no more samples than its parent, children most first,
  // and the CPU-bound loop of examples/stall_zoo is on a sampled path.
  bool found = false;
  std::function<void(const FlameNode&)> check = [&](const FlameNode& n) {
    std::size_t sum = 0;
    for (std::size_t i = 0; i < n.children.size(); ++i) {
      sum += n.children[i].samples;
      if (i > 0) {
        EXPECT_GE(n.children[i - 1].samples, n.children[i].samples);
      }
      if (n.children[i].name.find("render_report") != std::string::npos) found = true;
      check(n.children[i]);
    }
    EXPECT_LE(sum, n.samples) << n.name;
  };
  check(root);
  EXPECT_TRUE(found) << "no render_report in the longest stall's flame graph";
}

}  // namespace
}  // namespace gs::viewer
