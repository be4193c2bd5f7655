// hunt_test.cpp: issue 13's planted-bug suite. Each kind of
// non-cooperative code runs in hunt_planted, traced as a user would trace
// it (GREENSCOPE_TRACE=..., which starts the stall monitor at its default
// threshold), and the stall report read from the trace must match what the
// program knows by construction and measured itself: the culprit greenlet
// (or callback) and function, the duration within 10 % of the program's
// own measurement, the verdict, and no other stall. Each kind runs idle,
// among 1,000 idle greenlets, and on a machine loaded with one busy
// process per core.
//
// `hunt_tests --table [--runs N]` runs every kind idle and loaded N times
// (default 5) and prints docs/stalls.md's table (scripts/hunt-table.sh).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "hunt_check.h"
#include "hunt_run.h"

namespace hunt {
namespace {

const std::vector<std::string> kKinds = {"cpu-loop", "zlib",     "page-faults", "read",      "sqlite",     "mutex",
                                         "dns",      "callback", "signal",      "nanosleep", "rare-yields"};

enum class Variant { Idle, Crowd, Loaded };

const char* variant_name(Variant v) {
  switch (v) {
    case Variant::Idle: return "Idle";
    case Variant::Crowd: return "AmongIdleGreenlets";
    case Variant::Loaded: return "OnALoadedMachine";
  }
  return "?";
}

struct PlantedRun {
  RunResult result;
  std::optional<Truth> truth;
  Finding finding;
};

// plant() runs one kind traced and examines its trace.
PlantedRun plant(const std::string& kind, Variant v) {
  const std::string dir = make_temp_dir();
  const std::string trace = dir + "/" + kind + ".gstrace";
  std::vector<std::string> argv = {HUNT_PLANTED, kind, "--dir", dir};
  if (v == Variant::Crowd) {
    argv.push_back("--crowd");
    argv.push_back("1000");
  }
  PlantedRun r;
  {
    std::optional<Hogs> hogs;
    if (v == Variant::Loaded) hogs.emplace(hog_count());
    r.result = run(argv, {{"GREENSCOPE_TRACE", trace}, {"GREENSCOPE_TRACE_QUIET", "1"}});
  }
  r.truth = parse_truth(r.result.out);
  if (r.truth) r.finding = examine(*r.truth, trace);
  // HUNT_KEEP_TRACES=1 keeps them (their paths go to stderr), to look into a failure.
  if (const char* keep = std::getenv("HUNT_KEEP_TRACES"); keep != nullptr && *keep == '1') {
    std::fprintf(stderr, "hunt: kept %s\n", trace.c_str());
  } else {
    ::unlink(trace.c_str());
    ::rmdir(dir.c_str());
  }
  return r;
}

std::string kind_test_name(const std::string& kind) {
  std::string out;
  bool up = true;
  for (const char c : kind) {
    if (c == '-') {
      up = true;
      continue;
    }
    out += up ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    up = false;
  }
  return out;
}

class Hunt : public testing::TestWithParam<std::tuple<std::string, Variant>> {};

TEST_P(Hunt, TheStallReportMatchesTheTruth) {
  const auto& [kind, variant] = GetParam();
#if defined(GS_SANITIZE_THREAD)
  // Seen on every TSan run: sqlite3's open() of its journal, called in a
  // greenlet, crashes inside TSan's interceptor (CurrentStackId hashing a
  // stack trace reads unmapped memory, or overflows the greenlet's 128 KiB
  // stack). A finding to look into, not something this suite can check.
  if (kind == "sqlite")
    GTEST_SKIP() << "under TSan, sqlite3 in a greenlet crashes in TSan's open64 interceptor (StackDepot hash of "
                    "the current stack): the runtime's fiber support under TSan, to be looked into";
#endif
  const PlantedRun r = plant(kind, variant);
  ASSERT_EQ(r.result.code, 0) << r.result.err;
  ASSERT_TRUE(r.truth) << "no truth line in:\n" << r.result.out << r.result.err;
  std::string failures, limited;
  for (const Problem& p : problems(r.finding)) {
    if (p.limit.empty()) failures += "  " + p.text + "\n";
    else limited += "  " + p.text + "\n    (" + p.limit + ")\n";
  }
  EXPECT_TRUE(failures.empty()) << kind << ": the report disagrees with the truth:\n"
                                << failures << limited << "truth: " << r.result.out;
  if (failures.empty() && !limited.empty())
    GTEST_SKIP() << kind << ": a check this sanitizer build cannot pass:\n" << limited << "truth: " << r.result.out;
}

INSTANTIATE_TEST_SUITE_P(Planted, Hunt,
                         testing::Combine(testing::ValuesIn(kKinds),
                                          testing::Values(Variant::Idle, Variant::Crowd, Variant::Loaded)),
                         [](const testing::TestParamInfo<Hunt::ParamType>& p) {
                           return kind_test_name(std::get<0>(p.param)) + "_" +
                                  variant_name(std::get<1>(p.param));
                         });

// --- the table (hunt_tests --table) -----------------------------------------------

struct Cell {
  std::vector<std::string> verdicts;
  double worst_error = 0;
  std::size_t samples_min = SIZE_MAX, samples_max = 0, runs = 0, failed = 0, other_stalls = 0;
  std::vector<std::string> problems;
  std::size_t limited = 0;  // runs whose only problems are a sanitizer's limits
};

std::string percent(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.2f %%", x * 100);
  return buf;
}

void add(Cell& c, const PlantedRun& r) {
  ++c.runs;
  if (r.result.code != 0 || !r.truth) {
    ++c.failed;
    c.problems.push_back("the program failed: " + r.result.err);
    return;
  }
  const Finding& f = r.finding;
  const std::vector<Problem> p = problems(f);
  const bool hard = std::any_of(p.begin(), p.end(), [](const Problem& x) { return x.limit.empty(); });
  if (!p.empty()) ++c.failed;
  if (!p.empty() && !hard) ++c.limited;
  for (const Problem& x : p) c.problems.push_back(x.text + (x.limit.empty() ? "" : " [" + x.limit + "]"));
  c.other_stalls += f.others.size();
  std::string verdict;
  if (f.truth.owner == "none") {
    char buf[96];
    std::snprintf(buf, sizeof buf, "loop lag %.0f ms in %zu, %zu stalls", static_cast<double>(f.lag_ns) / 1e6,
                  f.lags, f.renderer_stall_count());
    verdict = buf;
    if (std::abs(static_cast<double>(f.lag_ns - f.truth.duration_ns)) > std::abs(c.worst_error) * static_cast<double>(f.truth.duration_ns))
      c.worst_error = static_cast<double>(f.lag_ns - f.truth.duration_ns) / static_cast<double>(f.truth.duration_ns);
  } else if (f.planted) {
    verdict = verdict_text(*f.trace, *f.planted);
    if (std::abs(f.duration_error) > std::abs(c.worst_error)) c.worst_error = f.duration_error;
    c.samples_min = std::min(c.samples_min, f.samples.all);
    c.samples_max = std::max(c.samples_max, f.samples.all);
  } else {
    verdict = "no stall";
  }
  if (std::find(c.verdicts.begin(), c.verdicts.end(), verdict) == c.verdicts.end()) c.verdicts.push_back(verdict);
}

std::string cell_text(const Cell& c) {
  std::string v;
  for (const std::string& x : c.verdicts) v += (v.empty() ? "" : " / ") + x;
  std::string samples = c.samples_max == 0 ? "-" : std::to_string(c.samples_min) + "–" + std::to_string(c.samples_max);
  return v + " | " + percent(c.worst_error) + " | " + samples + " | " + std::to_string(c.runs - c.failed) + "/" +
         std::to_string(c.runs) + (c.limited > 0 ? " (" + std::to_string(c.limited) + " a sanitizer's limit)" : "");
}

int print_table(int runs) {
  std::printf("| kind | culprit (function, greenlet) | idle: verdict | error | samples | passed | loaded: verdict | "
              "error | samples | passed | gevent's monitor thread |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
  std::vector<std::string> notes;
  for (const std::string& kind : kKinds) {
    Cell idle, loaded;
    std::string culprit, gevent;
    for (int i = 0; i < runs; ++i) {
      const PlantedRun a = plant(kind, Variant::Idle);
      add(idle, a);
      if (a.truth && culprit.empty()) {
        culprit = a.truth->function + ", " + (a.truth->owner == "callback" ? "a run_callback() callback" : a.truth->greenlet);
        gevent = gevent_would_report(*a.truth);
      }
      add(loaded, plant(kind, Variant::Loaded));
    }
    std::printf("| %s | %s | %s | %s | %s |\n", kind.c_str(), culprit.c_str(), cell_text(idle).c_str(),
                cell_text(loaded).c_str(), gevent.c_str());
    std::fflush(stdout);
    for (const std::string& p : idle.problems) notes.push_back(kind + " (idle): " + p);
    for (const std::string& p : loaded.problems) notes.push_back(kind + " (loaded): " + p);
  }
  if (!notes.empty()) {
    std::printf("\nWhere a run disagreed with the truth:\n");
    for (const std::string& n : notes) std::printf("- %s\n", n.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace hunt

int main(int argc, char** argv) {
  bool table = false;
  int runs = 5;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--table") == 0) table = true;
    if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) runs = std::atoi(argv[i + 1]);
  }
  if (table) return hunt::print_table(std::max(1, runs));
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
