// model_record_test.cpp: the Model built from programs recorded with the
// real runtime and tracer: one track per greenlet of alternating runs and
// waits, the hub's loop, stalls, thread-pool jobs, switches, and the same
// totals as `greenscope report`.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "greenscope/analysis/model.h"
#include "greenscope/analysis/report_model.h"
#include "greenscope/analysis/timeline.h"
#include "greenscope/runtime.h"
#include "greenscope/stall.h"
#include "model_test_support.h"
#include "test_support.h"

namespace gs::test {
namespace {

using namespace std::chrono_literals;
using analysis::Model;
using analysis::SpanKind;
using analysis::Track;
using traceio::EventType;
using traceio::Reason;

class ModelRecordTest : public RuntimeTest {};

// Ids are the greenlets of the small program below.
struct Ids {
  std::uint64_t waiter = 0, yielder = 0, sleeper = 0, setter = 0;
};

// record_small_program(): a greenlet waits on an Event another sets after
// two yields, one yields 5 times, one sleeps 3 times.
std::unique_ptr<traceio::Trace> record_small_program(Ids& ids) {
  return record(
      [&ids] {
        gs::Event ready;
        auto waiter = gs::spawn([&ready] { ready.wait(); });
        auto yielder = gs::spawn([] {
          for (int i = 0; i < 5; ++i) gs::yield();
        });
        auto sleeper = gs::spawn([] {
          for (int i = 0; i < 3; ++i) gs::sleep(1ms);
        });
        auto setter = gs::spawn([&ready] {
          gs::yield();
          gs::yield();
          ready.set();
        });
        ids = {waiter.id(), yielder.id(), sleeper.id(), setter.id()};
        waiter.join();
        yielder.join();
        sleeper.join();
        setter.join();
      },
      without_monitor());
}

// Alternation is what a greenlet track's level 0 shows.
struct Alternation {
  std::size_t running = 0, waiting = 0;
  bool alternates = true;
};

Alternation alternation(const analysis::SpanColumns& c) {
  Alternation a;
  for (std::size_t i = 0; i < c.size(); ++i) {
    (c.kind[i] == SpanKind::Running ? a.running : a.waiting)++;
    if (i > 0 && c.kind[i] == c.kind[i - 1]) a.alternates = false;
  }
  return a;
}

// switch_counts() is (switches to `id`, switches away from it to wait).
std::pair<std::size_t, std::size_t> switch_counts(const traceio::Trace& t, std::uint64_t id) {
  std::size_t to = 0, waits = 0;
  for (const auto& e : all_events(t, EventType::Switch)) {
    if (e.b == id) ++to;
    if (e.a == id && analysis::is_wait_reason(e.code)) ++waits;
  }
  return {to, waits};
}

TEST_F(ModelRecordTest, EachGreenletHasOneTrackOfAlternatingRunsAndWaits) {
  Ids ids;
  auto t = record_small_program(ids);
  ASSERT_TRUE(t);
  Model m;
  m.add(*t);
  expect_levels_well_formed(m);
  ASSERT_EQ(m.processes.size(), 1u);
  ASSERT_EQ(m.threads.size(), 1u) << "one hub thread, no monitor";
  const analysis::ThreadSummary& th = m.threads[0];
  ASSERT_NE(th.hub_track, UINT32_MAX);
  EXPECT_EQ(th.worker_track, UINT32_MAX);
  // main and the four greenlets; the hub shows on its own track.
  ASSERT_EQ(th.greenlet_tracks.size(), 5u);
  EXPECT_EQ(m.tracks.size(), 6u);
  EXPECT_EQ(m.tracks[th.greenlet_tracks[0]].greenlet, t->threads()[0].main_greenlet) << "main runs first";
  const struct {
    std::uint64_t id;
    std::size_t runs, waits;
    Reason reason;
  } expected[] = {{ids.waiter, 2, 1, Reason::Event}, {ids.yielder, 6, 5, Reason::Yield}, {ids.sleeper, 4, 3, Reason::Sleep}};
  for (const auto& x : expected) {
    const long track = track_of_greenlet(m, x.id);
    ASSERT_GE(track, 0) << x.id;
    const Track& tr = m.tracks[static_cast<std::size_t>(track)];
    EXPECT_EQ(tr.type, Track::Type::Greenlet);
    ASSERT_EQ(tr.levels.size(), 1u);
    const Alternation a = alternation(tr.levels[0]);
    EXPECT_TRUE(a.alternates) << x.id;
    EXPECT_EQ(a.running, x.runs) << x.id;
    EXPECT_EQ(a.waiting, x.waits) << x.id;
    EXPECT_EQ(tr.levels[0].kind.front(), SpanKind::Running);
    EXPECT_EQ(tr.levels[0].kind.back(), SpanKind::Running) << "it ran to its end";
    for (std::size_t i = 0; i < tr.levels[0].size(); ++i)
      if (tr.levels[0].kind[i] == SpanKind::Waiting) {
        EXPECT_EQ(tr.levels[0].code[i], static_cast<std::uint8_t>(x.reason));
      }
    EXPECT_EQ(m.greenlet(0, x.id)->runs, x.runs);
  }
  // Every greenlet track, main's too, agrees with the switches in the trace.
  for (const std::uint32_t track : th.greenlet_tracks) {
    const Track& tr = m.tracks[track];
    ASSERT_EQ(tr.levels.size(), 1u);
    const Alternation a = alternation(tr.levels[0]);
    const auto [to, waits] = switch_counts(*t, tr.greenlet);
    EXPECT_TRUE(a.alternates) << tr.greenlet;
    EXPECT_EQ(a.waiting, waits) << tr.greenlet;
    // A greenlet running when the trace began has one run no switch began.
    EXPECT_EQ(a.running, to + (tr.greenlet == t->threads()[0].main_greenlet ? 1 : 0)) << tr.greenlet;
  }
}

TEST_F(ModelRecordTest, WaitsCarryWhatTheyWaitedOnAndWhere) {
  Ids ids;
  auto t = record_small_program(ids);
  ASSERT_TRUE(t);
  Model m;
  m.add(*t);
  const analysis::SpanColumns& c = m.tracks[static_cast<std::size_t>(track_of_greenlet(m, ids.waiter))].levels[0];
  std::size_t waits = 0;
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (c.kind[i] != SpanKind::Waiting) continue;
    ++waits;
    const analysis::SpanInfo& info = m.infos[c.info[i]];
    EXPECT_FALSE(m.text(info.what).empty()) << "an Event wait names its primitive";
    ASSERT_NE(info.stack, 0u) << "wait stacks are recorded by default";
    ASSERT_NE(m.stack(0, info.stack), nullptr);
    const std::vector<std::string> lines = m.frame_lines(0, info.stack);
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines[0].rfind("#0 ", 0), 0u) << lines[0];
  }
  EXPECT_EQ(waits, 1u);
}

TEST_F(ModelRecordTest, GreenletTotalsAreTheReportsNumbers) {
  Ids ids;
  auto t = record_small_program(ids);
  ASSERT_TRUE(t);
  Model m;
  m.add(*t);
  const analysis::Report report = analysis::build_report(*t);
  ASSERT_EQ(m.greenlets.size(), report.greenlets.size());
  for (const analysis::GreenletRow& row : report.greenlets) {
    const analysis::GreenletSummary* g = m.greenlet(0, row.id);
    ASSERT_NE(g, nullptr) << row.id;
    EXPECT_EQ(m.text(g->name), row.name);
    EXPECT_EQ(g->running_ns, row.running_ns) << row.name;
    EXPECT_EQ(g->runs, row.runs) << row.name;
    EXPECT_EQ(g->longest_run_ns, row.longest_run_ns) << row.name;
    EXPECT_EQ(g->waiting_ns, row.waiting_ns) << row.name;
    for (std::size_t r = 0; r < analysis::kReasons; ++r) EXPECT_EQ(g->wait_ns[r], row.wait_ns[r]) << row.name << " " << r;
    EXPECT_EQ(g->exit_ns, row.exit_ns) << row.name << ": one trace, so the model's axis is the trace's";
    EXPECT_EQ(g->spawner, row.spawner);
  }
  for (std::size_t i = 1; i < m.greenlets.size(); ++i)
    EXPECT_LT(m.greenlets[i - 1].id, m.greenlets[i].id) << "by process, then id";
}

TEST_F(ModelRecordTest, TheHubTrackShowsEveryPollAndNothingElseWithoutAMonitor) {
  Ids ids;
  auto t = record_small_program(ids);
  ASSERT_TRUE(t);
  Model m;
  m.add(*t);
  const Track& hub = m.tracks[m.threads[0].hub_track];
  EXPECT_EQ(hub.type, Track::Type::Hub);
  EXPECT_EQ(hub.greenlet, t->threads()[0].hub_greenlet);
  EXPECT_EQ(hub.levels.size(), hub.own_levels) << "no stall, lag, blocking call or loss";
  std::size_t polls = 0, callbacks = 0;
  for (const auto& level : hub.levels) {
    polls += spans_of(level, SpanKind::Poll).size();
    callbacks += spans_of(level, SpanKind::Callback).size();
    for (const SpanKind k : level.kind)
      EXPECT_TRUE(k == SpanKind::Poll || k == SpanKind::Callbacks || k == SpanKind::Watcher || k == SpanKind::Callback);
  }
  EXPECT_EQ(polls, all_events(*t, EventType::PollBegin).size());
  EXPECT_EQ(callbacks, all_events(*t, EventType::CallbackBegin).size());
  EXPECT_EQ(spans_of(hub.levels.at(0), SpanKind::Poll).size(), polls) << "the poll is the outermost phase";
}

TEST_F(ModelRecordTest, SwitchLinksJoinTheTracksOfEverySwitchInTimeOrder) {
  Ids ids;
  auto t = record_small_program(ids);
  ASSERT_TRUE(t);
  Model m;
  m.add(*t);
  const auto switches = all_events(*t, EventType::Switch);
  const std::vector<analysis::SwitchLink> links = m.switch_links();
  ASSERT_EQ(links.size(), switches.size());
  for (std::size_t i = 0; i < switches.size(); ++i) {
    EXPECT_EQ(links[i].time_ns, switches[i].time_ns);
    EXPECT_EQ(m.tracks[links[i].from_track].greenlet, switches[i].a);
    EXPECT_EQ(m.tracks[links[i].to_track].greenlet, switches[i].b);
  }
}

TEST_F(ModelRecordTest, ThreadPoolJobsGoOnTheWorkersTrack) {
  auto t = record(
      [] {
        EXPECT_EQ(gs::run_in_thread([] { return 1; }), 1);
        EXPECT_EQ(gs::run_in_thread([] { return 2; }), 2);
      },
      without_monitor());
  ASSERT_TRUE(t);
  ASSERT_EQ(t->threads().size(), 2u) << "the hub's thread and the worker's";
  Model m;
  m.add(*t);
  expect_levels_well_formed(m);
  ASSERT_EQ(m.threads.size(), 2u);
  const analysis::ThreadSummary& worker = m.threads[1];
  EXPECT_EQ(m.threads[0].worker_track, UINT32_MAX);
  ASSERT_NE(worker.worker_track, UINT32_MAX);
  EXPECT_EQ(worker.hub_track, UINT32_MAX);
  const Track& track = m.tracks[worker.worker_track];
  EXPECT_EQ(track.type, Track::Type::Worker);
  ASSERT_EQ(track.levels.size(), 1u);
  const auto begins = all_events(*t, EventType::JobBegin);
  ASSERT_EQ(begins.size(), 2u);
  ASSERT_EQ(spans_of(track.levels[0], SpanKind::Job).size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(track.levels[0].begin[i], begins[i].time_ns);
    EXPECT_EQ(m.infos[track.levels[0].info[i]].key, begins[i].a) << "a job's info is its key";
  }
}

// StallWatch learns from on_stall() when the monitor reported the
// spinner's stall ended; the recorder heard of it before (monitor.cpp's
// report_now() tells the observer first).
struct StallWatch {
  std::atomic<std::uint64_t> spinner{0};
  std::atomic<bool> ended{false};
};

// ScopedStallThreshold sets GREENSCOPE_STALL_MS for one test.
class ScopedStallThreshold {
 public:
  explicit ScopedStallThreshold(const char* ms) {
    if (const char* v = std::getenv("GREENSCOPE_STALL_MS")) old_ = v;
    ::setenv("GREENSCOPE_STALL_MS", ms, 1);
  }
  ~ScopedStallThreshold() {
    if (old_) ::setenv("GREENSCOPE_STALL_MS", old_->c_str(), 1);
    else ::unsetenv("GREENSCOPE_STALL_MS");
  }
  ScopedStallThreshold(const ScopedStallThreshold&) = delete;
  ScopedStallThreshold& operator=(const ScopedStallThreshold&) = delete;

 private:
  std::optional<std::string> old_;
};

TEST_F(ModelRecordTest, TheStallLevelHoldsExactlyTheTracesStalls) {
  if (gs::stall_monitor_running()) GTEST_SKIP() << "a stall monitor runs already, with its own threshold";
  ScopedStallThreshold threshold("10");
  StallWatch watch;
  gs::on_stall([&watch](const gs::StallReport& r) {
    if (r.ended && r.owner == gs::StallOwner::Greenlet && r.greenlet_id == watch.spinner.load())
      watch.ended.store(true);
  });
  auto t = record([&watch] {
    auto spinner = gs::spawn([] {
      const auto end = std::chrono::steady_clock::now() + 40ms;  // 4 thresholds: a stall
      while (std::chrono::steady_clock::now() < end) asm volatile("" ::: "memory");
    });
    watch.spinner.store(spinner.id());
    spinner.join();
    // Wait for the monitor to report the end (bounded, so a monitor that
    // never does fails the test instead of hanging it).
    const auto give_up = std::chrono::steady_clock::now() + 30s;
    while (!watch.ended.load() && std::chrono::steady_clock::now() < give_up) gs::sleep(1ms);
  });
  gs::on_stall(nullptr);
  ASSERT_TRUE(t);
  ASSERT_TRUE(watch.ended.load()) << "the monitor never reported the spin's stall";
  Model m;
  m.add(*t);
  expect_levels_well_formed(m);
  ASSERT_EQ(m.stalls.size(), t->stalls().size());
  std::size_t on_hub = 0;
  for (const analysis::ThreadSummary& th : m.threads) {
    if (!th.has_hub) continue;
    const Track& hub = m.tracks[th.hub_track];
    ASSERT_GT(hub.levels.size(), hub.own_levels) << "a stall level";
    std::vector<std::pair<std::int64_t, std::int64_t>> expected;
    for (const traceio::StallInfo& s : t->stalls())
      if (s.thread == th.index) expected.emplace_back(s.start_ns, s.start_ns + s.duration_ns);
    EXPECT_EQ(spans_of(hub.levels.back(), SpanKind::Stall), expected) << "the last level holds the stalls";
    const auto& last = hub.levels.back();
    for (std::size_t i = 0; i < last.size(); ++i) {
      if (last.kind[i] != SpanKind::Stall) continue;
      const traceio::StallInfo& s = m.stalls.at(m.infos[last.info[i]].key);
      EXPECT_EQ(s.start_ns, last.begin[i]) << "its info points at its stall";
      EXPECT_EQ(s.thread, th.index);
      ++on_hub;
    }
    for (std::size_t l = 0; l + 1 < hub.levels.size(); ++l)
      EXPECT_TRUE(spans_of(hub.levels[l], SpanKind::Stall).empty()) << "stalls only on the last level";
  }
  EXPECT_GE(on_hub, 1u);
  const bool spin_seen = std::any_of(m.stalls.begin(), m.stalls.end(), [&](const traceio::StallInfo& s) {
    return s.greenlet == watch.spinner.load();
  });
  EXPECT_TRUE(spin_seen);
}

// drawable() is "" when `text` is valid UTF-8 with no control character
// (newline and tab allowed with `multiline`), else what is wrong and where.
std::string drawable(const std::string& text, bool multiline = false) {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if ((c < 0x20 && !(multiline && (c == '\n' || c == '\t'))) || c == 0x7F) return "control at " + std::to_string(i);
      ++i;
      continue;
    }
    const std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (n == 0 || c > 0xF4 || i + n > text.size()) return "bad UTF-8 at " + std::to_string(i);
    std::uint32_t cp = c & (0x7F >> n);
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return "bad UTF-8 at " + std::to_string(i);
      cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    }
    const std::uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < least[n] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return "ill-formed at " + std::to_string(i);
    if (cp <= 0x9F) return "C1 control at " + std::to_string(i);
    i += n;
  }
  return "";
}

// The viewer draws the Model's texts with Dear ImGui, which wants UTF-8 and
// one line per name: names, thread names, error texts, run-info dumps and
// stack lines come out of the Model valid, whatever the program named.
TEST_F(ModelRecordTest, TextsAreValidUtf8WhateverTheProgramNamed) {
  const std::vector<std::string> names = {"title\x1b]0;pwned\x07", std::string("nul\0after", 9), "bad\xff utf8",
                                          "c1\xc2\x9b", "two\nlines"};
  auto trace = record([&] {
    gs::Event release;
    std::vector<gs::GreenletRef> greenlets;
    for (const std::string& name : names) {
      auto g = gs::spawn([&release] { release.wait(); });
      g.set_name(name);
      greenlets.push_back(g);
    }
    auto failing = gs::spawn([&release] {
      release.wait();
      throw std::runtime_error("boom\x1b[2J\xff");
    });
    greenlets.push_back(failing);
    gs::yield();
    gs::dump_run_info("trigger\x1b[5m\xfe");
    release.set();
    gs::joinall(greenlets);
  });
  ASSERT_TRUE(trace);
  Model m;
  m.add(*trace);
  std::size_t named = 0;
  for (const analysis::GreenletSummary& g : m.greenlets) {
    EXPECT_EQ(drawable(m.text(g.name)), "") << m.text(g.name);
    EXPECT_EQ(drawable(m.text(g.error)), "") << m.text(g.error);
    if (m.text(g.name) == "title\xef\xbf\xbd]0;pwned\xef\xbf\xbd") ++named;  // U+FFFD for ESC and BEL
  }
  EXPECT_EQ(named, 1u);
  for (const analysis::ThreadSummary& t : m.threads) EXPECT_EQ(drawable(m.text(t.name)), "");
  std::size_t stacks = 0;
  for (const analysis::SpanInfo& info : m.infos) {
    EXPECT_EQ(drawable(m.text(info.what)), "");
    if (info.stack == 0 || stacks >= 20) continue;
    ++stacks;
    for (const std::string& line : m.frame_lines(0, info.stack)) EXPECT_EQ(drawable(line), "") << line;
  }
  ASSERT_EQ(m.run_infos.size(), 1u);
  EXPECT_EQ(drawable(m.run_infos[0].trigger), "") << m.run_infos[0].trigger;
  EXPECT_EQ(drawable(m.run_infos[0].text, /*multiline=*/true), "");
  // The runtime writes the dump as it prints it, names escaped (runtime/src/core/shown.h).
  EXPECT_NE(m.run_infos[0].text.find("title\\x1b]0;pwned\\x07"), std::string::npos) << m.run_infos[0].text;
}

}  // namespace
}  // namespace gs::test
