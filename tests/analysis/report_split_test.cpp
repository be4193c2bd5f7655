// report_split_test.cpp: the report's callback split (each callback's time
// less the greenlet runs inside it), done as the events stream, equals the
// split computed from a whole thread's timeline, run by run, on the sample
// traces and on cut and damaged copies of them.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "greenscope/analysis/report_model.h"
#include "greenscope/analysis/timeline.h"

namespace gs {
namespace {

using analysis::Span;
using analysis::SpanKind;

// greenlet_runs() is a thread's greenlet runs (the hub's excluded) in time
// order. One thread runs one greenlet at a time, so the runs never overlap
// and, sorted by begin, are sorted by end too (checked here).
std::vector<const Span*> greenlet_runs(const analysis::Timeline& t, std::uint64_t hub_greenlet) {
  std::vector<const Span*> runs;
  for (const Span& s : t.spans)
    if (s.kind == SpanKind::Running && s.greenlet != hub_greenlet) runs.push_back(&s);
  std::sort(runs.begin(), runs.end(), [](const Span* a, const Span* b) { return a->begin_ns < b->begin_ns; });
  for (std::size_t i = 1; i < runs.size(); ++i) EXPECT_LE(runs[i - 1]->end_ns, runs[i]->begin_ns) << "runs overlap";
  return runs;
}

// ran_within() is how long the runs overlap [begin, end): the runs that
// end after begin are found by binary search, so the whole split costs
// n log n, not a pass over every run for every callback.
std::int64_t ran_within(const std::vector<const Span*>& runs, std::int64_t begin, std::int64_t end) {
  std::int64_t ran = 0;
  auto r = std::partition_point(runs.begin(), runs.end(), [&](const Span* run) { return run->end_ns <= begin; });
  for (; r != runs.end() && (*r)->begin_ns < end; ++r)
    ran += std::max<std::int64_t>(0, std::min((*r)->end_ns, end) - std::max((*r)->begin_ns, begin));
  return ran;
}

// whole_split() is each callback kind's hub time from whole timelines: the
// callback's duration less its overlap with every greenlet run.
std::map<std::string, std::int64_t> whole_split(const traceio::Trace& trace) {
  std::map<std::string, std::int64_t> hub_ns;
  for (const traceio::ThreadInfo& th : trace.threads()) {
    if (!th.has_hub) continue;
    const analysis::Timeline t = analysis::build_timeline(th);
    const std::vector<const Span*> runs = greenlet_runs(t, th.hub_greenlet);
    for (const Span& s : t.spans) {
      if (s.kind != SpanKind::Watcher && s.kind != SpanKind::Callback) continue;
      const std::int64_t ran = ran_within(runs, s.begin_ns, s.end_ns);
      const std::string name = s.kind == SpanKind::Callback
                                   ? "run_callback"
                                   : std::string(traceio::to_string(static_cast<traceio::WatcherKind>(
                                         std::min<std::size_t>(s.code, trace_format::kWatcherKindCount - 1))));
      hub_ns[name] += s.duration() - ran;
    }
  }
  return hub_ns;
}

void expect_split_as_whole(const std::string& path) {
  const traceio::LoadResult r = traceio::load(path);
  if (!r.trace) return;
  std::map<std::string, std::int64_t> streamed;
  for (const analysis::CallbackRow& c : analysis::build_report(*r.trace).callbacks) streamed[c.name] += c.hub_ns;
  std::map<std::string, std::int64_t> whole = whole_split(*r.trace);
  std::erase_if(whole, [](const auto& kv) { return kv.second == 0; });
  std::erase_if(streamed, [](const auto& kv) { return kv.second == 0; });
  EXPECT_EQ(streamed, whole) << path;
}

TEST(ReportSplit, CallbackHubTimeIsTheWholeTimelinesOnSampleAndDamagedTraces) {
  std::mt19937 random(11);
  const std::string dir = testing::TempDir() + "/report_split";
  std::filesystem::create_directories(dir);
  for (const auto& entry : std::filesystem::directory_iterator(TRACES_DIR)) {
    if (entry.path().extension() != ".gstrace") continue;
    expect_split_as_whole(entry.path().string());
    std::ostringstream read;
    read << std::ifstream(entry.path(), std::ios::binary).rdbuf();
    const std::string whole = read.str();
    for (int k = 0; k < 4; ++k) {
      std::string bytes = k == 0 ? whole.substr(0, whole.size() / 2) : whole;
      for (int j = 0; k > 0 && j < 2 * k && bytes.size() > 64; ++j)
        bytes[64 + random() % (bytes.size() - 64)] ^= static_cast<char>(1 + random() % 255);
      const std::string path = dir + "/" + std::to_string(k) + "-" + entry.path().filename().string();
      std::ofstream(path, std::ios::binary) << bytes;
      expect_split_as_whole(path);
    }
  }
}

}  // namespace
}  // namespace gs
