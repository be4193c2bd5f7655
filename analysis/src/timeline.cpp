// timeline.cpp: pairing one thread's events into spans (timeline.h).
#include "greenscope/analysis/timeline.h"

#include <algorithm>
#include <unordered_map>

namespace gs::analysis {

using traceio::Event;
using traceio::EventType;
using traceio::Reason;

bool is_wait_reason(std::uint8_t code) {
  return code >= static_cast<std::uint8_t>(Reason::Yield) && code <= static_cast<std::uint8_t>(Reason::Wait);
}

namespace {

// loop_event() is true for the events only the hub's loop records: a
// session started mid-run knows no running greenlet until the first switch.
bool loop_event(EventType type) {
  return type >= EventType::CallbacksBegin && type <= EventType::CallbackEnd && type != EventType::CallbackEnqueue;
}

}  // namespace

namespace detail {

// TimelineBuilder holds the state of the walk: who runs, who waits, which
// loop phases are open.
class TimelineBuilder {
 public:
  // `on_span`, if set, takes each span instead of Timeline::spans.
  TimelineBuilder(Timeline head, const TimelineOptions& options,
                  const std::function<void(const Span&)>* on_span = nullptr)
      : options_(options), on_span_(on_span), out_(std::move(head)) {}

  void on_event(const Event& e);
  // open_spans() is what finish() would emit now, left open.
  void open_spans(const std::function<void(const Span&)>& out) const;
  Timeline finish();
  Timeline& timeline() { return out_; }
  // grow_bounds(): begin_ns and end_ns follow the events added (a walker's),
  // rather than the thread's whole list given up front.
  void grow_bounds() { grow_bounds_ = true; }

 private:
  bool hub_running() const { return out_.hub != 0 && current_ == out_.hub; }
  void sync_current(const Event& e);
  void open_run(std::int64_t t, bool switch_in, std::uint8_t code);
  void close_run(std::int64_t t, bool switch_out);
  void on_switch(const Event& e);
  void phase_begin(SpanKind kind, const Event& e);
  void phase_end(SpanKind kind, const Event& e);
  void job_begin(const Event& e);
  void job_end(const Event& e);
  void dispatch(const Event& e);
  void emit(Span span, std::int64_t end, bool clipped);
  void began(const Span& span) const {
    if (options_.on_begin) options_.on_begin(span);
  }

  const TimelineOptions& options_;
  const std::function<void(const Span&)>* on_span_;
  Timeline out_;
  std::uint64_t seq_ = 0;
  std::uint64_t current_ = 0;
  bool started_ = false;
  bool grow_bounds_ = false, any_event_ = false;
  bool run_open_ = false;
  Span run_;
  int polls_open_ = 0;
  std::vector<Span> phases_;                       // open loop phases, innermost last
  std::unordered_map<std::uint64_t, Span> waits_;  // open waits by greenlet
  std::unordered_map<std::uint64_t, Span> jobs_;   // running jobs by key
  // The WaitStack event just before, for the switch it belongs to.
  std::uint64_t wait_stack_greenlet_ = 0, wait_stack_ = 0;
};

void TimelineBuilder::emit(Span span, std::int64_t end, bool clipped) {
  span.end_ns = std::max(end, span.begin_ns);
  span.clipped = clipped;
  if (on_span_ != nullptr) {
    (*on_span_)(span);
  } else {
    out_.spans.push_back(span);
  }
}

void TimelineBuilder::open_run(std::int64_t t, bool switch_in, std::uint8_t code) {
  if (current_ == 0 || run_open_ || (hub_running() && polls_open_ > 0)) return;
  run_ = Span{};
  run_.kind = SpanKind::Running;
  run_.begin_ns = t;
  run_.greenlet = current_;
  run_.seq = seq_++;
  run_.code = code;
  run_.switch_in = switch_in;
  run_open_ = true;
  began(run_);
}

void TimelineBuilder::close_run(std::int64_t t, bool switch_out) {
  if (!run_open_) return;
  run_open_ = false;
  run_.switch_out = switch_out;
  emit(run_, t, false);
}

// sync_current() trusts the decoder's idea of the running greenlet: after
// lost events it may differ from what the switches so far said.
void TimelineBuilder::sync_current(const Event& e) {
  if (!started_) {
    started_ = true;
    current_ = e.greenlet != 0 ? e.greenlet : loop_event(e.type) ? out_.hub : 0;
    open_run(e.time_ns, false, 0);
    return;
  }
  if (e.greenlet == 0 || e.greenlet == current_) return;
  if (current_ == 0) {  // started mid-run: now we know who runs
    current_ = e.greenlet;
    open_run(e.time_ns, false, 0);
    return;
  }
  ++out_.mismatched;
  close_run(e.time_ns, false);
  current_ = e.greenlet;
  open_run(e.time_ns, false, 0);
}

void TimelineBuilder::on_switch(const Event& e) {
  const std::uint64_t from = e.a, to = e.b;
  if (current_ != from) ++out_.mismatched;
  close_run(e.time_ns, true);
  if (from != out_.hub && is_wait_reason(e.code)) {
    Span w;
    w.kind = SpanKind::Waiting;
    w.begin_ns = e.time_ns;
    w.greenlet = from;
    w.seq = seq_++;
    w.code = e.code;
    w.what = e.str;
    if (wait_stack_greenlet_ == from) w.stack = wait_stack_;
    if (e.code == static_cast<std::uint8_t>(Reason::Io)) {
      w.fd = e.c;
      w.events = e.d;
    } else if (e.code == static_cast<std::uint8_t>(Reason::Join)) {
      w.key = static_cast<std::uint64_t>(e.c);
    }
    waits_[from] = w;
    began(w);
  }
  if (const auto it = waits_.find(to); it != waits_.end()) {
    emit(it->second, e.time_ns, false);
    waits_.erase(it);
  }
  current_ = to;
  open_run(e.time_ns, true, from == out_.hub ? e.code : 0);
}

void TimelineBuilder::phase_begin(SpanKind kind, const Event& e) {
  const bool cut = hub_running() && (options_.split_hub_at_phases || kind == SpanKind::Poll);
  if (cut) close_run(e.time_ns, false);
  Span p;
  p.kind = kind;
  p.begin_ns = e.time_ns;
  p.greenlet = out_.hub != 0 ? out_.hub : e.greenlet;
  p.seq = seq_++;
  p.depth = static_cast<std::uint8_t>(std::min<std::size_t>(phases_.size(), 255));
  if (kind == SpanKind::Watcher) {
    p.code = e.code;
    p.fd = e.c;
    p.events = e.d;
  }
  phases_.push_back(p);
  began(p);
  if (kind == SpanKind::Poll) ++polls_open_;
  if (cut) open_run(e.time_ns, false, 0);
}

// phase_end() closes the innermost open phase of `kind`, and any phases
// still open inside it (their end events are missing: clipped).
void TimelineBuilder::phase_end(SpanKind kind, const Event& e) {
  auto it = std::find_if(phases_.rbegin(), phases_.rend(), [&](const Span& p) { return p.kind == kind; });
  if (it == phases_.rend()) {
    ++out_.mismatched;
    return;
  }
  const bool cut = hub_running() && (options_.split_hub_at_phases || kind == SpanKind::Poll);
  if (cut) close_run(e.time_ns, false);
  const std::size_t keep = static_cast<std::size_t>(phases_.rend() - it) - 1;
  while (phases_.size() > keep) {
    const bool inner = phases_.size() > keep + 1;
    if (inner) ++out_.mismatched;
    if (phases_.back().kind == SpanKind::Poll) --polls_open_;
    emit(phases_.back(), e.time_ns, inner);
    phases_.pop_back();
  }
  if (cut || kind == SpanKind::Poll) open_run(e.time_ns, false, 0);
}

void TimelineBuilder::job_begin(const Event& e) {
  Span j;
  j.kind = SpanKind::Job;
  j.begin_ns = e.time_ns;
  j.greenlet = e.greenlet;
  j.seq = seq_++;
  j.key = e.a;
  jobs_[e.a] = j;
  began(j);
}

void TimelineBuilder::job_end(const Event& e) {
  const auto it = jobs_.find(e.a);
  if (it == jobs_.end()) {
    ++out_.mismatched;
    return;
  }
  emit(it->second, e.time_ns, false);
  jobs_.erase(it);
}

void TimelineBuilder::on_event(const Event& e) {
  if (grow_bounds_) {  // a walker's events arrive as the walk goes: the bounds grow with them
    if (!any_event_) out_.begin_ns = e.time_ns;
    any_event_ = true;
    out_.end_ns = e.time_ns;
  }
  // A WaitStack belongs to the switch right after it (traceio.h), and runs
  // nothing: it leaves the walk as it is.
  if (e.type == EventType::WaitStack) {
    wait_stack_greenlet_ = e.greenlet;
    wait_stack_ = e.a;
    return;
  }
  sync_current(e);
  dispatch(e);
  wait_stack_greenlet_ = wait_stack_ = 0;
}

void TimelineBuilder::dispatch(const Event& e) {
  switch (e.type) {
    case EventType::Switch: return on_switch(e);
    case EventType::PollBegin: return phase_begin(SpanKind::Poll, e);
    case EventType::PollEnd: return phase_end(SpanKind::Poll, e);
    case EventType::CallbacksBegin: return phase_begin(SpanKind::Callbacks, e);
    case EventType::CallbacksEnd: return phase_end(SpanKind::Callbacks, e);
    case EventType::WatcherBegin: return phase_begin(SpanKind::Watcher, e);
    case EventType::WatcherEnd: return phase_end(SpanKind::Watcher, e);
    case EventType::CallbackBegin: return phase_begin(SpanKind::Callback, e);
    case EventType::CallbackEnd: return phase_end(SpanKind::Callback, e);
    case EventType::JobBegin: return job_begin(e);
    case EventType::JobEnd: return job_end(e);
    default: return;
  }
}

void TimelineBuilder::open_spans(const std::function<void(const Span&)>& out) const {
  const std::int64_t end = out_.end_ns;
  const auto clip = [&out, end](Span span) {
    span.end_ns = std::max(end, span.begin_ns);
    span.clipped = true;
    out(span);
  };
  if (run_open_) clip(run_);  // still running when the trace ended
  for (auto it = phases_.rbegin(); it != phases_.rend(); ++it) clip(*it);
  for (const auto& [id, w] : waits_) clip(w);
  for (const auto& [key, j] : jobs_) clip(j);
}

Timeline TimelineBuilder::finish() {
  open_spans([this](const Span& s) { emit(s, s.end_ns, true); });
  run_open_ = false;
  phases_.clear();
  polls_open_ = 0;
  waits_.clear();
  jobs_.clear();
  return std::move(out_);
}

}  // namespace detail

using detail::TimelineBuilder;

Timeline timeline_head(const traceio::ThreadInfo& thread) {
  Timeline t;
  t.thread = thread.index;
  t.hub = thread.has_hub ? thread.hub_greenlet : 0;
  if (!thread.events.empty()) {
    t.begin_ns = thread.events.front().time_ns;
    t.end_ns = thread.events.back().time_ns;
  }
  return t;
}

Timeline build_timeline(const traceio::ThreadInfo& thread, const TimelineOptions& options) {
  TimelineBuilder builder(timeline_head(thread), options);
  for (const Event& e : thread.events) builder.on_event(e);
  return builder.finish();
}

Timeline walk_timeline(const traceio::ThreadInfo& thread, const std::function<void(const Span&)>& on_span,
                       const TimelineOptions& options) {
  TimelineBuilder builder(timeline_head(thread), options, &on_span);
  for (const Event& e : thread.events) builder.on_event(e);
  return builder.finish();
}

TimelineWalker::TimelineWalker(std::uint32_t thread, std::uint64_t hub, std::function<void(const Span&)> on_span,
                               const TimelineOptions& options)
    : options_(options), on_span_(std::move(on_span)) {
  Timeline head;
  head.thread = thread;
  head.hub = hub;
  builder_ = std::make_unique<TimelineBuilder>(std::move(head), options_, &on_span_);
  builder_->grow_bounds();
}

TimelineWalker::~TimelineWalker() = default;

void TimelineWalker::set_hub(std::uint64_t hub) {
  if (builder_->timeline().hub == 0) builder_->timeline().hub = hub;
}

void TimelineWalker::add(const Event& e) { builder_->on_event(e); }

void TimelineWalker::open_spans(const std::function<void(const Span&)>& out) const { builder_->open_spans(out); }

const Timeline& TimelineWalker::timeline() const { return builder_->timeline(); }

Timeline TimelineWalker::finish() { return builder_->finish(); }

std::vector<Job> pair_jobs(const traceio::Trace& trace) {
  JobEvents events;
  for (const traceio::ThreadInfo& th : trace.threads()) events.add(th.index, th.events);
  return events.pair();
}

void JobEvents::add(std::uint32_t thread, std::span<const Event> events) {
  for (const Event& e : events)
    if (e.type >= EventType::JobSubmit && e.type <= EventType::JobDone) points_.push_back({e, thread});
}

std::vector<Job> JobEvents::pair() {
  std::vector<Job> jobs;
  std::unordered_map<std::uint64_t, std::vector<std::size_t>> open;  // key -> jobs not yet done
  std::vector<Point>& points = points_;
  std::stable_sort(points.begin(), points.end(),
                   [](const Point& x, const Point& y) { return x.event.time_ns < y.event.time_ns; });
  for (const Point& p : points) {
    const Event& e = p.event;
    auto& list = open[e.a];
    // A worker can record JobBegin before the submitter records JobSubmit:
    // such a submit belongs to the job already begun.
    const bool late_submit = e.type == EventType::JobSubmit && !list.empty() && jobs[list.back()].submit_ns < 0;
    if ((e.type == EventType::JobSubmit && !late_submit) || list.empty()) {
      Job j;
      j.key = e.a;
      j.hub_thread = p.thread;
      list.push_back(jobs.size());
      jobs.push_back(j);
    }
    Job& j = jobs[list.back()];
    if (e.type == EventType::JobSubmit) {
      j.submit_ns = e.time_ns;
      j.submitter = e.greenlet;
    } else if (e.type == EventType::JobBegin) {
      j.begin_ns = e.time_ns;
      j.worker_thread = p.thread;
    } else if (e.type == EventType::JobEnd) {
      j.end_ns = e.time_ns;
    } else {
      j.done_ns = e.time_ns;
      list.pop_back();
    }
  }
  return jobs;
}

}  // namespace gs::analysis
