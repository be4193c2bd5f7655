// model_follow.cpp: Follow (model.h), a Model extended as its trace file
// grows. Each thread keeps a TimelineWalker between updates; its spans are
// filed onto the tracks as they end, as model_tracks.cpp files a whole
// thread's, and the spans still open are filed last and taken back out at
// the start of the next update ("provisional"): they are the last spans of
// their levels, so taking them out is a pop_back per span.
#include <algorithm>
#include <map>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "greenscope/analysis/timeline.h"
#include "model_impl.h"
#include "model_build.h"
#include "model_levels.h"
#include "model_tracks.h"

namespace gs::analysis {

namespace {

using traceio::Event;
using traceio::EventType;

// Totals are one greenlet's sums, as GreenletSummary holds them.
struct Totals {
  std::int64_t running_ns = 0, longest_run_ns = 0, waiting_ns = 0;
  std::uint64_t runs = 0;
  std::int64_t wait_ns[trace_format::kReasonCount] = {};

  // count() adds a span as ThreadTrackBuilder::count() does;
  // `thread_begin` is the thread's first event (a run from there counts).
  void count(const Span& s, std::int64_t thread_begin) {
    if (s.kind == SpanKind::Running) {
      running_ns += s.duration();
      longest_run_ns = std::max(longest_run_ns, s.duration());
      if (s.switch_in || s.begin_ns == thread_begin) ++runs;
    } else if (s.code < trace_format::kReasonCount) {
      waiting_ns += s.duration();
      wait_ns[s.code] += s.duration();
    }
  }
};

// LiveThread is one followed thread between updates.
struct LiveThread {
  std::uint32_t index = 0;         // the trace's
  std::uint32_t model_thread = 0;  // index into Model::threads
  std::unique_ptr<TimelineWalker> walker;
  std::unordered_map<std::uint64_t, std::uint32_t> track_of;  // greenlet (the hub too) -> track
  std::unordered_map<std::uint32_t, std::uint64_t> first_seq;  // greenlet track -> its first span's seq
  std::uint32_t hub_track = UINT32_MAX, worker_track = UINT32_MAX;
  // extra_events: blocking calls, loop lag and losses, in the trace's time.
  std::vector<detail::PendingSpan> extra_events;
  std::uint64_t events = 0;  // events walked (an extra's order, as in build_thread())
  std::int64_t last_switch_ns = INT64_MIN;  // the switch store's latest (its times may not go down)
  bool extras_dirty = false;
  // provisional: (track, level) of each open span filed, in filing order.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> provisional;
};

}  // namespace

struct Follow::State {
  State(Model& model, std::string path) : m(model), follower(std::move(path)) {}

  Model& m;
  traceio::Follower follower;
  std::uint32_t process = UINT32_MAX;
  bool changed = false;
  std::unordered_map<std::uint32_t, std::uint32_t> texts;  // trace text id -> Model's
  detail::InfoIds infos;
  std::map<std::uint32_t, std::unique_ptr<LiveThread>> threads;  // by the trace's index
  std::unordered_map<std::uint64_t, std::uint32_t> stall_index;   // stall id -> Model::stalls
  std::map<std::uint32_t, std::vector<std::uint32_t>> stalls_on;  // trace thread -> Model::stalls
  std::map<std::uint32_t, std::vector<std::uint32_t>> crashes_on; // trace thread -> Model::crashes
  std::size_t crashes_seen = 0, run_infos_seen = 0;
  std::unordered_map<std::uint64_t, Totals> committed;  // greenlet -> sums of its ended spans
  std::vector<std::pair<std::uint64_t, Totals>> open_totals;  // this update's open spans' sums
  std::unordered_set<std::uint64_t> dirty;              // greenlets whose sums to write

  const traceio::Trace& trace() const { return follower.trace(); }
  std::int64_t offset() const { return m.processes[process].offset_ns; }
  std::int64_t at(std::int64_t trace_ns) const { return trace_ns + offset(); }

  std::uint32_t text(std::uint32_t trace_id) {
    if (trace_id == 0) return 0;
    const auto [it, added] = texts.try_emplace(trace_id, 0);
    if (added) it->second = m.intern(trace().text(trace_id));
    return it->second;
  }

  std::uint32_t info(SpanInfo i) {
    i.what = text(i.what);
    if (detail::InfoEqual()(i, SpanInfo{})) return 0;
    const auto [it, added] = infos.try_emplace(i, static_cast<std::uint32_t>(m.infos.size()));
    if (added) m.infos.push_back(i);
    return it->second;
  }

  void run();
  bool start_process();
  LiveThread& thread(const traceio::ThreadInfo& th);
  void walk(LiveThread& lt, const traceio::ThreadInfo& th);
  void take_back_open_spans();
  void file_span(LiveThread& lt, const Span& s, bool open);
  std::uint32_t add_track(LiveThread& lt, Track::Type type, std::uint64_t greenlet);
  std::uint32_t greenlet_track(LiveThread& lt, std::uint64_t greenlet, std::uint64_t seq);
  void place(LiveThread& lt, std::uint32_t track, const detail::PendingSpan& p, bool open);
  void link_switches(LiveThread& lt, const traceio::ThreadInfo& th);
  GreenletSummary& summary(std::uint64_t id);
  void write_greenlets();
  void update_stalls();
  void update_crashes_and_dumps();
  void rebuild_extras(LiveThread& lt);
  void update_process();
};

namespace {

void pop_column(SpanColumns& c) {
  c.begin.pop_back();
  c.end.pop_back();
  c.kind.pop_back();
  c.code.pop_back();
  c.info.pop_back();
  c.clipped.pop_back();
}

}  // namespace

// start_process() adds the file to the model once there is something to
// place on the axis: the process record, or a thread.
bool Follow::State::start_process() {
  if (process != UINT32_MAX) return true;
  const traceio::Trace& t = trace();
  if (!follower.started() || (t.process().start_wall_ns == 0 && t.threads().empty())) return false;
  process = m.add_live_process(follower.shared());
  changed = true;
  return true;
}

// thread() is the LiveThread of `th`, made (with its ThreadSummary and
// switch store) when the thread first shows up.
LiveThread& Follow::State::thread(const traceio::ThreadInfo& th) {
  auto [it, added] = threads.try_emplace(th.index);
  if (added) {
    auto lt = std::make_unique<LiveThread>();
    lt->index = th.index;
    lt->model_thread = static_cast<std::uint32_t>(m.threads.size());
    ThreadSummary summary;
    summary.process = process;
    summary.index = th.index;
    m.threads.push_back(summary);
    m.processes[process].threads.push_back(lt->model_thread);
    m.impl_->switches.emplace_back(static_cast<std::uint32_t>(m.tracks.size()));
    lt->extras_dirty = true;  // a stall may name the thread before its first event
    LiveThread* raw = lt.get();
    lt->walker = std::make_unique<TimelineWalker>(th.index, th.has_hub ? th.hub_greenlet : 0,
                                                  [this, raw](const Span& s) { file_span(*raw, s, false); });
    it->second = std::move(lt);
  }
  ThreadSummary& ts = m.threads[it->second->model_thread];
  ts.os_tid = th.os_tid;
  ts.name = m.intern(th.name);
  ts.has_hub = th.has_hub;
  return *it->second;
}

std::uint32_t Follow::State::add_track(LiveThread& lt, Track::Type type, std::uint64_t greenlet) {
  const auto number = static_cast<std::uint32_t>(m.tracks.size());
  Track track;
  track.type = type;
  track.process = process;
  track.thread = lt.model_thread;
  track.greenlet = greenlet;
  m.tracks.push_back(std::move(track));
  ThreadSummary& ts = m.threads[lt.model_thread];
  if (type == Track::Type::Hub) {
    lt.hub_track = ts.hub_track = number;
    if (greenlet != 0) {
      lt.track_of[greenlet] = number;
      GreenletSummary& g = summary(greenlet);
      g.track = number;
      g.thread = lt.model_thread;
    }
  } else if (type == Track::Type::Worker) {
    lt.worker_track = ts.worker_track = number;
  }
  return number;
}

// greenlet_track() is the track of `greenlet`, made the first time; the
// thread's list keeps load()'s order, by each track's first span.
std::uint32_t Follow::State::greenlet_track(LiveThread& lt, std::uint64_t greenlet, std::uint64_t seq) {
  const auto found = lt.track_of.find(greenlet);
  std::uint32_t number = 0;
  if (found == lt.track_of.end()) {
    number = add_track(lt, Track::Type::Greenlet, greenlet);
    lt.track_of.emplace(greenlet, number);
    lt.first_seq.emplace(number, seq);
    GreenletSummary& g = summary(greenlet);
    g.track = number;
    g.thread = lt.model_thread;
  } else {
    number = found->second;
    if (seq >= lt.first_seq[number]) return number;
    lt.first_seq[number] = seq;
  }
  std::vector<std::uint32_t>& list = m.threads[lt.model_thread].greenlet_tracks;
  if (std::find(list.begin(), list.end(), number) == list.end()) list.push_back(number);
  std::stable_sort(list.begin(), list.end(),
                   [&lt](std::uint32_t x, std::uint32_t y) { return lt.first_seq[x] < lt.first_seq[y]; });
  return number;
}

// place() appends a span to its level, or the first one above it where it
// overlaps nothing, as pack_own_levels() does for spans in begin order.
void Follow::State::place(LiveThread& lt, std::uint32_t track_number, const detail::PendingSpan& p, bool open) {
  Track& track = m.tracks[track_number];
  std::uint32_t level = p.level;
  while (level < track.own_levels && track.levels[level].size() != 0 && track.levels[level].end.back() > p.begin)
    ++level;
  while (level >= track.own_levels) {
    track.levels.insert(track.levels.begin() + track.own_levels, SpanColumns{});
    ++track.own_levels;
  }
  detail::append_span(track.levels[level], p);
  if (open) lt.provisional.emplace_back(track_number, level);
  changed = true;
}

// file_span() puts one span of the walk where build_thread() would: a
// greenlet's runs and waits on its track (the hub's only in its sums), the
// loop's phases on the Hub track, jobs on the Worker track.
void Follow::State::file_span(LiveThread& lt, const Span& s, bool open) {
  detail::PendingSpan p;
  p.begin = at(s.begin_ns);
  p.end = at(s.end_ns);
  p.kind = s.kind;
  p.code = s.code;
  p.clipped = s.clipped;
  p.order = s.seq;
  p.info = info(detail::span_extras(s));
  const std::uint64_t hub = lt.walker->timeline().hub;
  if (s.kind == SpanKind::Running || s.kind == SpanKind::Waiting) {
    if (s.greenlet == 0) return;
    const std::int64_t thread_begin = lt.walker->timeline().begin_ns;
    if (open) {
      open_totals.emplace_back(s.greenlet, Totals{});
      open_totals.back().second.count(s, thread_begin);
    } else {
      committed[s.greenlet].count(s, thread_begin);
    }
    dirty.insert(s.greenlet);
    if (s.greenlet == hub) return;
    place(lt, greenlet_track(lt, s.greenlet, s.seq), p, open);
  } else if (detail::is_phase(s.kind)) {
    p.level = s.depth;
    if (lt.hub_track == UINT32_MAX) add_track(lt, Track::Type::Hub, hub);
    place(lt, lt.hub_track, p, open);
  } else if (s.kind == SpanKind::Job) {
    if (lt.worker_track == UINT32_MAX) add_track(lt, Track::Type::Worker, 0);
    place(lt, lt.worker_track, p, open);
  }
}

// take_back_open_spans() removes the spans the last update filed open, and
// their sums: the walk files them again, ended or still open.
void Follow::State::take_back_open_spans() {
  for (auto& [index, lt] : threads) {
    for (auto it = lt->provisional.rbegin(); it != lt->provisional.rend(); ++it) {
      Track& track = m.tracks[it->first];
      pop_column(track.levels[it->second]);
      // A level only an open span needed goes with it (the last own level).
      if (it->second + 1 == track.own_levels && track.levels[it->second].size() == 0) {
        track.levels.erase(track.levels.begin() + it->second);
        --track.own_levels;
      }
    }
    lt->provisional.clear();
  }
  for (const auto& [id, totals] : open_totals) dirty.insert(id);
  open_totals.clear();
}

// walk() takes the thread's new events: spans filed as they end, the
// stall level's events noted.
void Follow::State::walk(LiveThread& lt, const traceio::ThreadInfo& th) {
  if (th.has_hub) lt.walker->set_hub(th.hub_greenlet);
  if (lt.walker->timeline().hub != 0 && lt.hub_track == UINT32_MAX)
    add_track(lt, Track::Type::Hub, lt.walker->timeline().hub);
  for (const Event& e : th.events) {
    lt.walker->add(e);
    detail::PendingSpan p;
    SpanInfo extras;
    if (!detail::event_extra(e, lt.events++, p, extras)) continue;
    p.info = info(extras);
    lt.extra_events.push_back(p);
    lt.extras_dirty = true;
  }
  lt.walker->open_spans([this, &lt](const Span& s) { file_span(lt, s, true); });
}

// link_switches() adds the thread's new switches to its store, once every
// span they end or begin has its track.
void Follow::State::link_switches(LiveThread& lt, const traceio::ThreadInfo& th) {
  detail::SwitchStore& store = m.impl_->switches[lt.model_thread];
  for (const Event& e : th.events) {
    if (e.type != EventType::Switch) continue;
    const auto from = lt.track_of.find(e.a), to = lt.track_of.find(e.b);
    if (from == lt.track_of.end() || to == lt.track_of.end()) continue;
    // A damaged file can put a thread's events out of time order; a load
    // sorts them, a follow cannot go back: such a switch is not linked.
    if (e.time_ns < lt.last_switch_ns) continue;
    lt.last_switch_ns = e.time_ns;
    store.add(at(e.time_ns), from->second, to->second);
  }
}

GreenletSummary& Follow::State::summary(std::uint64_t id) {
  const auto key = std::tuple(process, id);
  const auto it = std::lower_bound(m.greenlets.begin(), m.greenlets.end(), key,
                                   [](const GreenletSummary& g, const std::tuple<std::uint32_t, std::uint64_t>& k) {
                                     return std::tuple(g.process, g.id) < k;
                                   });
  if (it != m.greenlets.end() && it->process == process && it->id == id) return *it;
  GreenletSummary g;
  g.process = process;
  g.id = id;
  g.name = m.intern(trace().greenlet_name(id));
  changed = true;
  return *m.greenlets.insert(it, g);
}

// write_greenlets() brings the summaries up to date: what the trace says
// of the greenlets it touched, and the sums of those whose spans changed.
void Follow::State::write_greenlets() {
  const traceio::Trace& t = trace();
  for (const std::uint64_t id : follower.touched_greenlets()) {
    const auto found = t.greenlets().find(id);
    if (found == t.greenlets().end()) continue;
    const traceio::GreenletInfo& i = found->second;
    GreenletSummary& g = summary(id);
    g.name = m.intern(i.name);
    g.spawner = i.spawner;
    if (g.track == UINT32_MAX) {
      const auto th = threads.find(i.thread);
      if (th != threads.end()) g.thread = th->second->model_thread;
    }
    g.spawn_ns = i.spawn_ns >= 0 ? at(i.spawn_ns) : -1;
    g.exit_ns = i.exit_ns >= 0 ? at(i.exit_ns) : -1;
    g.exit_kind = i.exit_kind;
    g.error = m.intern(i.error);
    changed = true;
  }
  std::unordered_map<std::uint64_t, Totals> open;
  for (const auto& [id, totals] : open_totals) {
    Totals& o = open[id];
    o.running_ns += totals.running_ns;
    o.longest_run_ns = std::max(o.longest_run_ns, totals.longest_run_ns);
    o.runs += totals.runs;
    o.waiting_ns += totals.waiting_ns;
    for (std::size_t r = 0; r < trace_format::kReasonCount; ++r) o.wait_ns[r] += totals.wait_ns[r];
  }
  for (const std::uint64_t id : dirty) {
    Totals sum = committed[id];
    if (const auto o = open.find(id); o != open.end()) {
      sum.running_ns += o->second.running_ns;
      sum.longest_run_ns = std::max(sum.longest_run_ns, o->second.longest_run_ns);
      sum.runs += o->second.runs;
      sum.waiting_ns += o->second.waiting_ns;
      for (std::size_t r = 0; r < trace_format::kReasonCount; ++r) sum.wait_ns[r] += o->second.wait_ns[r];
    }
    GreenletSummary& g = summary(id);
    g.running_ns = sum.running_ns;
    g.longest_run_ns = sum.longest_run_ns;
    g.runs = sum.runs;
    g.waiting_ns = sum.waiting_ns;
    std::copy(std::begin(sum.wait_ns), std::end(sum.wait_ns), std::begin(g.wait_ns));
  }
  dirty.clear();
}

// update_stalls() adds the new stalls and updates the ones that grew; the
// threads they stalled get their stall level redone.
void Follow::State::update_stalls() {
  for (traceio::StallInfo s : trace().stalls()) {
    s.start_ns = at(s.start_ns);
    if (s.end_ns >= 0) s.end_ns = at(s.end_ns);
    for (traceio::StallSampleInfo& sample : s.samples) sample.time_ns = at(sample.time_ns);
    const auto [it, added] = stall_index.try_emplace(s.id, static_cast<std::uint32_t>(m.stalls.size()));
    if (added) {
      m.stalls.push_back(s);
      m.stall_process.push_back(process);
      if (s.thread != UINT32_MAX) stalls_on[s.thread].push_back(it->second);
    } else {
      traceio::StallInfo& old = m.stalls[it->second];
      const bool same = old.start_ns == s.start_ns && old.duration_ns == s.duration_ns && old.end_ns == s.end_ns &&
                        old.samples.size() == s.samples.size() && old.has_end == s.has_end && old.kind == s.kind;
      if (same) continue;
      old = std::move(s);
    }
    changed = true;
    const traceio::StallInfo& now = m.stalls[it->second];
    if (now.thread != UINT32_MAX) {
      if (const auto th = threads.find(now.thread); th != threads.end()) th->second->extras_dirty = true;
    }
  }
}

// update_crashes_and_dumps() adds the crashes and run-info dumps the last
// poll found (both only ever grow at the end).
void Follow::State::update_crashes_and_dumps() {
  const traceio::Trace& t = trace();
  for (; crashes_seen < t.crashes().size(); ++crashes_seen) {
    traceio::CrashInfo c = t.crashes()[crashes_seen];
    c.time_ns = at(c.time_ns);
    const auto k = static_cast<std::uint32_t>(m.crashes.size());
    const auto g = t.greenlets().find(c.greenlet);
    if (c.greenlet != 0 && g != t.greenlets().end()) {
      crashes_on[g->second.thread].push_back(k);
      if (const auto th = threads.find(g->second.thread); th != threads.end()) th->second->extras_dirty = true;
    }
    m.crashes.push_back(c);
    m.crash_process.push_back(process);
    changed = true;
  }
  for (; run_infos_seen < t.run_infos().size(); ++run_infos_seen) {
    traceio::RunInfoDump r = t.run_infos()[run_infos_seen];
    r.time_ns = at(r.time_ns);
    detail::valid_text(r);
    m.run_infos.push_back(std::move(r));
    m.run_info_process.push_back(process);
    changed = true;
  }
}

// rebuild_extras() packs the thread's stall level anew, as build_thread()
// does: its stalls and crashes, and the blocking calls, loop lag and losses
// of its events, on its Hub track (a thread without one: its Worker track).
void Follow::State::rebuild_extras(LiveThread& lt) {
  if (!lt.extras_dirty) return;
  lt.extras_dirty = false;
  std::vector<detail::PendingSpan> extras;
  for (const std::uint32_t k : stalls_on[lt.index])
    extras.push_back(detail::stall_extra(m.stalls[k], k, info(detail::stall_info(k))));
  for (const std::uint32_t k : crashes_on[lt.index])
    extras.push_back(detail::crash_extra(m.crashes[k], k, info(detail::crash_info(m.crashes[k], k))));
  for (detail::PendingSpan p : lt.extra_events) {
    p.begin = at(p.begin);
    p.end = at(p.end);
    extras.push_back(p);
  }
  if (extras.empty()) return;
  if (lt.hub_track == UINT32_MAX && lt.worker_track == UINT32_MAX) add_track(lt, Track::Type::Worker, 0);
  Track& track = m.tracks[lt.hub_track != UINT32_MAX ? lt.hub_track : lt.worker_track];
  track.levels.resize(track.own_levels);
  for (SpanColumns& level : detail::pack_extra_levels(std::move(extras))) track.levels.push_back(std::move(level));
  changed = true;
}

void Follow::State::update_process() {
  const traceio::Trace& t = trace();
  ProcessSummary& p = m.processes[process];
  p.info = t.process();
  p.stats = t.stats();
  p.problems = t.problems();
  p.begin_ns = at(t.begin_ns());
  p.end_ns = at(t.end_ns());
  if (follower.tables_changed()) {
    const std::lock_guard lock(m.impl_->names_mutex);
    m.impl_->processes[process].names.reset();  // its names were made from fewer symbols
  }
}

void Follow::State::run() {
  const traceio::Trace& t = trace();
  take_back_open_spans();
  // Every thread is walked before any switch is linked: a switch's far
  // side may be a greenlet whose track this update makes.
  std::vector<std::pair<LiveThread*, const traceio::ThreadInfo*>> walked;
  for (const traceio::ThreadInfo& th : t.threads()) {
    LiveThread& lt = thread(th);
    walk(lt, th);
    walked.emplace_back(&lt, &th);
  }
  for (const auto& [lt, th] : walked) link_switches(*lt, *th);
  write_greenlets();
  update_stalls();
  update_crashes_and_dumps();
  for (auto& [index, lt] : threads) rebuild_extras(*lt);
  update_process();
}

Follow::Follow(Model& model, std::string path) : s_(std::make_unique<State>(model, std::move(path))) {}

Follow::~Follow() = default;

std::string Follow::update(std::uint64_t max_bytes) {
  State& s = *s_;
  s.changed = false;
  const std::uint64_t before = s.follower.offset();
  std::string error = s.follower.poll(max_bytes);
  if (!error.empty()) return error;
  if (s.follower.replaced()) return "";
  // Nothing new read: the model stays as it is (its open spans too).
  if (s.process != UINT32_MAX && s.follower.offset() == before) return "";
  if (!s.start_process()) return "";
  s.run();
  return "";
}

bool Follow::changed() const { return s_->changed; }
bool Follow::at_end() const { return s_->follower.at_end(); }
bool Follow::replaced() const { return s_->follower.replaced(); }
std::uint32_t Follow::process() const { return s_->process; }
std::uint64_t Follow::offset() const { return s_->follower.offset(); }

}  // namespace gs::analysis
