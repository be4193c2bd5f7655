// golden_test.cpp: traces/golden-v1.gstrace, written by the real tracer,
// must keep loading cleanly with every later reader.
#include <gtest/gtest.h>

#include "trace_builder.h"

namespace gs::test {
namespace {

using namespace gs::traceio;

const std::string kGolden = std::string(GS_TRACES_DIR) + "/golden-v1.gstrace";

TEST(Golden, LoadsWithoutProblems) {
  LoadResult r = load(kGolden);
  ASSERT_TRUE(r.trace) << r.error;
  const Trace& t = *r.trace;
  for (const Problem& p : t.problems()) ADD_FAILURE() << "@" << p.offset << ": " << p.message;
  EXPECT_EQ(t.process().major, 1);
  EXPECT_EQ(t.process().clock, "tsc");
  EXPECT_TRUE(t.stats().clean_end);
  EXPECT_EQ(t.stats().events, t.stats().end_events);
  EXPECT_EQ(t.stats().dropped, t.stats().end_dropped);
  EXPECT_GE(t.threads().size(), 2u);
  EXPECT_LE(t.begin_ns(), t.end_ns());
}

TEST(Golden, EverySwitchHasKnownGreenlets) {
  LoadResult r = load(kGolden);
  ASSERT_TRUE(r.trace) << r.error;
  for (const ThreadInfo& thread : r.trace->threads()) {
    for (const Event& e : thread.events) {
      if (e.type != EventType::Switch) continue;
      EXPECT_NE(e.a, 0u) << thread.name << " @" << e.time_ns;
      EXPECT_NE(e.b, 0u) << thread.name << " @" << e.time_ns;
      EXPECT_TRUE(r.trace->greenlets().contains(e.a));
      EXPECT_TRUE(r.trace->greenlets().contains(e.b));
    }
  }
}

TEST(Golden, NamesAndExitsComeThrough) {
  LoadResult r = load(kGolden);
  ASSERT_TRUE(r.trace) << r.error;
  const auto& g = r.trace->greenlets();
  bool renamed = false, failed = false, hub = false;
  for (const auto& [id, info] : g) {
    renamed |= info.name == "pipe-reader";
    failed |= info.exit_kind == ExitKind::Failed && !info.error.empty();
    hub |= info.name == "hub";
  }
  EXPECT_TRUE(renamed);
  EXPECT_TRUE(failed);
  EXPECT_TRUE(hub);
}

}  // namespace
}  // namespace gs::test
