// model_tracks.h: TraceBuilder, the state of build_trace() (model_build.h),
// and ThreadBuild, one thread's tracks made on a worker thread.
// model_build.cpp fills the tables and summaries and runs the workers;
// model_tracks.cpp turns one thread's timeline into tracks (with no shared
// state: threads build in parallel) and merges them into the Model in
// thread order. Private to greenscope::analysis.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <unordered_map>
#include <utility>
#include <vector>

#include "greenscope/analysis/model.h"
#include "greenscope/analysis/timeline.h"
#include "model_build.h"
#include "model_levels.h"

namespace gs::analysis::detail {

// InfoHash and InfoEqual let equal SpanInfos share one entry.
struct InfoHash {
  std::size_t operator()(const SpanInfo& i) const {
    std::size_t h = std::hash<std::uint64_t>()(i.stack);
    const auto mix = [&h](std::uint64_t v) { h ^= std::hash<std::uint64_t>()(v) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); };
    mix(i.key);
    mix(static_cast<std::uint64_t>(i.fd));
    mix(i.what);
    mix(i.events);
    return h;
  }
};
struct InfoEqual {
  bool operator()(const SpanInfo& x, const SpanInfo& y) const {
    return x.stack == y.stack && x.key == y.key && x.fd == y.fd && x.what == y.what && x.events == y.events;
  }
};
using InfoIds = std::unordered_map<SpanInfo, std::uint32_t, InfoHash, InfoEqual>;

// ThreadBuild is one thread's tracks before they join the Model: span info
// indices point into its own `infos` (whose `what` are still the trace's
// text ids), switch links use track numbers counted from the thread's first
// track, and `totals` holds the greenlets' running and waiting sums.
struct ThreadBuild {
  struct TrackBuild {
    Track::Type type = Track::Type::Greenlet;
    std::uint64_t greenlet = 0;
    std::vector<SpanColumns> levels;
    std::uint32_t own_levels = 0;
  };
  std::uint64_t hub = 0;         // the timeline's hub greenlet, 0 none
  bool hub_track = false;        // tracks.front() is the Hub track
  bool worker_track = false;     // tracks.back() is the Worker track
  std::vector<TrackBuild> tracks;
  std::vector<SpanInfo> infos{SpanInfo{}};
  InfoIds info_ids;
  std::map<std::uint64_t, GreenletSummary> totals;
  SwitchStore switches;
};

// is_phase() is true for the hub loop's phases (Poll, Callbacks, Watcher,
// Callback): the spans of the Hub track's own levels, by depth.
bool is_phase(SpanKind kind);

// span_extras() is what a timeline span carries beyond time and kind, as
// the model keeps it (`what` still the trace's text id).
SpanInfo span_extras(const Span& s);

// stall_extra() and crash_extra() are the stall level's spans of
// Model::stalls[k] and Model::crashes[k] (times as the model holds them),
// `info` their SpanInfo index: stall_info(k) or crash_info(c, k), interned.
PendingSpan stall_extra(const traceio::StallInfo& s, std::uint32_t k, std::uint32_t info);
PendingSpan crash_extra(const traceio::CrashInfo& c, std::uint32_t k, std::uint32_t info);
inline SpanInfo stall_info(std::uint32_t k) { return SpanInfo{0, k, -1, 0, 0}; }
inline SpanInfo crash_info(const traceio::CrashInfo& c, std::uint32_t k) { return SpanInfo{c.stack, k, -1, 0, 0}; }

// event_extra() is the stall level's span an event records (a blocking
// call, loop lag, a loss), in the trace's time, `order` its place among
// the thread's events, `extras` its SpanInfo (`what` the trace's text id,
// for the caller to intern); false for any other event.
bool event_extra(const traceio::Event& e, std::uint64_t order, PendingSpan& p, SpanInfo& extras);

// build_thread() makes one thread's tracks. It reads the model's stalls and
// crashes (already in place) and nothing else of the model: any number run
// at once. `stalls` and `crashes` index Model::stalls/crashes on this thread.
ThreadBuild build_thread(const Model& m, const traceio::ThreadInfo& thread, std::int64_t offset_ns,
                         const std::vector<std::uint32_t>& stalls, const std::vector<std::uint32_t>& crashes);

class TraceBuilder {
 public:
  TraceBuilder(Model& model, const traceio::Trace& trace, std::int64_t offset_ns);
  bool run(const BuildProgress& progress, std::vector<SwitchStore>* switches,
           const std::function<void(std::uint32_t)>& thread_done);

 private:
  std::int64_t at(std::int64_t trace_ns) const { return trace_ns + offset_; }
  std::uint32_t text(std::uint32_t trace_id);

  // model_build.cpp
  void add_process();
  void add_tables();
  void add_greenlets();
  bool build_threads(std::vector<ThreadBuild>& out, const BuildProgress& progress,
                     const std::function<void(std::uint32_t)>& thread_done);

  // model_tracks.cpp
  void merge_thread(const traceio::ThreadInfo& thread, ThreadBuild&& b);

  Model& m_;
  const traceio::Trace& t_;
  std::int64_t offset_;
  std::uint32_t process_;
  std::unordered_map<std::uint32_t, std::uint32_t> thread_index_;  // trace's thread index -> Model::threads
  std::unordered_map<std::uint32_t, std::uint32_t> texts_;         // trace's text id -> Model's
  InfoIds infos_;
  std::map<std::uint64_t, GreenletSummary> greenlets_;
  std::unordered_map<std::uint32_t, std::vector<std::uint32_t>> stalls_by_thread_;   // -> Model::stalls
  std::unordered_map<std::uint32_t, std::vector<std::uint32_t>> crashes_by_thread_;  // -> Model::crashes
  std::vector<SwitchStore> switches_;  // one per thread, as Model::threads
};

}  // namespace gs::analysis::detail
