// chrome_export.cpp: write_chrome_trace() (chrome_export.h).
#include "chrome_export.h"

#include <algorithm>
#include <map>
#include <set>

#include "event_text.h"
#include "greenscope/analysis/timeline.h"

namespace gs::cli {

// The model behind this command lives in greenscope::analysis (shared with the viewer).
using analysis::Job;
using analysis::Span;
using analysis::SpanKind;
using analysis::Timeline;
using analysis::TimelineOptions;
using analysis::build_timeline;
using analysis::is_wait_reason;
using analysis::pair_jobs;

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

// wait_starts() lists, per greenlet, when it switched away to wait.
std::map<std::uint64_t, std::vector<std::int64_t>> wait_starts(const traceio::ThreadInfo& thread) {
  std::map<std::uint64_t, std::vector<std::int64_t>> starts;
  for (const Event& e : thread.events)
    if (e.type == EventType::Switch && e.a != thread.hub_greenlet && is_wait_reason(e.code))
      starts[e.a].push_back(e.time_ns);
  return starts;
}

JobFlows plan_job_flows(const Trace& trace, std::uint64_t next_id) {
  JobFlows flows;
  std::map<std::uint32_t, std::map<std::uint64_t, std::vector<std::int64_t>>> waits;  // by thread
  for (const Job& j : pair_jobs(trace)) {
    if (j.begin_ns < 0) continue;
    JobFlows::Target& target = flows.to_job[{j.key, j.begin_ns}];
    if (j.submit_ns < 0) continue;
    target.queued_ns = std::max<std::int64_t>(0, j.begin_ns - j.submit_ns);
    const traceio::ThreadInfo* hub = trace.thread(j.hub_thread);
    if (hub == nullptr) continue;
    if (!waits.count(j.hub_thread)) waits[j.hub_thread] = wait_starts(*hub);
    const std::vector<std::int64_t>& starts = waits[j.hub_thread][j.submitter];
    const auto it = std::lower_bound(starts.begin(), starts.end(), j.submit_ns);
    if (it == starts.end() || flows.from_wait.count({j.submitter, *it})) continue;
    target.id = next_id++;
    flows.from_wait[{j.submitter, *it}] = target.id;
  }
  return flows;
}

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

class Exporter {
 public:
  Exporter(const Trace& trace, ChromeWriter& writer, const std::function<void(std::uint64_t, std::uint64_t)>& progress,
           const ChromeExportWindow& window)
      : trace_(trace), writer_(writer), progress_(progress), window_(window) {
    pid_ = static_cast<std::uint32_t>(trace.process().pid);
    std::uint64_t max_index = 0;
    for (const auto& th : trace.threads()) max_index = std::max<std::uint64_t>(max_index, th.index);
    job_flows_ = plan_job_flows(trace, max_index + 2);
    for (const auto& th : trace.threads()) total_events_ += th.events.size();
  }

  ChromeExportStats run();

 private:
  void export_thread(const traceio::ThreadInfo& thread);
  std::map<std::uint64_t, std::uint32_t> assign_tracks(const traceio::ThreadInfo& thread, const Timeline& t,
                                                       const std::vector<Instant>& instants);
  std::string track_name(const traceio::ThreadInfo& thread, std::uint64_t greenlet) const;
  void write_spans(const traceio::ThreadInfo& thread, Timeline& t, const std::map<std::uint64_t, std::uint32_t>& tids);
  void write_span(const Span& s, std::uint32_t tid, std::uint64_t chain_id, bool in, bool out);
  void write_args(const Span& s, ChromeEvent& e) const;
  void wait_args(const Span& s, ChromeEvent& e, JsonArgs& args) const;
  void job_args(const Span& s, ChromeEvent& e, JsonArgs& args) const;
  void write_meta(std::uint32_t tid, std::string_view what, const std::string& args);
  void keep_window(Timeline& t, std::vector<Instant>& instants) const;
  std::uint32_t next_tid();

  const Trace& trace_;
  ChromeWriter& writer_;
  const std::function<void(std::uint64_t, std::uint64_t)>& progress_;
  const ChromeExportWindow window_;
  std::uint32_t pid_ = 0, last_tid_ = 0;
  JobFlows job_flows_;
  std::uint64_t total_events_ = 0, done_events_ = 0;
  ChromeExportStats stats_;
};

std::uint32_t Exporter::next_tid() {
  if (++last_tid_ == pid_) ++last_tid_;  // a tid equal to the pid reads as the main thread
  return last_tid_;
}

void Exporter::write_meta(std::uint32_t tid, std::string_view what, const std::string& args) {
  ChromeEvent e;
  e.ph = 'M';
  e.pid = pid_;
  e.tid = tid;
  e.name = what;
  e.args = args;
  writer_.write(e);
}

std::string Exporter::track_name(const traceio::ThreadInfo& thread, std::uint64_t greenlet) const {
  const std::string where = "(thread " + std::to_string(thread.index) + ")";
  if (greenlet != 0) {
    const std::string label = greenlet_label(trace_, greenlet);
    const std::size_t hash = label.rfind('#');
    return label.substr(0, hash) + (hash == 0 ? "" : " ") + label.substr(hash) + " " + where;
  }
  const std::string name = thread.name.empty() ? "thread" : thread.name;
  return name + " " + where + " tid " + std::to_string(thread.os_tid);
}

std::map<std::uint64_t, std::uint32_t> Exporter::assign_tracks(const traceio::ThreadInfo& thread, const Timeline& t,
                                                               const std::vector<Instant>& instants) {
  std::set<std::uint64_t> ids;
  for (const Span& s : t.spans) ids.insert(s.greenlet);
  for (const Instant& i : instants) ids.insert(i.greenlet);
  for (const auto& [id, g] : trace_.greenlets())
    if (g.thread == thread.index) ids.insert(id);
  std::vector<std::uint64_t> order;
  for (std::uint64_t first : {thread.has_hub ? thread.hub_greenlet : 0, thread.has_hub ? thread.main_greenlet : 0})
    if (first != 0 && ids.erase(first)) order.push_back(first);
  const bool own_track = ids.erase(0) != 0;
  order.insert(order.end(), ids.begin(), ids.end());
  if (own_track) order.push_back(0);
  std::map<std::uint64_t, std::uint32_t> tids;
  for (std::uint64_t id : order) {
    const std::uint32_t tid = next_tid();
    tids[id] = tid;
    JsonArgs name;
    name.add("name", track_name(thread, id));
    write_meta(tid, "thread_name", name.json());
    write_meta(tid, "thread_sort_index", JsonArgs().add("sort_index", static_cast<std::int64_t>(tid)).json());
  }
  stats_.tracks += order.size();
  return tids;
}

void Exporter::wait_args(const Span& s, ChromeEvent& e, JsonArgs& args) const {
  if (!trace_.text(s.what).empty()) args.add("what", trace_.text(s.what));
  if (s.code == static_cast<std::uint8_t>(Reason::Io)) args.add("fd", s.fd).add("events", io_text(s.events));
  if (s.code == static_cast<std::uint8_t>(Reason::Join)) args.add("joins", greenlet_label(trace_, s.key));
  const auto flow = job_flows_.from_wait.find({s.greenlet, s.begin_ns});
  if (flow != job_flows_.from_wait.end()) {
    e.bind_id = flow->second;
    e.flow_out = true;
  }
}

void Exporter::job_args(const Span& s, ChromeEvent& e, JsonArgs& args) const {
  char key[24];
  std::snprintf(key, sizeof key, "0x%llx", static_cast<unsigned long long>(s.key));
  args.add("key", key);
  const auto target = job_flows_.to_job.find({s.key, s.begin_ns});
  if (target == job_flows_.to_job.end()) return;
  if (target->second.queued_ns >= 0) args.add_us("queued_us", target->second.queued_ns);
  if (target->second.id != 0) {
    e.bind_id = target->second.id;
    e.flow_in = true;
  }
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

void Exporter::write_args(const Span& s, ChromeEvent& e) const {
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

void Exporter::write_span(const Span& s, std::uint32_t tid, std::uint64_t chain_id, bool in, bool out) {
  ChromeEvent e;
  e.pid = pid_;
  e.tid = tid;
  e.ts_ns = s.begin_ns;
  e.dur_ns = s.duration();
  const std::string name = span_name(s, &e.cat);
  e.name = name;
  write_args(s, e);
  if (in || out) {
    e.bind_id = chain_id;
    e.flow_in = in;
    e.flow_out = out;
    ++stats_.flow_slices;
  }
  writer_.write(e);
  ++stats_.slices;
}

// write_spans() writes in begin order, parents first; the runs that begin
// or end at a switch form the thread's flow chain.
void Exporter::write_spans(const traceio::ThreadInfo& thread, Timeline& t,
                           const std::map<std::uint64_t, std::uint32_t>& tids) {
  std::sort(t.spans.begin(), t.spans.end(), [](const Span& a, const Span& b) { return a.seq < b.seq; });
  const auto in_chain = [](const Span& s) { return s.kind == SpanKind::Running && (s.switch_in || s.switch_out); };
  const std::size_t members = static_cast<std::size_t>(std::count_if(t.spans.begin(), t.spans.end(), in_chain));
  std::size_t member = 0;
  for (std::size_t i = 0; i < t.spans.size(); ++i) {
    const Span& s = t.spans[i];
    const bool chained = members > 1 && in_chain(s);
    write_span(s, tids.at(s.greenlet), thread.index + 1, chained && member > 0, chained && member + 1 < members);
    if (in_chain(s)) ++member;
    if (i % 8192 == 0 && progress_) progress_(done_events_ + thread.events.size() * i / t.spans.size(), total_events_);
  }
}

// keep_window() drops what lies outside the window and cuts spans at its
// edges; cutting keeps nested spans nested.
void Exporter::keep_window(Timeline& t, std::vector<Instant>& instants) const {
  const auto outside = [&](const Span& s) { return s.end_ns < window_.from_ns || s.begin_ns > window_.to_ns; };
  t.spans.erase(std::remove_if(t.spans.begin(), t.spans.end(), outside), t.spans.end());
  for (Span& s : t.spans) {
    if (s.begin_ns < window_.from_ns || s.end_ns > window_.to_ns) s.clipped = true;
    s.begin_ns = std::max(s.begin_ns, window_.from_ns);
    s.end_ns = std::min(s.end_ns, window_.to_ns);
  }
  instants.erase(std::remove_if(instants.begin(), instants.end(),
                                [&](const Instant& i) { return i.ts_ns < window_.from_ns || i.ts_ns > window_.to_ns; }),
                 instants.end());
}

void Exporter::export_thread(const traceio::ThreadInfo& thread) {
  TimelineOptions options;
  options.split_hub_at_phases = true;
  Timeline t = build_timeline(thread, options);
  std::vector<Instant> instants;
  Instant instant;
  for (const Event& e : thread.events)
    if (instant_for(trace_, e, instant)) instants.push_back(instant);
  keep_window(t, instants);
  const auto tids = assign_tracks(thread, t, instants);
  write_spans(thread, t, tids);
  for (const Instant& i : instants) {
    ChromeEvent e;
    e.ph = 'i';
    e.pid = pid_;
    e.tid = tids.at(i.greenlet);
    e.ts_ns = i.ts_ns;
    e.name = i.name;
    e.cat = "event";
    e.args = i.args;
    writer_.write(e);
    ++stats_.instants;
  }
  done_events_ += thread.events.size();
  if (progress_) progress_(done_events_, total_events_);
}

ChromeExportStats Exporter::run() {
  const traceio::ProcessInfo& p = trace_.process();
  const std::string program = p.program.empty() ? "program" : p.program;
  write_meta(pid_, "process_name", JsonArgs().add("name", program + " (pid " + std::to_string(p.pid) + ")").json());
  for (const traceio::ThreadInfo& th : trace_.threads()) export_thread(th);
  return stats_;
}

}  // namespace

ChromeExportStats write_chrome_trace(const Trace& trace, ChromeWriter& writer,
                                     const std::function<void(std::uint64_t, std::uint64_t)>& progress,
                                     const ChromeExportWindow& window) {
  return Exporter(trace, writer, progress, window).run();
}

}  // namespace gs::cli
