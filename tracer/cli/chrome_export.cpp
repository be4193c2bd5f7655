// chrome_export.cpp: ChromeExport (chrome_export.h).
#include "chrome_export.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "event_text.h"
#include "greenscope/analysis/timeline.h"

namespace gs::cli {

// The model behind this command lives in greenscope::analysis (shared with the viewer).
using analysis::Job;
using analysis::Span;
using analysis::SpanKind;
using analysis::JobEvents;
using analysis::TimelineOptions;
using analysis::TimelineWalker;
using analysis::is_wait_reason;

namespace {

using traceio::Event;
using traceio::EventType;
using traceio::Reason;
using traceio::Trace;

struct Instant {
  std::int64_t ts_ns = 0;
  std::uint64_t greenlet = 0;  // its track; 0: the thread's own track
  std::string name;
  std::string args;
};

// JobFlows plans the arrows from a submitter's wait to its job's slice.
struct JobFlows {
  std::map<std::pair<std::uint64_t, std::int64_t>, std::uint64_t> from_wait;  // (greenlet, wait begin) -> id
  struct Target {
    std::uint64_t id = 0;  // 0: no arrow
    std::int64_t queued_ns = -1;
  };
  std::map<std::pair<std::uint64_t, std::int64_t>, Target> to_job;  // (key, job begin) -> arrow
};

// instant_for() turns the events worth a marker into instants.
bool instant_for(const Trace& trace, const Event& e, Instant& out) {
  out = Instant{};
  out.ts_ns = e.time_ns;
  out.greenlet = e.greenlet;
  JsonArgs args;
  switch (e.type) {
    case EventType::Dropped:
      out.name = "DROPPED " + std::to_string(e.a) + " events";
      args.add("count", static_cast<std::int64_t>(e.a)).add_us("lost_over_us", e.c);
      break;
    case EventType::Exit:
      out.greenlet = e.a;
      out.name = "exit: " + std::string(traceio::to_string(static_cast<traceio::ExitKind>(e.code)));
      if (!trace.text(e.str).empty()) args.add("error", trace.text(e.str));
      break;
    case EventType::Error:
      out.greenlet = e.a != 0 ? e.a : e.greenlet;
      out.name = "error";
      args.add("text", trace.text(e.str));
      break;
    case EventType::TimeoutExpired:
      out.greenlet = e.a;
      out.name = "timeout expired";
      args.add_us("timeout_us", e.c * 1000);
      break;
    default: return false;
  }
  out.args = args.empty() ? "" : args.json();
  return true;
}

std::string io_text(std::uint16_t events) {
  return events == 1 ? "read" : events == 2 ? "write" : events == 3 ? "read+write" : std::to_string(events);
}

// span_name() is the slice's name; *cat its category.
std::string span_name(const Span& s, std::string_view* cat) {
  switch (s.kind) {
    case SpanKind::Running: *cat = "greenlet"; return "running";
    case SpanKind::Waiting: *cat = "wait"; return std::string(traceio::to_string(static_cast<Reason>(s.code)));
    case SpanKind::Poll: *cat = "loop"; return "poll";
    case SpanKind::Callbacks: *cat = "loop"; return "callbacks";
    case SpanKind::Callback: *cat = "loop"; return "run_callback";
    case SpanKind::Watcher:
      *cat = "loop";
      return std::string(traceio::to_string(static_cast<traceio::WatcherKind>(s.code))) + " watcher";
    case SpanKind::Job: *cat = "job"; return "job";
    default: break;  // the Model's stall-level kinds: build_timeline() makes none
  }
  return "?";
}

// SpanOrder follows which of a thread's spans are open, by seq: begun and
// not yet ended. A wait or a job the walk opens again before it ended is
// forgotten by the walk (timeline.h): begun() says which.
class SpanOrder {
 public:
  // begun() returns the seq the walk forgot, if `s` replaced one.
  std::optional<std::uint64_t> begun(const Span& s) {
    std::optional<std::uint64_t> forgotten;
    if (auto* by = keyed(s)) {
      auto [it, added] = by->try_emplace(key_of(s), s.seq);
      if (!added) {
        forgotten = it->second;
        open_.erase(it->second);
        it->second = s.seq;
      }
    }
    open_.insert(s.seq);
    next_ = s.seq + 1;
    return forgotten;
  }

  void ended(const Span& s) {
    open_.erase(s.seq);
    if (auto* by = keyed(s)) {
      const auto it = by->find(key_of(s));
      if (it != by->end() && it->second == s.seq) by->erase(it);
    }
  }

  // age() is how many spans began after `s`.
  std::uint64_t age(const Span& s) const { return next_ - s.seq - 1; }
  std::size_t open() const { return open_.size(); }

 private:
  std::unordered_map<std::uint64_t, std::uint64_t>* keyed(const Span& s) {
    return s.kind == SpanKind::Waiting ? &waits_ : s.kind == SpanKind::Job ? &jobs_ : nullptr;
  }
  static std::uint64_t key_of(const Span& s) { return s.kind == SpanKind::Job ? s.key : s.greenlet; }

  std::set<std::uint64_t> open_;
  std::unordered_map<std::uint64_t, std::uint64_t> waits_, jobs_;  // open seq by greenlet, by job key
  std::uint64_t next_ = 0;
};

// kHoldSpans: a span that ends after more than this many later ones began
// (or 16 per span open at once, if more) is kept by the planning pass, so
// that the writing pass holds at most that many spans waiting for it.
constexpr std::uint64_t kHoldSpans = 1 << 14;

bool long_open(const SpanOrder& order, const Span& s) {
  return order.age(s) > std::max<std::uint64_t>(kHoldSpans, 16 * order.open());
}

// ThreadPlan is what the first pass learns of one thread.
struct ThreadPlan {
  std::set<std::uint64_t> ids;            // greenlets with a span or instant in the window
  std::uint64_t chain = 0;                // its runs in the switch chain, in the window
  std::map<std::uint64_t, Span> long_;    // by seq: spans open long (long_open())
};

// JobLookup finds, for each paired job, the first wait of its submitter on
// its hub thread at or after the submit: where the job's arrow starts.
class JobLookup {
 public:
  JobLookup(const Trace& trace, std::vector<Job> jobs) : jobs_(std::move(jobs)), at_(jobs_.size(), -1) {
    for (std::size_t i = 0; i < jobs_.size(); ++i) {
      const Job& j = jobs_[i];
      if (j.begin_ns >= 0 && j.submit_ns >= 0 && trace.thread(j.hub_thread) != nullptr)
        queries_[j.hub_thread][j.submitter].list.push_back({j.submit_ns, i});
    }
    for (auto& [thread, by] : queries_)
      for (auto& [greenlet, q] : by)
        std::stable_sort(q.list.begin(), q.list.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  }

  bool needed() const { return !queries_.empty(); }

  void add(const traceio::ThreadInfo& thread, std::span<const Event> events) {
    const auto by = queries_.find(thread.index);
    if (by == queries_.end()) return;
    for (const Event& e : events) {
      if (e.type != EventType::Switch || e.a == thread.hub_greenlet || !is_wait_reason(e.code)) continue;
      const auto q = by->second.find(e.a);
      if (q == by->second.end()) continue;
      Queries& list = q->second;
      for (; list.next < list.list.size() && list.list[list.next].first <= e.time_ns; ++list.next)
        at_[list.list[list.next].second] = e.time_ns;
    }
  }

  // flows() plans the arrows as pair_jobs() order gives the jobs.
  JobFlows flows(std::uint64_t next_id) const {
    JobFlows flows;
    for (std::size_t i = 0; i < jobs_.size(); ++i) {
      const Job& j = jobs_[i];
      if (j.begin_ns < 0) continue;
      JobFlows::Target& target = flows.to_job[{j.key, j.begin_ns}];
      if (j.submit_ns < 0) continue;
      target.queued_ns = std::max<std::int64_t>(0, j.begin_ns - j.submit_ns);
      if (at_[i] < 0 || flows.from_wait.count({j.submitter, at_[i]})) continue;
      target.id = next_id++;
      flows.from_wait[{j.submitter, at_[i]}] = target.id;
    }
    return flows;
  }

 private:
  struct Queries {
    std::vector<std::pair<std::int64_t, std::size_t>> list;  // (submit time, job), by time
    std::size_t next = 0;                                    // the first not answered
  };
  std::vector<Job> jobs_;
  std::vector<std::int64_t> at_;  // by job: the wait's begin, -1 none
  std::map<std::uint32_t, std::map<std::uint64_t, Queries>> queries_;
};

// InstantBuffer holds a thread's instants until its spans are written,
// spilling them to a temporary file past a few thousand.
class InstantBuffer {
 public:
  ~InstantBuffer() {
    if (spill_ != nullptr) std::fclose(spill_);
  }

  void add(Instant i) {
    held_.push_back(std::move(i));
    if (held_.size() < kHeld) return;
    if (spill_ == nullptr) spill_ = std::tmpfile();
    if (spill_ == nullptr) return;  // no temporary file: they stay in memory
    for (const Instant& h : held_) {
      const std::uint64_t sizes[2] = {h.name.size(), h.args.size()};
      std::fwrite(&h.ts_ns, sizeof h.ts_ns, 1, spill_);
      std::fwrite(&h.greenlet, sizeof h.greenlet, 1, spill_);
      std::fwrite(sizes, sizeof sizes, 1, spill_);
      std::fwrite(h.name.data(), 1, h.name.size(), spill_);
      std::fwrite(h.args.data(), 1, h.args.size(), spill_);
    }
    spilled_ = true;
    held_.clear();
  }

  // drain() hands out every instant in the order added, and empties.
  template <typename Fn>
  void drain(Fn&& fn) {
    if (spill_ != nullptr && spilled_) {
      std::rewind(spill_);
      Instant i;
      std::uint64_t sizes[2];
      while (std::fread(&i.ts_ns, sizeof i.ts_ns, 1, spill_) == 1 &&
             std::fread(&i.greenlet, sizeof i.greenlet, 1, spill_) == 1 &&
             std::fread(sizes, sizeof sizes, 1, spill_) == 1) {
        i.name.resize(sizes[0]);
        i.args.resize(sizes[1]);
        if (std::fread(i.name.data(), 1, sizes[0], spill_) != sizes[0] ||
            std::fread(i.args.data(), 1, sizes[1], spill_) != sizes[1])
          break;
        fn(i);
      }
      std::rewind(spill_);
      spilled_ = false;
    }
    for (const Instant& h : held_) fn(h);
    held_.clear();
  }

 private:
  static constexpr std::size_t kHeld = 4096;
  std::vector<Instant> held_;
  std::FILE* spill_ = nullptr;
  bool spilled_ = false;
};

}  // namespace

// ChromeExport::Impl runs the passes: Plan, then Jobs if any job wants its
// arrow's start, then Write.
struct ChromeExport::Impl {
  enum class Pass { Plan, Jobs, Write, Done };

  std::function<std::FILE*(const Trace&)> open;
  std::function<void(std::uint64_t, std::uint64_t)> progress;
  ChromeExportWindow window;
  Pass pass = Pass::Plan;
  const Trace* trace = nullptr;
  std::uint32_t pid = 0, last_tid = 0;
  std::uint64_t total_events = 0, done_events = 0;
  ChromeExportStats stats;

  // Plan and Jobs:
  std::map<std::uint32_t, ThreadPlan> plans;
  JobEvents job_events;
  std::unique_ptr<JobLookup> lookup;
  JobFlows job_flows;

  // The thread being walked:
  std::unique_ptr<TimelineWalker> walker;
  SpanOrder order;
  ThreadPlan* plan = nullptr;
  std::map<std::uint64_t, std::uint32_t> tids;
  std::set<std::uint64_t> pending;       // Write: begun, end not known yet
  std::set<std::uint64_t> resolved;      // Write: begun, taken from the plan, not ended yet
  std::map<std::uint64_t, Span> ready;   // Write: known whole, waiting for the spans before them
  std::uint64_t member = 0;              // Write: chain runs written
  InstantBuffer instants;

  // Write:
  std::FILE* out = nullptr;
  std::unique_ptr<ChromeWriter> writer;

  bool outside(const Span& s) const { return s.end_ns < window.from_ns || s.begin_ns > window.to_ns; }
  bool inside(std::int64_t t) const { return t >= window.from_ns && t <= window.to_ns; }

  void start_walk(const traceio::ThreadInfo& thread) {
    TimelineOptions options;
    options.split_hub_at_phases = true;
    options.on_begin = [this](const Span& s) { pass == Pass::Plan ? (void)order.begun(s) : begun(s); };
    order = SpanOrder();
    walker = std::make_unique<TimelineWalker>(
        thread.index, thread.has_hub ? thread.hub_greenlet : 0,
        [this](const Span& s) { pass == Pass::Plan ? planned(s) : ended(s); }, options);
  }

  // Plan:
  void planned(const Span& s) {
    if (long_open(order, s)) plan->long_.emplace(s.seq, s);
    order.ended(s);
    if (outside(s)) return;
    plan->ids.insert(s.greenlet);
    if (in_chain(s)) ++plan->chain;
  }

  // Write:
  void begun(const Span& s) {
    if (const auto forgotten = order.begun(s)) pending.erase(*forgotten);
    const auto known = plan->long_.find(s.seq);
    if (known == plan->long_.end()) {
      pending.insert(s.seq);
      return;
    }
    resolved.insert(s.seq);
    ready.emplace(s.seq, known->second);
    plan->long_.erase(known);
    flush();
  }

  void ended(const Span& s) {
    order.ended(s);
    if (resolved.erase(s.seq) != 0) return;
    pending.erase(s.seq);
    ready.emplace(s.seq, s);
    flush();
  }

  // flush() writes the spans whose every earlier span is written.
  void flush(bool all = false) {
    while (!ready.empty() && (all || pending.empty() || ready.begin()->first < *pending.begin())) {
      write_span(ready.begin()->second);
      ready.erase(ready.begin());
    }
  }

  static bool in_chain(const Span& s) { return s.kind == SpanKind::Running && (s.switch_in || s.switch_out); }

  std::uint32_t next_tid() {
    if (++last_tid == pid) ++last_tid;  // a tid equal to the pid reads as the main thread
    return last_tid;
  }

  void write_meta(std::uint32_t tid, std::string_view what, const std::string& args) {
    ChromeEvent e;
    e.ph = 'M';
    e.pid = pid;
    e.tid = tid;
    e.name = what;
    e.args = args;
    writer->write(e);
  }

  std::string track_name(const traceio::ThreadInfo& thread, std::uint64_t greenlet) const;
  void assign_tracks(const traceio::ThreadInfo& thread);
  void write_span(Span s);
  void write_args(const Span& s, ChromeEvent& e) const;
  void wait_args(const Span& s, ChromeEvent& e, JsonArgs& args) const;
  void job_args(const Span& s, ChromeEvent& e, JsonArgs& args) const;
  void write_instants();
};

std::string ChromeExport::Impl::track_name(const traceio::ThreadInfo& thread, std::uint64_t greenlet) const {
  const std::string where = "(thread " + std::to_string(thread.index) + ")";
  if (greenlet != 0) {
    const std::string label = greenlet_label(*trace, greenlet);
    const std::size_t hash = label.rfind('#');
    return label.substr(0, hash) + (hash == 0 ? "" : " ") + label.substr(hash) + " " + where;
  }
  const std::string name = thread.name.empty() ? "thread" : thread.name;
  return name + " " + where + " tid " + std::to_string(thread.os_tid);
}

// assign_tracks() gives each greenlet of the thread a track: the hub first,
// then main, the others by id, the thread's own track last.
void ChromeExport::Impl::assign_tracks(const traceio::ThreadInfo& thread) {
  std::set<std::uint64_t> ids = plan->ids;
  for (const auto& [id, g] : trace->greenlets())
    if (g.thread == thread.index) ids.insert(id);
  std::vector<std::uint64_t> ordered;
  for (std::uint64_t first : {thread.has_hub ? thread.hub_greenlet : 0, thread.has_hub ? thread.main_greenlet : 0})
    if (first != 0 && ids.erase(first)) ordered.push_back(first);
  const bool own_track = ids.erase(0) != 0;
  ordered.insert(ordered.end(), ids.begin(), ids.end());
  if (own_track) ordered.push_back(0);
  tids.clear();
  for (std::uint64_t id : ordered) {
    const std::uint32_t tid = next_tid();
    tids[id] = tid;
    JsonArgs name;
    name.add("name", track_name(thread, id));
    write_meta(tid, "thread_name", name.json());
    write_meta(tid, "thread_sort_index", JsonArgs().add("sort_index", static_cast<std::int64_t>(tid)).json());
  }
  stats.tracks += ordered.size();
}

void ChromeExport::Impl::wait_args(const Span& s, ChromeEvent& e, JsonArgs& args) const {
  if (!trace->text(s.what).empty()) args.add("what", trace->text(s.what));
  if (s.code == static_cast<std::uint8_t>(Reason::Io)) args.add("fd", s.fd).add("events", io_text(s.events));
  if (s.code == static_cast<std::uint8_t>(Reason::Join)) args.add("joins", greenlet_label(*trace, s.key));
  const auto flow = job_flows.from_wait.find({s.greenlet, s.begin_ns});
  if (flow != job_flows.from_wait.end()) {
    e.bind_id = flow->second;
    e.flow_out = true;
  }
}

void ChromeExport::Impl::job_args(const Span& s, ChromeEvent& e, JsonArgs& args) const {
  char key[24];
  std::snprintf(key, sizeof key, "0x%llx", static_cast<unsigned long long>(s.key));
  args.add("key", key);
  const auto target = job_flows.to_job.find({s.key, s.begin_ns});
  if (target == job_flows.to_job.end()) return;
  if (target->second.queued_ns >= 0) args.add_us("queued_us", target->second.queued_ns);
  if (target->second.id != 0) {
    e.bind_id = target->second.id;
    e.flow_in = true;
  }
}

void ChromeExport::Impl::write_args(const Span& s, ChromeEvent& e) const {
  JsonArgs args;
  if (s.kind == SpanKind::Running && s.code != 0)
    args.add("resumed_by", traceio::to_string(static_cast<Reason>(s.code)));
  if (s.kind == SpanKind::Waiting) wait_args(s, e, args);
  if (s.kind == SpanKind::Job) job_args(s, e, args);
  if (s.kind == SpanKind::Watcher && s.fd >= 0) args.add("fd", s.fd);
  if (s.kind == SpanKind::Watcher && s.code == static_cast<std::uint8_t>(traceio::WatcherKind::Io))
    args.add("revents", io_text(s.events));
  if (s.clipped) args.add("clipped", true);
  e.args = args.empty() ? "" : args.json();
}

// write_span() writes one span, in begin order, cut to the window; the runs
// that begin or end at a switch form the thread's flow chain.
void ChromeExport::Impl::write_span(Span s) {
  if (outside(s)) return;
  if (s.begin_ns < window.from_ns || s.end_ns > window.to_ns) s.clipped = true;
  s.begin_ns = std::max(s.begin_ns, window.from_ns);
  s.end_ns = std::min(s.end_ns, window.to_ns);
  const bool chained = plan->chain > 1 && in_chain(s);
  ChromeEvent e;
  e.pid = pid;
  e.tid = tids.at(s.greenlet);
  e.ts_ns = s.begin_ns;
  e.dur_ns = s.duration();
  const std::string name = span_name(s, &e.cat);
  e.name = name;
  write_args(s, e);
  if (chained) {
    e.bind_id = walker->timeline().thread + 1;
    e.flow_in = member > 0;
    e.flow_out = member + 1 < plan->chain;
    if (e.flow_in || e.flow_out) ++stats.flow_slices;
  }
  if (in_chain(s)) ++member;
  writer->write(e);
  ++stats.slices;
}

void ChromeExport::Impl::write_instants() {
  instants.drain([this](const Instant& i) {
    ChromeEvent e;
    e.ph = 'i';
    e.pid = pid;
    e.tid = tids.at(i.greenlet);
    e.ts_ns = i.ts_ns;
    e.name = i.name;
    e.cat = "event";
    e.args = i.args;
    writer->write(e);
    ++stats.instants;
  });
}

ChromeExport::ChromeExport(std::function<std::FILE*(const Trace&)> open,
                           std::function<void(std::uint64_t, std::uint64_t)> progress,
                           const ChromeExportWindow& window)
    : impl_(std::make_unique<Impl>()) {
  impl_->open = std::move(open);
  impl_->progress = std::move(progress);
  impl_->window = window;
}

ChromeExport::~ChromeExport() = default;

void ChromeExport::start(const Trace& tables) {
  Impl& m = *impl_;
  m.trace = &tables;
  if (m.pass != Impl::Pass::Write) return;
  m.pid = static_cast<std::uint32_t>(tables.process().pid);
  for (const auto& th : tables.threads()) m.total_events += th.event_total;
  m.out = m.open(tables);
  if (m.out == nullptr) {
    m.pass = Impl::Pass::Done;
    return;
  }
  m.writer = std::make_unique<ChromeWriter>(m.out);
  const traceio::ProcessInfo& p = tables.process();
  const std::string program = p.program.empty() ? "program" : p.program;
  m.write_meta(m.pid, "process_name", JsonArgs().add("name", program + " (pid " + std::to_string(p.pid) + ")").json());
}

void ChromeExport::begin_thread(const traceio::ThreadInfo& thread) {
  Impl& m = *impl_;
  if (m.pass == Impl::Pass::Jobs || m.pass == Impl::Pass::Done) return;
  m.plan = &m.plans[thread.index];
  m.start_walk(thread);
  if (m.pass == Impl::Pass::Write) {
    m.pending.clear();
    m.resolved.clear();
    m.ready.clear();
    m.member = 0;
    m.assign_tracks(thread);
  }
}

void ChromeExport::events(const traceio::ThreadInfo& thread, std::span<const traceio::Event> events) {
  Impl& m = *impl_;
  switch (m.pass) {
    case Impl::Pass::Jobs: m.lookup->add(thread, events); return;
    case Impl::Pass::Done: return;
    case Impl::Pass::Plan: m.job_events.add(thread.index, events); break;
    case Impl::Pass::Write: break;
  }
  Instant instant;
  for (const Event& e : events) {
    m.walker->add(e);
    if (!instant_for(*m.trace, e, instant) || !m.inside(instant.ts_ns)) continue;
    if (m.pass == Impl::Pass::Plan) {
      m.plan->ids.insert(instant.greenlet);
    } else {
      m.instants.add(std::move(instant));
    }
  }
  if (m.pass != Impl::Pass::Write) return;
  m.done_events += events.size();
  if (m.progress) m.progress(m.done_events, m.total_events);
}

void ChromeExport::end_thread(const traceio::ThreadInfo& thread) {
  (void)thread;
  Impl& m = *impl_;
  if (m.pass != Impl::Pass::Plan && m.pass != Impl::Pass::Write) return;
  m.walker->finish();
  if (m.pass == Impl::Pass::Write) {
    m.flush(true);
    m.write_instants();
  }
  m.walker.reset();
}

bool ChromeExport::again() {
  Impl& m = *impl_;
  if (m.pass == Impl::Pass::Plan) {
    std::uint64_t max_index = 0;
    for (const auto& th : m.trace->threads()) max_index = std::max<std::uint64_t>(max_index, th.index);
    m.lookup = std::make_unique<JobLookup>(*m.trace, m.job_events.pair());
    m.job_events = JobEvents();
    m.job_flows = m.lookup->flows(max_index + 2);
    m.pass = m.lookup->needed() ? Impl::Pass::Jobs : Impl::Pass::Write;
    return true;
  }
  if (m.pass == Impl::Pass::Jobs) {
    std::uint64_t max_index = 0;
    for (const auto& th : m.trace->threads()) max_index = std::max<std::uint64_t>(max_index, th.index);
    m.job_flows = m.lookup->flows(max_index + 2);
    m.lookup.reset();
    m.pass = Impl::Pass::Write;
    return true;
  }
  m.pass = Impl::Pass::Done;
  return false;
}

bool ChromeExport::finish(const std::string& other_data) { return impl_->writer && impl_->writer->finish(other_data); }

const ChromeExportStats& ChromeExport::stats() const { return impl_->stats; }

}  // namespace gs::cli
