// model_tracks.cpp: one thread's timeline into tracks (model_tracks.h): a
// Hub track of loop phases and the stall level, a track per greenlet of its
// runs and waits, a Worker track of thread-pool jobs; then, in thread
// order, into the Model.
#include <algorithm>

#include "model_tracks.h"

namespace gs::analysis::detail {

namespace {

using traceio::Event;
using traceio::EventType;

// ThreadTrackBuilder is build_thread()'s state.
class ThreadTrackBuilder {
 public:
  ThreadTrackBuilder(const Model& m, std::int64_t offset, const std::vector<std::uint32_t>& stalls,
                     const std::vector<std::uint32_t>& crashes)
      : m_(m), offset_(offset), stalls_(stalls), crashes_(crashes) {
    out_.info_ids.emplace(SpanInfo{}, 0);
  }

  ThreadBuild run(const traceio::ThreadInfo& thread) {
    // Each span is filed as the walk ends it: the thread's spans are never
    // all in memory at 72 bytes each, only as the tracks' pending spans.
    const Timeline head = timeline_head(thread);
    Sorted spans;
    const Timeline t = walk_timeline(thread, [&](const Span& s) { sort_span(s, head, spans); });
    finish_sorting(spans);
    out_.hub = t.hub;
    add_extras(thread, spans.extras);
    std::unordered_map<std::uint64_t, std::uint32_t> track_of;  // greenlet -> local track number
    const bool hub = t.hub != 0 || !spans.phases.empty();
    if (hub) {
      track_of[t.hub] = add_track(Track::Type::Hub, t.hub, std::move(spans.phases), std::move(spans.extras));
      out_.hub_track = true;
    }
    for (const auto& [seq, id] : spans.first_seen)
      track_of[id] = add_track(Track::Type::Greenlet, id, std::move(spans.greenlets[id].spans), {});
    if (!spans.jobs.empty() || (!hub && !spans.extras.empty())) {
      add_track(Track::Type::Worker, 0, std::move(spans.jobs), hub ? std::vector<PendingSpan>{} : std::move(spans.extras));
      out_.worker_track = true;
    }
    add_switches(thread, track_of);
    return std::move(out_);
  }

 private:
  // Sorted is one thread's timeline sorted by the track it goes to.
  struct Sorted {
    std::vector<PendingSpan> phases, jobs, extras;
    struct Greenlet {
      std::uint64_t first_seq = 0;  // when the timeline began its first span
      std::vector<PendingSpan> spans;
    };
    std::unordered_map<std::uint64_t, Greenlet> greenlets;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> first_seen;  // (first seq, greenlet), sorted
  };

  std::int64_t at(std::int64_t trace_ns) const { return trace_ns + offset_; }

  // info() shares one SpanInfo among the spans that carry the same extras
  // (a greenlet sleeping at one place a thousand times needs one).
  std::uint32_t info(const SpanInfo& i) {
    if (InfoEqual()(i, SpanInfo{})) return 0;  // most spans: no hashing for the empty one
    const auto [it, added] = out_.info_ids.try_emplace(i, static_cast<std::uint32_t>(out_.infos.size()));
    if (added) out_.infos.push_back(i);
    return it->second;
  }

  // count() adds a greenlet's span to its totals as build_report() does, so
  // the viewer and `greenscope report` agree.
  void count(const Span& s, const Timeline& t) {
    GreenletSummary& g = out_.totals[s.greenlet];
    if (s.kind == SpanKind::Running) {
      g.running_ns += s.duration();
      g.longest_run_ns = std::max(g.longest_run_ns, s.duration());
      if (s.switch_in || s.begin_ns == t.begin_ns) ++g.runs;
    } else if (s.code < trace_format::kReasonCount) {
      g.waiting_ns += s.duration();
      g.wait_ns[s.code] += s.duration();
    }
  }

  // pending() is a timeline span on the model's axis, its extras in a
  // SpanInfo (`what` still the trace's text id: merge_thread() maps it).
  PendingSpan pending(const Span& s) {
    PendingSpan p;
    p.begin = at(s.begin_ns);
    p.end = at(s.end_ns);
    p.kind = s.kind;
    p.code = s.code;
    p.clipped = s.clipped;
    p.order = s.seq;
    p.info = info(span_extras(s));
    if (is_phase(s.kind)) p.level = s.depth;
    return p;
  }

  // sort_span() files one span of the timeline `t` by the track it goes to.
  void sort_span(const Span& s, const Timeline& t, Sorted& out) {
    if (s.kind == SpanKind::Running || s.kind == SpanKind::Waiting) {
      if (s.greenlet == 0) return;
      count(s, t);
      if (s.greenlet == t.hub) return;  // the hub's runs: its totals only; its track shows the loop
      auto [it, added] = out.greenlets.try_emplace(s.greenlet);
      it->second.first_seq = added ? s.seq : std::min(it->second.first_seq, s.seq);
      it->second.spans.push_back(pending(s));
    } else if (is_phase(s.kind)) {
      out.phases.push_back(pending(s));
    } else if (s.kind == SpanKind::Job) {
      out.jobs.push_back(pending(s));
    }
  }

  // finish_sorting() orders the greenlets' tracks by their first span.
  static void finish_sorting(Sorted& out) {
    for (const auto& [id, g] : out.greenlets) out.first_seen.emplace_back(g.first_seq, id);
    std::sort(out.first_seen.begin(), out.first_seen.end());
  }

  // add_extras() adds the stall level's spans of one thread: its stalls and
  // crashes, and the blocking calls, loop lag and losses its events record.
  void add_extras(const traceio::ThreadInfo& thread, std::vector<PendingSpan>& out) {
    for (const std::uint32_t k : stalls_) out.push_back(stall_extra(m_.stalls[k], k, info(stall_info(k))));
    for (const std::uint32_t k : crashes_) out.push_back(crash_extra(m_.crashes[k], k, info(crash_info(m_.crashes[k], k))));
    for (std::size_t n = 0; n < thread.events.size(); ++n) {
      PendingSpan p;
      SpanInfo extras;
      if (!event_extra(thread.events[n], n, p, extras)) continue;
      p.begin = at(p.begin);
      p.end = at(p.end);
      p.info = info(extras);
      out.push_back(p);
    }
  }

  std::uint32_t add_track(Track::Type type, std::uint64_t greenlet, std::vector<PendingSpan> own,
                          std::vector<PendingSpan> extras) {
    ThreadBuild::TrackBuild track;
    track.type = type;
    track.greenlet = greenlet;
    track.levels = pack_own_levels(std::move(own));
    track.own_levels = static_cast<std::uint32_t>(track.levels.size());
    for (SpanColumns& level : pack_extra_levels(std::move(extras))) track.levels.push_back(std::move(level));
    out_.tracks.push_back(std::move(track));
    return static_cast<std::uint32_t>(out_.tracks.size() - 1);
  }

  // add_switches() links the track a switch left to the one it ran; a side
  // with no track (a greenlet that never ran while traced) has no link.
  void add_switches(const traceio::ThreadInfo& thread, const std::unordered_map<std::uint64_t, std::uint32_t>& track_of) {
    for (const Event& e : thread.events) {
      if (e.type != EventType::Switch) continue;
      const auto from = track_of.find(e.a), to = track_of.find(e.b);
      if (from == track_of.end() || to == track_of.end()) continue;
      out_.switches.add(at(e.time_ns), from->second, to->second);
    }
    out_.switches.shrink();
  }

  const Model& m_;
  std::int64_t offset_;
  const std::vector<std::uint32_t>& stalls_;
  const std::vector<std::uint32_t>& crashes_;
  ThreadBuild out_;
};

}  // namespace

bool is_phase(SpanKind kind) {
  return kind == SpanKind::Poll || kind == SpanKind::Callbacks || kind == SpanKind::Watcher ||
         kind == SpanKind::Callback;
}

PendingSpan stall_extra(const traceio::StallInfo& s, std::uint32_t k, std::uint32_t info) {
  return PendingSpan{s.start_ns, s.start_ns + s.duration_ns, SpanKind::Stall, static_cast<std::uint8_t>(s.kind),
                     !s.ended(), info, 0, k};
}

PendingSpan crash_extra(const traceio::CrashInfo& c, std::uint32_t k, std::uint32_t info) {
  return PendingSpan{c.time_ns, c.time_ns, SpanKind::Crash, static_cast<std::uint8_t>(c.signal), false, info, 0, k};
}

bool event_extra(const Event& e, std::uint64_t order, PendingSpan& p, SpanInfo& extras) {
  p = PendingSpan{};
  extras = SpanInfo{};
  p.end = e.time_ns;
  p.order = order;
  if (e.type == EventType::BlockingCall) {
    p.kind = SpanKind::BlockingCall;
    p.begin = p.end - static_cast<std::int64_t>(e.b);
    extras = SpanInfo{e.a, 0, e.c, e.str, 0};
  } else if (e.type == EventType::LoopLag) {
    p.kind = SpanKind::LoopLag;
    p.begin = p.end - e.c;
  } else if (e.type == EventType::Dropped) {
    p.kind = SpanKind::Dropped;
    p.begin = p.end - e.c;
    extras = SpanInfo{0, e.a, -1, 0, 0};
  } else {
    return false;
  }
  p.begin = std::min(p.begin, p.end);
  return true;
}

SpanInfo span_extras(const Span& s) {
  SpanInfo i;
  if (s.kind == SpanKind::Waiting) {
    i.stack = s.stack;
    i.key = s.key;
    i.fd = s.fd;
    i.what = s.what;
    i.events = s.events;
  } else if (s.kind == SpanKind::Watcher) {
    i.fd = s.fd;
    i.events = s.events;
  } else if (s.kind == SpanKind::Job) {
    i.key = s.key;
  }
  return i;
}

ThreadBuild build_thread(const Model& m, const traceio::ThreadInfo& thread, std::int64_t offset_ns,
                         const std::vector<std::uint32_t>& stalls, const std::vector<std::uint32_t>& crashes) {
  return ThreadTrackBuilder(m, offset_ns, stalls, crashes).run(thread);
}

// merge_thread() adds one built thread to the Model: its infos (their texts
// interned) into the shared table, its tracks with their info indices
// mapped, the greenlets' totals, its summary and its switches. Threads merge
// in the trace's order, so the tables come out as one serial walk made them.
void TraceBuilder::merge_thread(const traceio::ThreadInfo& thread, ThreadBuild&& b) {
  const auto first_track = static_cast<std::uint32_t>(m_.tracks.size());
  const auto index = static_cast<std::uint32_t>(m_.threads.size());
  m_.processes.back().threads.push_back(index);
  ThreadSummary summary;
  summary.process = process_;
  summary.index = thread.index;
  summary.os_tid = thread.os_tid;
  summary.name = m_.intern(thread.name);
  summary.has_hub = thread.has_hub;
  std::vector<std::uint32_t> info_of(b.infos.size(), 0);
  for (std::size_t i = 1; i < b.infos.size(); ++i) {
    SpanInfo info = b.infos[i];
    info.what = text(info.what);
    const auto [it, added] = infos_.try_emplace(info, static_cast<std::uint32_t>(m_.infos.size()));
    if (added) m_.infos.push_back(info);
    info_of[i] = it->second;
  }
  for (std::size_t k = 0; k < b.tracks.size(); ++k) {
    ThreadBuild::TrackBuild& built = b.tracks[k];
    for (SpanColumns& level : built.levels)
      for (std::uint32_t& i : level.info) i = info_of[i];
    Track track;
    track.type = built.type;
    track.process = process_;
    track.thread = index;
    track.greenlet = built.greenlet;
    track.levels = std::move(built.levels);
    track.own_levels = built.own_levels;
    const auto number = static_cast<std::uint32_t>(m_.tracks.size());
    if (built.type == Track::Type::Hub) {
      summary.hub_track = number;
      if (built.greenlet != 0) greenlets_[built.greenlet].track = number;
    } else if (built.type == Track::Type::Greenlet) {
      summary.greenlet_tracks.push_back(number);
      GreenletSummary& g = greenlets_[built.greenlet];
      g.track = number;
      g.thread = index;
    } else {
      summary.worker_track = number;
    }
    m_.tracks.push_back(std::move(track));
  }
  if (b.hub != 0) greenlets_[b.hub].thread = index;
  for (const auto& [id, totals] : b.totals) {
    GreenletSummary& g = greenlets_[id];
    g.running_ns += totals.running_ns;
    g.longest_run_ns = std::max(g.longest_run_ns, totals.longest_run_ns);
    g.runs += totals.runs;
    g.waiting_ns += totals.waiting_ns;
    for (std::size_t r = 0; r < trace_format::kReasonCount; ++r) g.wait_ns[r] += totals.wait_ns[r];
  }
  m_.threads.push_back(std::move(summary));
  b.switches.rebase(first_track);
  switches_.push_back(std::move(b.switches));
}

}  // namespace gs::analysis::detail
