// model_load_test.cpp: Model::load() and add() on files: errors leave the
// model as it was, damage is listed, cancelling takes nothing in, several
// traces share one axis by their wall-clock starts, and the golden trace
// still reads.
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <random>

#include "greenscope/analysis/model.h"
#include "greenscope/analysis/report_model.h"
#include "greenscope/runtime.h"
#include "model_test_support.h"
#include "test_support.h"

namespace gs::test {
namespace {

using namespace std::chrono_literals;
using analysis::Model;

class ModelLoadTest : public RuntimeTest {};

// busy_program() is a few greenlets that sleep and yield: a trace with
// something on every kind of track a hub thread has.
void busy_program() {
  std::vector<gs::GreenletRef> greenlets;
  for (int i = 0; i < 4; ++i)
    greenlets.push_back(gs::spawn([i] {
      for (int k = 0; k < 5; ++k) {
        if ((k + i) % 2 == 0) gs::yield();
        else gs::sleep(1ms);
      }
    }));
  gs::joinall(greenlets);
}

// Shape is what a failed load must leave as it was.
struct Shape {
  std::size_t processes, threads, tracks, greenlets, infos, stalls, switches, spans;
  bool operator==(const Shape&) const = default;
};

Shape shape(const Model& m) {
  return {m.processes.size(), m.threads.size(), m.tracks.size(), m.greenlets.size(),
          m.infos.size(),     m.stalls.size(),  m.switch_count(), m.span_count()};
}

TEST_F(ModelLoadTest, AFileThatIsNoTraceIsAnErrorAndChangesNothing) {
  ScopedFile trace(temp_trace_path("model-ok"));
  ASSERT_TRUE(record_to_file(trace.path, busy_program, without_monitor()));
  Model m;
  std::string error;
  ASSERT_TRUE(m.load(trace.path, &error)) << error;
  const Shape before = shape(m);
  ASSERT_GT(before.spans, 0u);

  const std::string missing = "/tmp/gs-model-test-no-such-dir/none.gstrace";
  EXPECT_FALSE(m.load(missing, &error));
  EXPECT_NE(error.find(missing), std::string::npos) << error;
  EXPECT_NE(error.find("No such file"), std::string::npos) << error;
  EXPECT_EQ(shape(m), before);

  ScopedFile text(temp_trace_path("model-text"));
  write_bytes(text.path, "this is a text file, not a trace\n");
  error.clear();
  EXPECT_FALSE(m.load(text.path, &error));
  EXPECT_NE(error.find("not a greenscope trace"), std::string::npos) << error;
  EXPECT_EQ(shape(m), before);

  ScopedFile newer(temp_trace_path("model-newer"));
  std::string bytes = read_bytes(trace.path);
  const std::uint16_t major = trace_format::kFormatMajor + 1;
  std::memcpy(bytes.data() + offsetof(trace_format::FileHeader, major), &major, sizeof major);
  write_bytes(newer.path, bytes);
  error.clear();
  EXPECT_FALSE(m.load(newer.path, &error));
  EXPECT_NE(error.find("upgrade greenscope"), std::string::npos) << error;
  EXPECT_EQ(shape(m), before);
  EXPECT_FALSE(m.load(missing, nullptr)) << "the error is optional";
}

TEST_F(ModelLoadTest, ATruncatedTraceLoadsWithItsProblemsListed) {
  ScopedFile whole(temp_trace_path("model-whole"));
  ASSERT_TRUE(record_to_file(whole.path, busy_program, without_monitor()));
  const std::string bytes = read_bytes(whole.path);
  ScopedFile cut(temp_trace_path("model-cut"));
  write_bytes(cut.path, bytes.substr(0, bytes.size() * 2 / 3));
  Model m;
  std::string error;
  ASSERT_TRUE(m.load(cut.path, &error)) << error;
  ASSERT_EQ(m.processes.size(), 1u);
  EXPECT_EQ(m.processes[0].path, cut.path);
  ASSERT_FALSE(m.processes[0].problems.empty());
  const auto r = traceio::load(cut.path);
  ASSERT_TRUE(r.trace);
  ASSERT_EQ(m.processes[0].problems.size(), r.trace->problems().size());
  for (std::size_t i = 0; i < r.trace->problems().size(); ++i)
    EXPECT_EQ(m.processes[0].problems[i].message, r.trace->problems()[i].message);
  EXPECT_FALSE(m.processes[0].stats.clean_end);
  EXPECT_GT(m.span_count(), 0u);
  expect_levels_well_formed(m);
}

TEST_F(ModelLoadTest, CancellingLeavesTheModelAsItWas) {
  ScopedFile trace(temp_trace_path("model-cancel"));
  ASSERT_TRUE(record_to_file(trace.path, busy_program, without_monitor()));
  Model m;
  const Shape empty = shape(m);
  std::string error;
  EXPECT_FALSE(m.load(trace.path, &error, [](double) { return false; }));
  EXPECT_EQ(error, "cancelled");
  EXPECT_EQ(shape(m), empty);
  // Cancelled while the tracks are built, after the file was read.
  error.clear();
  EXPECT_FALSE(m.load(trace.path, &error, [](double done) { return done < 0.9; }));
  EXPECT_EQ(error, "cancelled");
  EXPECT_EQ(shape(m), empty);
  // Not cancelled: progress climbs to 1.
  std::vector<double> seen;
  ASSERT_TRUE(m.load(trace.path, &error, [&seen](double done) {
    seen.push_back(done);
    return true;
  })) << error;
  ASSERT_FALSE(seen.empty());
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(seen.back(), 1.0);
  EXPECT_EQ(m.processes.size(), 1u);
}

// expect_shifted() checks that `later` holds `alone`'s tracks `ns` later.
void expect_shifted(const Model& alone, const Model& both, std::size_t first_track, std::int64_t ns) {
  for (std::size_t t = 0; t < alone.tracks.size(); ++t) {
    const auto& a = alone.tracks[t].levels;
    const auto& b = both.tracks[first_track + t].levels;
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t l = 0; l < a.size(); ++l) {
      ASSERT_EQ(a[l].size(), b[l].size());
      for (std::size_t i = 0; i < a[l].size(); ++i) {
        EXPECT_EQ(a[l].begin[i] + ns, b[l].begin[i]);
        EXPECT_EQ(a[l].end[i] + ns, b[l].end[i]);
      }
    }
  }
}

TEST_F(ModelLoadTest, TwoTracesSitOnOneAxisByTheirWallClockStarts) {
  auto first = record(busy_program, without_monitor());
  auto second = record(busy_program, without_monitor());
  ASSERT_TRUE(first && second);
  const std::int64_t w1 = first->process().start_wall_ns, w2 = second->process().start_wall_ns;
  ASSERT_GT(w1, 0);
  ASSERT_GT(w2, 0);
  const std::int64_t base = std::min(w1, w2);
  Model alone1, alone2;
  alone1.add(*first);
  alone2.add(*second);
  for (const bool in_order : {true, false}) {
    SCOPED_TRACE(in_order ? "added in order" : "the later one added first");
    Model m;
    m.add(in_order ? *first : *second);
    m.add(in_order ? *second : *first);
    expect_levels_well_formed(m);
    ASSERT_EQ(m.processes.size(), 2u);
    const std::size_t p1 = in_order ? 0 : 1, p2 = 1 - p1;
    EXPECT_EQ(m.processes[p1].offset_ns, w1 - base);
    EXPECT_EQ(m.processes[p2].offset_ns, w2 - base);
    EXPECT_EQ(m.processes[p1].begin_ns, first->begin_ns() + w1 - base);
    const std::size_t tracks1 = alone1.tracks.size();
    expect_shifted(alone1, m, in_order ? 0 : alone2.tracks.size(), w1 - base);
    expect_shifted(alone2, m, in_order ? tracks1 : 0, w2 - base);
    const std::vector<analysis::SwitchLink> links = m.switch_links();
    EXPECT_EQ(links.size(), alone1.switch_count() + alone2.switch_count());
    EXPECT_TRUE(std::is_sorted(links.begin(), links.end(),
                               [](const auto& x, const auto& y) { return x.time_ns < y.time_ns; }));
    EXPECT_EQ(m.begin_ns(), std::min(alone1.begin_ns() + w1 - base, alone2.begin_ns() + w2 - base));
    EXPECT_EQ(m.end_ns(), std::max(alone1.end_ns() + w1 - base, alone2.end_ns() + w2 - base));
    for (const analysis::GreenletSummary& g : m.greenlets)
      if (g.track != UINT32_MAX) {
        EXPECT_EQ(m.tracks[g.track].process, g.process) << "a greenlet's track is its process's";
      }
  }
}

// brute_window() is window() by looking at every span.
std::pair<std::size_t, std::size_t> brute_window(const analysis::SpanColumns& c, std::int64_t from, std::int64_t to) {
  std::size_t first = c.size(), last = 0;
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (c.begin[i] < to && c.end[i] > from) {
      first = std::min(first, i);
      last = i + 1;
    }
  }
  return first >= last ? std::pair<std::size_t, std::size_t>{0, 0} : std::pair{first, last};
}

void expect_windows_exact(const Model& m) {
  std::mt19937_64 random(20240611);
  const std::int64_t lo = m.begin_ns() - 1000, hi = m.end_ns() + 1000;
  std::uniform_int_distribution<std::int64_t> anywhere(lo, hi);
  std::size_t checked = 0;
  for (const analysis::Track& track : m.tracks) {
    for (const analysis::SpanColumns& c : track.levels) {
      std::vector<std::pair<std::int64_t, std::int64_t>> windows = {{lo, hi}, {hi, hi + 5}, {lo - 5, lo}};
      for (int i = 0; i < 200; ++i) {
        std::int64_t a = anywhere(random), b = anywhere(random);
        windows.emplace_back(std::min(a, b), std::max(a, b));
      }
      // Windows that start or end exactly where spans do.
      for (std::size_t i = 0; i < c.size() && i < 50; ++i) {
        windows.emplace_back(c.begin[i], c.end[i]);
        windows.emplace_back(c.end[i], c.end[i] + 1);
        windows.emplace_back(c.begin[i] - 1, c.begin[i]);
        windows.emplace_back(c.begin[i], c.begin[i]);
      }
      for (const auto& [from, to] : windows) {
        auto got = c.window(from, to);
        const auto want = brute_window(c, from, to);
        if (got.first == got.second) got = {0, 0};
        ASSERT_EQ(got, want) << "window [" << from << ", " << to << ") of " << c.size() << " spans";
        // Every span inside the window overlaps it: no gaps in between.
        for (std::size_t i = got.first; i < got.second; ++i) ASSERT_TRUE(c.begin[i] < to && c.end[i] > from);
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 1000u);
}

TEST_F(ModelLoadTest, WindowIsExactlyTheOverlappingSpans) {
  auto t = record(busy_program, without_monitor());
  ASSERT_TRUE(t);
  Model m;
  m.add(*t);
  expect_windows_exact(m);
}

TEST(ModelGolden, TheGoldenV1TraceLoads) {
  Model m;
  std::string error;
  ASSERT_TRUE(m.load(GOLDEN_TRACE, &error)) << error;
  expect_levels_well_formed(m);
  expect_windows_exact(m);
  ASSERT_EQ(m.processes.size(), 1u);
  EXPECT_EQ(m.processes[0].info.major, 1);
  const auto r = traceio::load(GOLDEN_TRACE);
  ASSERT_TRUE(r.trace);
  EXPECT_EQ(m.processes[0].problems.size(), r.trace->problems().size());
  ASSERT_EQ(m.threads.size(), r.trace->threads().size());
  const analysis::Report report = analysis::build_report(*r.trace);
  ASSERT_EQ(m.greenlets.size(), report.greenlets.size());
  for (const analysis::GreenletRow& row : report.greenlets) {
    const analysis::GreenletSummary* g = m.greenlet(0, row.id);
    ASSERT_NE(g, nullptr) << row.id;
    EXPECT_EQ(g->running_ns, row.running_ns) << row.name;
    EXPECT_EQ(g->runs, row.runs) << row.name;
    EXPECT_EQ(g->waiting_ns, row.waiting_ns) << row.name;
  }
  EXPECT_GT(m.span_count(), 0u);
  EXPECT_GT(m.resident_bytes(), m.retained_trace_bytes());
  EXPECT_TRUE(m.stalls.empty()) << "format 1 had no stalls";
}

}  // namespace
}  // namespace gs::test
