// model_tracks.cpp: one thread's timeline into tracks (model_tracks.h):
// a Hub track of loop phases and the stall level, a track per greenlet of
// its runs and waits, a Worker track of thread-pool jobs.
#include <algorithm>

#include "model_tracks.h"

namespace gs::analysis::detail {

namespace {

using traceio::Event;
using traceio::EventType;

bool is_phase(SpanKind kind) {
  return kind == SpanKind::Poll || kind == SpanKind::Callbacks || kind == SpanKind::Watcher ||
         kind == SpanKind::Callback;
}

}  // namespace

// pending() is a timeline span on the model's axis, its extras in a SpanInfo.
PendingSpan TraceBuilder::pending(const Span& s) {
  PendingSpan p;
  p.begin = at(s.begin_ns);
  p.end = at(s.end_ns);
  p.kind = s.kind;
  p.code = s.code;
  p.clipped = s.clipped;
  p.order = s.seq;
  SpanInfo i;
  if (s.kind == SpanKind::Waiting) {
    i.stack = s.stack;
    i.key = s.key;
    i.fd = s.fd;
    i.what = text(s.what);
    i.events = s.events;
  } else if (s.kind == SpanKind::Watcher) {
    i.fd = s.fd;
    i.events = s.events;
  } else if (s.kind == SpanKind::Job) {
    i.key = s.key;
  }
  p.info = info(i);
  if (is_phase(s.kind)) p.level = s.depth;
  return p;
}

TraceBuilder::ThreadSpans TraceBuilder::sort_spans(const Timeline& t) {
  ThreadSpans out;
  for (const Span& s : t.spans) {
    if (s.kind == SpanKind::Running || s.kind == SpanKind::Waiting) {
      if (s.greenlet == 0) continue;
      count(s, t);
      if (s.greenlet == t.hub) continue;  // the hub's runs: its totals only; its track shows the loop
      auto [it, added] = out.greenlets.try_emplace(s.greenlet);
      it->second.first_seq = added ? s.seq : std::min(it->second.first_seq, s.seq);
      it->second.spans.push_back(pending(s));
    } else if (is_phase(s.kind)) {
      out.phases.push_back(pending(s));
    } else if (s.kind == SpanKind::Job) {
      out.jobs.push_back(pending(s));
    }
  }
  for (const auto& [id, g] : out.greenlets) out.first_seen.emplace_back(g.first_seq, id);
  std::sort(out.first_seen.begin(), out.first_seen.end());
  return out;
}

// add_extras() adds the stall level's spans of one thread: its stalls and
// crashes, and the blocking calls, loop lag and losses its events record.
void TraceBuilder::add_extras(const traceio::ThreadInfo& thread, std::vector<PendingSpan>& out) {
  for (const std::uint32_t k : stalls_by_thread_[thread.index]) {
    const traceio::StallInfo& s = m_.stalls[k];
    PendingSpan p{s.start_ns, s.start_ns + s.duration_ns, SpanKind::Stall, static_cast<std::uint8_t>(s.kind),
                  !s.ended(), info(SpanInfo{0, k, -1, 0, 0}), 0, k};
    out.push_back(p);
  }
  for (const std::uint32_t k : crashes_by_thread_[thread.index]) {
    const traceio::CrashInfo& c = m_.crashes[k];
    out.push_back(PendingSpan{c.time_ns, c.time_ns, SpanKind::Crash, static_cast<std::uint8_t>(c.signal), false,
                              info(SpanInfo{c.stack, k, -1, 0, 0}), 0, k});
  }
  for (std::size_t n = 0; n < thread.events.size(); ++n) {
    const Event& e = thread.events[n];
    PendingSpan p;
    p.end = at(e.time_ns);
    p.order = n;
    if (e.type == EventType::BlockingCall) {
      p.kind = SpanKind::BlockingCall;
      p.begin = p.end - static_cast<std::int64_t>(e.b);
      p.info = info(SpanInfo{e.a, 0, e.c, text(e.str), 0});
    } else if (e.type == EventType::LoopLag) {
      p.kind = SpanKind::LoopLag;
      p.begin = p.end - e.c;
    } else if (e.type == EventType::Dropped) {
      p.kind = SpanKind::Dropped;
      p.begin = p.end - e.c;
      p.info = info(SpanInfo{0, e.a, -1, 0, 0});
    } else {
      continue;
    }
    p.begin = std::min(p.begin, p.end);
    out.push_back(p);
  }
}

std::uint32_t TraceBuilder::add_track(Track::Type type, std::uint32_t thread, std::uint64_t greenlet,
                                      std::vector<PendingSpan> own, std::vector<PendingSpan> extras) {
  Track track;
  track.type = type;
  track.process = process_;
  track.thread = thread;
  track.greenlet = greenlet;
  track.levels = pack_own_levels(std::move(own));
  track.own_levels = static_cast<std::uint32_t>(track.levels.size());
  for (SpanColumns& level : pack_extra_levels(std::move(extras))) track.levels.push_back(std::move(level));
  m_.tracks.push_back(std::move(track));
  return static_cast<std::uint32_t>(m_.tracks.size() - 1);
}

void TraceBuilder::add_thread(const traceio::ThreadInfo& thread) {
  const Timeline t = build_timeline(thread);
  const auto first_track = static_cast<std::uint32_t>(m_.tracks.size());
  const auto index = static_cast<std::uint32_t>(m_.threads.size());
  m_.processes.back().threads.push_back(index);
  ThreadSummary summary;
  summary.process = process_;
  summary.index = thread.index;
  summary.os_tid = thread.os_tid;
  summary.name = m_.intern(thread.name);
  summary.has_hub = thread.has_hub;
  ThreadSpans spans = sort_spans(t);
  add_extras(thread, spans.extras);
  std::unordered_map<std::uint64_t, std::uint32_t> track_of;
  const bool hub = t.hub != 0 || !spans.phases.empty();
  if (hub) {
    summary.hub_track = add_track(Track::Type::Hub, index, t.hub, std::move(spans.phases), std::move(spans.extras));
    track_of[t.hub] = summary.hub_track;
    if (t.hub != 0) greenlets_[t.hub].track = summary.hub_track;
  }
  for (const auto& [seq, id] : spans.first_seen) {
    const std::uint32_t track = add_track(Track::Type::Greenlet, index, id, std::move(spans.greenlets[id].spans), {});
    summary.greenlet_tracks.push_back(track);
    track_of[id] = track;
    greenlets_[id].track = track;
  }
  for (const std::uint32_t track : summary.greenlet_tracks) greenlets_[m_.tracks[track].greenlet].thread = index;
  if (t.hub != 0) greenlets_[t.hub].thread = index;
  if (!spans.jobs.empty() || (!hub && !spans.extras.empty()))
    summary.worker_track = add_track(Track::Type::Worker, index, 0, std::move(spans.jobs),
                                     hub ? std::vector<PendingSpan>{} : std::move(spans.extras));
  m_.threads.push_back(std::move(summary));
  add_switches(thread, first_track, track_of);
}

// add_switches() links the track a switch left to the one it ran; a side
// with no track (a greenlet that never ran while traced) has no link.
void TraceBuilder::add_switches(const traceio::ThreadInfo& thread, std::uint32_t first_track,
                                const std::unordered_map<std::uint64_t, std::uint32_t>& track_of) {
  SwitchStore store(first_track);
  for (const Event& e : thread.events) {
    if (e.type != EventType::Switch) continue;
    const auto from = track_of.find(e.a), to = track_of.find(e.b);
    if (from == track_of.end() || to == track_of.end()) continue;
    store.add(at(e.time_ns), from->second, to->second);
  }
  store.shrink();
  switches_.push_back(std::move(store));
}

}  // namespace gs::analysis::detail
