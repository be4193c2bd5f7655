// stall_verdict_test.cpp: judge() on the measurements of stalls whose
// verdict is known: CPU loops, sleeps in one call or several, and the
// machine's own stalls (a loaded machine stretching microseconds of work).
#include <gtest/gtest.h>

#include <vector>

#include "greenscope/stall_verdict.h"

namespace {

namespace verdict = gs::verdict;
using verdict::VerdictKind;

struct Sample {
  bool in_syscall = false;
  int syscall = -1;
};

constexpr int kRead = 0;
constexpr int kFdatasync = 75;
constexpr int kUnlink = 87;
constexpr std::int64_t kMs = 1'000'000;

std::vector<Sample> running(int n) { return std::vector<Sample>(static_cast<std::size_t>(n)); }

std::vector<Sample> asleep_in(int nr, int n) { return std::vector<Sample>(static_cast<std::size_t>(n), Sample{true, nr}); }

// watched() is a stall of `duration` ms found at the 10 ms threshold and
// watched from then to its end, with `cpu` and `run_delay` ms over that.
verdict::Measured watched(std::int64_t duration, std::int64_t cpu, std::int64_t run_delay = -1) {
  return {cpu * kMs, (duration - 10) * kMs, run_delay < 0 ? -1 : run_delay * kMs, duration * kMs, 10 * kMs};
}

TEST(StallVerdict, ACpuLoopOnAFreeCpuIsCpuBound) {
  const verdict::Verdict v = verdict::judge(watched(120, 108), running(50));
  EXPECT_EQ(v.kind, VerdictKind::CpuBound) << verdict::text(v);
  EXPECT_EQ(verdict::text(v), "cpu-bound");
}

// A 100 ms computation on a machine that gives it a seventh of a CPU takes
// 700 ms: its own time is far over the threshold, so it is the code's
// stall, with the wait said.
TEST(StallVerdict, ACpuLoopOnALoadedMachineStaysCpuBound) {
  const verdict::Verdict v = verdict::judge(watched(700, 99, 590), running(60));
  EXPECT_EQ(v.kind, VerdictKind::CpuBound) << verdict::text(v);
  EXPECT_NE(verdict::text(v).find("waiting for a CPU (a loaded machine)"), std::string::npos) << verdict::text(v);
}

// Even at 90 % waiting: 150 ms of its own CPU time is a stall on any machine.
TEST(StallVerdict, ALongComputationMostlyWaitingForACpuIsStillCpuBound) {
  const verdict::Verdict v = verdict::judge(watched(1510, 150, 1350), running(100));
  EXPECT_EQ(v.kind, VerdictKind::CpuBound) << verdict::text(v);
}

// The hub's microseconds of work stretched to 25 ms by a loaded machine:
// under a millisecond of its own, the machine's stall.
TEST(StallVerdict, MicrosecondsOfWorkStretchedByALoadedMachineAreStarved) {
  const verdict::Verdict v = verdict::judge(watched(25, 0, 14), running(6));
  EXPECT_EQ(v.kind, VerdictKind::Starved) << verdict::text(v);
  EXPECT_EQ(verdict::text(v).rfind("starved: ", 0), 0u) << verdict::text(v);
}

// Before 2.3 the threshold is not in the trace: 90 % waiting decides.
TEST(StallVerdict, WithoutTheThresholdNinetyPercentWaitingIsStarved) {
  verdict::Measured m = watched(700, 99, 590);
  m.threshold_ns = 0;
  EXPECT_EQ(verdict::judge(m, running(60)).kind, VerdictKind::CpuBound);
  m.cpu_ns = 30 * kMs;
  EXPECT_EQ(verdict::judge(m, running(60)).kind, VerdictKind::Starved);
}

TEST(StallVerdict, ASleepInOneCallIsBlockedInIt) {
  const verdict::Verdict v = verdict::judge(watched(120, 1), asleep_in(kRead, 50));
  EXPECT_EQ(v.kind, VerdictKind::Blocked);
  EXPECT_EQ(verdict::text(v), "blocked in read");
}

// A blocked call stays blocked on a loaded machine: its time asleep is its own.
TEST(StallVerdict, ASleepOnALoadedMachineIsNotStarved) {
  std::vector<Sample> samples = asleep_in(kRead, 40);
  for (const Sample& s : running(8)) samples.push_back(s);
  const verdict::Verdict v = verdict::judge(watched(120, 1, 30), samples);
  EXPECT_EQ(v.kind, VerdictKind::Blocked) << verdict::text(v);
}

TEST(StallVerdict, CpuAndSyncsTogetherAreMixedWithTheirShares) {
  std::vector<Sample> samples = running(4);
  for (const Sample& s : asleep_in(kFdatasync, 14)) samples.push_back(s);
  for (const Sample& s : asleep_in(kUnlink, 2)) samples.push_back(s);
  const verdict::Verdict v = verdict::judge(watched(60, 15), samples);
  EXPECT_EQ(v.kind, VerdictKind::Mixed) << verdict::text(v);
  ASSERT_FALSE(v.syscalls.empty());
  EXPECT_EQ(v.syscalls.front().syscall, kFdatasync);
  EXPECT_NE(verdict::text(v).find("in fdatasync"), std::string::npos) << verdict::text(v);
}

// A stall the hub found itself at its end has nothing measured: samples
// alone, and with none, no verdict.
TEST(StallVerdict, NothingMeasuredIsUnknown) {
  EXPECT_EQ(verdict::judge(verdict::Measured{}, running(0)).kind, VerdictKind::Unknown);
  const verdict::Verdict v = verdict::judge(verdict::Measured{}, asleep_in(kRead, 3));
  EXPECT_EQ(v.kind, VerdictKind::Blocked);
  EXPECT_EQ(verdict::text(v), "blocked in read (by samples)");
}

}  // namespace
