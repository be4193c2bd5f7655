#include <gtest/gtest.h>

#include "greenscope/traceio.h"

namespace gs::test {
namespace {

using namespace gs::traceio;

TEST(Names, EventTypesAreLowerCaseEnumNames) {
  EXPECT_EQ(to_string(EventType::Dropped), "dropped");
  EXPECT_EQ(to_string(EventType::Switch), "switch");
  EXPECT_EQ(to_string(EventType::PatchedWaitBegin), "patched_wait_begin");
  EXPECT_EQ(to_string(EventType::TimeoutExpired), "timeout_expired");
  EXPECT_EQ(to_string(EventType::WaitStack), "wait_stack");
  EXPECT_EQ(to_string(EventType::StallSample), "stall_sample");
  EXPECT_EQ(to_string(EventType::Crash), "crash");
  for (std::size_t i = 0; i < kEventTypeCount; ++i) {
    EXPECT_NE(to_string(static_cast<EventType>(i)), "unknown") << i;
  }
}

TEST(Names, ReasonsExitKindsAndWatcherKinds) {
  EXPECT_EQ(to_string(Reason::Yield), "yield");
  EXPECT_EQ(to_string(Reason::Io), "io");
  EXPECT_EQ(to_string(Reason::Event), "event");
  EXPECT_EQ(to_string(Reason::Lock), "lock");
  EXPECT_EQ(to_string(Reason::LoopExit), "loop_exit");
  EXPECT_EQ(to_string(ExitKind::Failed), "failed");
  EXPECT_EQ(to_string(ExitKind::NeverStarted), "never_started");
  EXPECT_EQ(to_string(WatcherKind::Timer), "timer");
  EXPECT_EQ(to_string(WatcherKind::Child), "child");
  EXPECT_EQ(to_string(StallOwner::Greenlet), "greenlet");
  EXPECT_EQ(to_string(StallOwner::Watcher), "watcher");
  EXPECT_EQ(to_string(StallKind::CpuBound), "cpu-bound");
  EXPECT_EQ(to_string(StallKind::Blocked), "blocked");
}

TEST(Names, ValuesFromDamagedOrNewerFilesAreUnknown) {
  EXPECT_EQ(to_string(static_cast<EventType>(200)), "unknown");
  EXPECT_EQ(to_string(static_cast<Reason>(14)), "unknown");
  EXPECT_EQ(to_string(static_cast<ExitKind>(9)), "unknown");
  EXPECT_EQ(to_string(static_cast<WatcherKind>(8)), "unknown");
  EXPECT_EQ(to_string(static_cast<StallOwner>(4)), "unknown");
  EXPECT_EQ(to_string(static_cast<StallKind>(2)), "unknown");
}

}  // namespace
}  // namespace gs::test
