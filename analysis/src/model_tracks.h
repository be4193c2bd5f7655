// model_tracks.h: TraceBuilder, the state of build_trace() (model_build.h).
// model_build.cpp fills the tables and summaries, model_tracks.cpp turns
// each thread's timeline into tracks. Private to greenscope::analysis.
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

class TraceBuilder {
 public:
  TraceBuilder(Model& model, const traceio::Trace& trace, std::int64_t offset_ns);
  bool run(const BuildProgress& progress, std::vector<SwitchStore>* switches,
           const std::function<void(std::uint32_t)>& thread_done);

 private:
  // ThreadSpans is one thread's timeline sorted by the track it goes to.
  struct ThreadSpans {
    std::vector<PendingSpan> phases, jobs, extras;
    struct Greenlet {
      std::uint64_t first_seq = 0;  // when the timeline began its first span
      std::vector<PendingSpan> spans;
    };
    std::unordered_map<std::uint64_t, Greenlet> greenlets;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> first_seen;  // (first seq, greenlet), sorted
  };

  std::int64_t at(std::int64_t trace_ns) const { return trace_ns + offset_; }
  std::uint32_t text(std::uint32_t trace_id);
  std::uint32_t info(const SpanInfo& i);

  // model_build.cpp
  void add_process();
  void add_tables();
  void count(const Span& s, const Timeline& t);
  void add_greenlets();

  // model_tracks.cpp
  void add_thread(const traceio::ThreadInfo& thread);
  PendingSpan pending(const Span& s);
  ThreadSpans sort_spans(const Timeline& t);
  void add_extras(const traceio::ThreadInfo& thread, std::vector<PendingSpan>& out);
  std::uint32_t add_track(Track::Type type, std::uint32_t thread, std::uint64_t greenlet,
                          std::vector<PendingSpan> own, std::vector<PendingSpan> extras);
  void add_switches(const traceio::ThreadInfo& thread, std::uint32_t first_track,
                    const std::unordered_map<std::uint64_t, std::uint32_t>& track_of);

  Model& m_;
  const traceio::Trace& t_;
  std::int64_t offset_;
  std::uint32_t process_;
  std::unordered_map<std::uint32_t, std::uint32_t> thread_index_;  // trace's thread index -> Model::threads
  std::unordered_map<std::uint32_t, std::uint32_t> texts_;         // trace's text id -> Model's
  std::unordered_map<SpanInfo, std::uint32_t, InfoHash, InfoEqual> infos_;
  std::map<std::uint64_t, GreenletSummary> greenlets_;
  std::unordered_map<std::uint32_t, std::vector<std::uint32_t>> stalls_by_thread_;   // -> Model::stalls
  std::unordered_map<std::uint32_t, std::vector<std::uint32_t>> crashes_by_thread_;  // -> Model::crashes
  std::vector<SwitchStore> switches_;  // one per thread, as Model::threads
};

}  // namespace gs::analysis::detail
