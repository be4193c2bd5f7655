// model_test.cpp: Model::load() keeps no events and packs the switches,
// yet gives what building from a trace that keeps its events gives: the
// same tracks, span for span, the same greenlets, the same switch links.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <unordered_map>

#include "busy_trace.h"
#include "greenscope/analysis/model.h"

namespace gs::analysis {
namespace {

using test::BusyTraceOptions;
using test::busy_trace;
using test::write_file;

// Loaded is one file loaded both ways: by Model::load(), and by add() of a
// trace the test keeps (events included).
struct Loaded {
  std::string path;
  Model loaded, shared;
  std::shared_ptr<const traceio::Trace> trace;
  Loaded(const test::Bytes& bytes) : path(write_file(bytes, "model")) {
    std::string error;
    EXPECT_TRUE(loaded.load(path, &error)) << error;
    traceio::LoadResult r = traceio::load(path);
    trace = std::move(r.trace);
    shared.add(trace);
  }
  ~Loaded() { std::remove(path.c_str()); }
};

void expect_same_columns(const SpanColumns& x, const SpanColumns& y) {
  EXPECT_EQ(x.begin, y.begin);
  EXPECT_EQ(x.end, y.end);
  EXPECT_EQ(x.kind, y.kind);
  EXPECT_EQ(x.code, y.code);
  EXPECT_EQ(x.info, y.info);
  EXPECT_EQ(x.clipped, y.clipped);
}

void expect_same_model(const Model& x, const Model& y) {
  ASSERT_EQ(x.tracks.size(), y.tracks.size());
  for (std::size_t t = 0; t < x.tracks.size(); ++t) {
    ASSERT_EQ(x.tracks[t].levels.size(), y.tracks[t].levels.size());
    EXPECT_EQ(x.tracks[t].greenlet, y.tracks[t].greenlet);
    for (std::size_t l = 0; l < x.tracks[t].levels.size(); ++l)
      expect_same_columns(x.tracks[t].levels[l], y.tracks[t].levels[l]);
  }
  ASSERT_EQ(x.greenlets.size(), y.greenlets.size());
  for (std::size_t g = 0; g < x.greenlets.size(); ++g) {
    EXPECT_EQ(x.greenlets[g].id, y.greenlets[g].id);
    EXPECT_EQ(x.text(x.greenlets[g].name), y.text(y.greenlets[g].name));
    EXPECT_EQ(x.greenlets[g].running_ns, y.greenlets[g].running_ns);
    EXPECT_EQ(x.greenlets[g].runs, y.greenlets[g].runs);
  }
  EXPECT_EQ(x.stalls.size(), y.stalls.size());
  EXPECT_EQ(x.infos.size(), y.infos.size());
}

// links_from_events() is what the Model used to keep: every Switch whose
// two sides have a track, by time (ties in thread order).
std::vector<SwitchLink> links_from_events(const Model& m, const traceio::Trace& trace) {
  std::vector<SwitchLink> links;
  for (const ThreadSummary& th : m.threads) {
    std::unordered_map<std::uint64_t, std::uint32_t> track_of;
    if (th.hub_track != UINT32_MAX) track_of[m.tracks[th.hub_track].greenlet] = th.hub_track;
    for (const std::uint32_t t : th.greenlet_tracks) track_of[m.tracks[t].greenlet] = t;
    for (const traceio::Event& e : trace.thread(th.index)->events) {
      const auto from = track_of.find(e.a), to = track_of.find(e.b);
      if (e.type != traceio::EventType::Switch || from == track_of.end() || to == track_of.end()) continue;
      links.push_back(SwitchLink{e.time_ns + m.processes[0].offset_ns, from->second, to->second});
    }
  }
  std::stable_sort(links.begin(), links.end(), [](const SwitchLink& a, const SwitchLink& b) { return a.time_ns < b.time_ns; });
  return links;
}

void expect_same_links(const std::vector<SwitchLink>& x, const std::vector<SwitchLink>& y) {
  ASSERT_EQ(x.size(), y.size());
  for (std::size_t i = 0; i < x.size(); ++i)
    ASSERT_TRUE(x[i].time_ns == y[i].time_ns && x[i].from_track == y[i].from_track && x[i].to_track == y[i].to_track)
        << "link " << i;
}

TEST(ModelLoad, KeepsNoEventsYetBuildsWhatAKeptTraceBuilds) {
  Loaded l(busy_trace());
  expect_same_model(l.loaded, l.shared);
  // The kept trace's events: in the shared model's size, not in the loaded one's.
  const std::size_t event_bytes = l.trace->event_count() * sizeof(traceio::Event);
  EXPECT_GT(event_bytes, 0u);
  EXPECT_GE(l.shared.retained_trace_bytes(), event_bytes);
  EXPECT_LT(l.loaded.retained_trace_bytes(), event_bytes / 4);
  // Stacks still have their names.
  EXPECT_EQ(l.loaded.frame_lines(0, 1), l.shared.frame_lines(0, 1));
  ASSERT_NE(l.loaded.stack(0, 2), nullptr);
  EXPECT_EQ(l.loaded.stack(0, 2)->size(), 2u);
}

TEST(ModelLoad, AddOfATraceCopiesAllButItsEvents) {
  Loaded l(busy_trace());
  Model copied;
  copied.add(*l.trace);
  expect_same_model(copied, l.shared);
  EXPECT_LT(copied.retained_trace_bytes(), l.trace->event_count() * sizeof(traceio::Event) / 4);
  EXPECT_EQ(l.trace->event_count(), l.trace->stats().events);  // the caller's trace keeps its events
}

TEST(ModelLoad, SwitchLinksAreEverySwitchBetweenTwoTracks) {
  Loaded l(busy_trace());
  const std::vector<SwitchLink> expected = links_from_events(l.shared, *l.trace);
  // 3 threads x 4 blocks x 40 loops, a resume and a suspend each, and main's first suspend.
  EXPECT_EQ(expected.size(), 3u * 4 * 40 * 2 + 3);
  EXPECT_EQ(l.loaded.switch_count(), expected.size());
  expect_same_links(l.loaded.switch_links(), expected);
  expect_same_links(l.shared.switch_links(), expected);
  // A window: the links from the 100th to the 300th.
  const std::vector<SwitchLink> window = l.loaded.switch_links(expected[100].time_ns, expected[300].time_ns);
  const auto first = std::find_if(expected.begin(), expected.end(),
                                   [&](const SwitchLink& s) { return s.time_ns >= expected[100].time_ns; });
  const auto last = std::find_if(expected.begin(), expected.end(),
                                 [&](const SwitchLink& s) { return s.time_ns >= expected[300].time_ns; });
  expect_same_links(window, std::vector<SwitchLink>(first, last));
}

TEST(ModelLoad, SwitchLinksOfATrackAreItsOwnUpToTheCap) {
  Loaded l(busy_trace());
  const std::vector<SwitchLink> all = l.loaded.switch_links();
  ASSERT_FALSE(all.empty());
  const std::uint32_t track = all.back().to_track;
  std::vector<SwitchLink> touching;
  for (const SwitchLink& s : all)
    if (s.from_track == track || s.to_track == track) touching.push_back(s);
  ASSERT_GT(touching.size(), 10u);
  ASSERT_LT(touching.size(), all.size());  // other threads' switches left out
  expect_same_links(l.loaded.switch_links_of(track, INT64_MIN, INT64_MAX, SIZE_MAX), touching);
  // The cap keeps the first ones; a window starts where it says.
  expect_same_links(l.loaded.switch_links_of(track, INT64_MIN, INT64_MAX, 5),
                    std::vector<SwitchLink>(touching.begin(), touching.begin() + 5));
  expect_same_links(l.loaded.switch_links_of(track, touching[3].time_ns, touching[7].time_ns, SIZE_MAX),
                    std::vector<SwitchLink>(touching.begin() + 3, touching.begin() + 7));
  EXPECT_TRUE(l.loaded.switch_links_of(UINT32_MAX, INT64_MIN, INT64_MAX, SIZE_MAX).empty());
}

TEST(ModelLoad, TwoTracesLinksComeMergedByTime) {
  Loaded l(busy_trace());
  Model two;
  std::string error;
  ASSERT_TRUE(two.load(l.path, &error)) << error;
  ASSERT_TRUE(two.load(l.path, &error)) << error;  // same start: both at offset 0
  EXPECT_EQ(two.switch_count(), 2 * l.loaded.switch_count());
  const std::vector<SwitchLink> all = two.switch_links();
  ASSERT_EQ(all.size(), two.switch_count());
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end(),
                             [](const SwitchLink& a, const SwitchLink& b) { return a.time_ns < b.time_ns; }));
}

}  // namespace
}  // namespace gs::analysis
