// report_model.cpp: build_report() (report_model.h).
#include "greenscope/analysis/report_model.h"

#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "greenscope/analysis/timeline.h"

namespace gs::analysis {

using traceio::Trace;

void Stat::add(std::int64_t ns) {
  ++count;
  total_ns += ns;
  max_ns = std::max(max_ns, ns);
}

namespace {

// BusyIndex answers "how long did greenlets run inside [begin, end)" from
// disjoint intervals sorted by begin, with prefix sums.
class BusyIndex {
 public:
  explicit BusyIndex(std::vector<std::pair<std::int64_t, std::int64_t>> spans) : spans_(std::move(spans)) {
    std::sort(spans_.begin(), spans_.end());
    prefix_.push_back(0);
    for (const auto& [b, e] : spans_) prefix_.push_back(prefix_.back() + (e - b));
  }

  std::int64_t overlap(std::int64_t begin, std::int64_t end) const {
    const auto first =
        std::partition_point(spans_.begin(), spans_.end(), [&](const auto& s) { return s.second <= begin; });
    const auto last = std::partition_point(first, spans_.end(), [&](const auto& s) { return s.first < end; });
    if (first >= last) return 0;
    std::int64_t sum = prefix_[static_cast<std::size_t>(last - spans_.begin())] -
                       prefix_[static_cast<std::size_t>(first - spans_.begin())];
    sum -= std::max<std::int64_t>(0, begin - first->first);
    sum -= std::max<std::int64_t>(0, (last - 1)->second - end);
    return std::max<std::int64_t>(0, sum);
  }

 private:
  std::vector<std::pair<std::int64_t, std::int64_t>> spans_;
  std::vector<std::int64_t> prefix_;
};

// HubSums gathers one hub thread's row while its timeline is walked: the
// phase sums at once, the greenlets' runs and the callbacks' spans for
// finish(), which needs every run to tell a callback's own time.
class HubSums {
 public:
  explicit HubSums(std::uint64_t hub) : hub_(hub) {}

  void add(const Span& s) {
    if (s.kind == SpanKind::Running && s.greenlet != hub_) {
      greenlet_runs_.emplace_back(s.begin_ns, s.end_ns);
      row_.greenlets_ns += s.duration();
    }
    if (s.kind == SpanKind::Running && s.greenlet == hub_) row_.hub_ns += s.duration();
    if (s.kind == SpanKind::Poll) {
      row_.poll_ns += s.duration();
      ++row_.polls;
      row_.longest_poll_ns = std::max(row_.longest_poll_ns, s.duration());
    }
    if (s.kind == SpanKind::Watcher || s.kind == SpanKind::Callback) callbacks_.push_back({s.begin_ns, s.end_ns, s.code, s.kind});
  }

  // finish() completes the row and adds the callbacks to `rows` (indexed as
  // Accumulator::callbacks_, the last one run_callback's).
  template <std::size_t N>
  HubRow finish(const traceio::ThreadInfo& thread, const Timeline& t, std::array<CallbackRow, N>& rows) {
    row_.thread = thread.index;
    row_.thread_name = thread.name;
    row_.hub = hub_;
    row_.wall_ns = t.end_ns - t.begin_ns;
    row_.other_ns = std::max<std::int64_t>(0, row_.wall_ns - row_.poll_ns - row_.hub_ns - row_.greenlets_ns);
    const BusyIndex busy(std::move(greenlet_runs_));
    for (const CallbackSpan& s : callbacks_) {
      const std::size_t k = s.kind == SpanKind::Callback ? N - 1 : std::min<std::size_t>(s.code, N - 2);
      CallbackRow& c = rows[k];
      const std::int64_t duration = s.end_ns - s.begin_ns;
      ++c.count;
      c.total_ns += duration;
      c.hub_ns += duration - busy.overlap(s.begin_ns, s.end_ns);
      c.max_ns = std::max(c.max_ns, duration);
    }
    return row_;
  }

 private:
  struct CallbackSpan {
    std::int64_t begin_ns, end_ns;
    std::uint8_t code;
    SpanKind kind;
  };

  std::uint64_t hub_;
  HubRow row_;
  std::vector<std::pair<std::int64_t, std::int64_t>> greenlet_runs_;
  std::vector<CallbackSpan> callbacks_;
};

// Accumulator gathers the report while the timelines are walked, span by
// span: no thread's spans are ever all in memory.
class Accumulator {
 public:
  Accumulator(const Trace& trace, const ReportOptions& options) : trace_(trace), options_(options) {
    for (std::size_t k = 0; k < gs::trace_format::kWatcherKindCount; ++k)
      callbacks_[k].name = std::string(traceio::to_string(static_cast<traceio::WatcherKind>(k)));
    callbacks_[kRunCallback].name = "run_callback";
  }

  // A thread's events go to begin_thread(), add() (in time order, in as
  // many pieces as come), end_thread().
  void begin_thread(const traceio::ThreadInfo& thread);
  void add(std::span<const traceio::Event> events);
  void end_thread(const traceio::ThreadInfo& thread);
  Report finish();

 private:
  // ThreadWalk is the thread being walked: its timeline so far and its hub's sums.
  struct ThreadWalk {
    ThreadWalk(Accumulator& acc, const traceio::ThreadInfo& thread)
        : hub(thread.has_hub ? thread.hub_greenlet : 0),
          sums(hub),
          walker(thread.index, hub, [this, &acc, index = thread.index](const Span& s) {
            if ((s.kind == SpanKind::Running || s.kind == SpanKind::Waiting) && s.greenlet != 0)
              acc.add_greenlet_span(s, index, begin_ns);
            if (hub != 0) sums.add(s);
          }) {}
    std::uint64_t hub;
    std::int64_t begin_ns = 0;  // of the thread's first event
    bool any = false;
    HubSums sums;
    TimelineWalker walker;
  };

  static constexpr std::size_t kRunCallback = gs::trace_format::kWatcherKindCount;

  GreenletRow& row(std::uint64_t id, std::uint32_t thread);
  void add_greenlet_span(const Span& s, std::uint32_t thread, std::int64_t thread_begin_ns);

  const Trace& trace_;
  const ReportOptions& options_;
  std::map<std::uint64_t, GreenletRow> rows_;
  std::array<CallbackRow, gs::trace_format::kWatcherKindCount + 1> callbacks_;
  std::vector<HubRow> hubs_;
  std::uint64_t mismatched_ = 0;
  std::unique_ptr<ThreadWalk> walk_;
};

GreenletRow& Accumulator::row(std::uint64_t id, std::uint32_t thread) {
  auto [it, added] = rows_.try_emplace(id);
  GreenletRow& r = it->second;
  if (!added) return r;
  r.id = id;
  r.name = trace_.greenlet_name(id);
  r.thread = thread;
  const auto info = trace_.greenlets().find(id);
  if (info != trace_.greenlets().end()) {
    const traceio::GreenletInfo& g = info->second;
    r.spawner = g.spawner;
    r.spawner_name = g.spawner != 0 ? trace_.greenlet_name(g.spawner) : "";
    r.exit_ns = g.exit_ns;
    r.exit_kind = g.exit_kind;
    r.error = g.error;
  }
  return r;
}

void Accumulator::add_greenlet_span(const Span& s, std::uint32_t thread, std::int64_t thread_begin_ns) {
  GreenletRow& r = row(s.greenlet, thread);
  if (s.kind == SpanKind::Running) {
    r.running_ns += s.duration();
    r.longest_run_ns = std::max(r.longest_run_ns, s.duration());
    if (s.switch_in || s.begin_ns == thread_begin_ns) ++r.runs;
  } else if (s.code < kReasons) {
    r.waiting_ns += s.duration();
    r.wait_ns[s.code] += s.duration();
    ++r.wait_count[s.code];
  }
}

void Accumulator::begin_thread(const traceio::ThreadInfo& thread) {
  walk_.reset();
  if (options_.thread && *options_.thread != thread.index) return;
  walk_ = std::make_unique<ThreadWalk>(*this, thread);
}

void Accumulator::add(std::span<const traceio::Event> events) {
  if (!walk_ || events.empty()) return;
  if (!walk_->any) walk_->begin_ns = events.front().time_ns;
  walk_->any = true;
  for (const traceio::Event& e : events) walk_->walker.add(e);
}

void Accumulator::end_thread(const traceio::ThreadInfo& thread) {
  if (!walk_) return;
  const Timeline t = walk_->walker.finish();
  mismatched_ += t.mismatched;
  if (t.hub != 0) hubs_.push_back(walk_->sums.finish(thread, t, callbacks_));
  walk_.reset();
}

Report Accumulator::finish() {
  for (const auto& [id, g] : trace_.greenlets())
    if (!options_.thread || *options_.thread == g.thread) row(id, g.thread);
  Report report;
  for (auto& [id, r] : rows_) {
    r.hub = false;
    for (const HubRow& h : hubs_) r.hub = r.hub || h.hub == id;
    report.greenlets.push_back(std::move(r));
  }
  for (const CallbackRow& c : callbacks_)
    if (c.count > 0) report.callbacks.push_back(c);
  report.hubs = std::move(hubs_);
  report.mismatched = mismatched_;
  return report;
}

JobStats job_stats(const std::vector<Job>& jobs, const ReportOptions& options) {
  JobStats stats;
  for (const Job& j : jobs) {
    if (options.thread && *options.thread != j.hub_thread && *options.thread != j.worker_thread) continue;
    if (j.submit_ns >= 0) ++stats.submitted;
    if (j.submit_ns >= 0 && j.begin_ns >= 0) {
      stats.queue.add(std::max<std::int64_t>(0, j.begin_ns - j.submit_ns));
      if (j.begin_ns < j.submit_ns) ++stats.begun_before_submit;
    }
    if (j.begin_ns >= 0 && j.end_ns >= 0) stats.run.add(j.end_ns - j.begin_ns);
    if (j.submit_ns >= 0 && j.done_ns >= 0) stats.total.add(j.done_ns - j.submit_ns);
    if (j.done_ns >= 0) ++stats.completed;
  }
  return stats;
}

}  // namespace

Report build_report(const Trace& trace, const ReportOptions& options) {
  ReportSink sink(options);
  sink.start(trace);
  for (const traceio::ThreadInfo& th : trace.threads()) {
    sink.begin_thread(th);
    sink.events(th, th.events);
    sink.end_thread(th);
  }
  return sink.report();
}

// ReportSink::Impl is the walk: the report so far and the job events.
struct ReportSink::Impl {
  ReportOptions options;
  std::unique_ptr<Accumulator> acc;
  JobEvents jobs;
};

ReportSink::ReportSink(const ReportOptions& options) : impl_(std::make_unique<Impl>()) { impl_->options = options; }

ReportSink::~ReportSink() = default;

void ReportSink::start(const Trace& tables) { impl_->acc = std::make_unique<Accumulator>(tables, impl_->options); }

void ReportSink::begin_thread(const traceio::ThreadInfo& thread) { impl_->acc->begin_thread(thread); }

void ReportSink::events(const traceio::ThreadInfo& thread, std::span<const traceio::Event> events) {
  impl_->acc->add(events);
  impl_->jobs.add(thread.index, events);
}

void ReportSink::end_thread(const traceio::ThreadInfo& thread) { impl_->acc->end_thread(thread); }

Report ReportSink::report() {
  Report report = impl_->acc->finish();
  report.jobs = job_stats(impl_->jobs.pair(), impl_->options);
  return report;
}

void sort_greenlets(std::vector<GreenletRow>& rows, SortKey key) {
  const auto value = [key](const GreenletRow& r) -> std::int64_t {
    switch (key) {
      case SortKey::Waiting: return r.waiting_ns;
      case SortKey::Runs: return static_cast<std::int64_t>(r.runs);
      case SortKey::Longest: return r.longest_run_ns;
      case SortKey::Running: break;
    }
    return r.running_ns;
  };
  std::stable_sort(rows.begin(), rows.end(), [&](const GreenletRow& x, const GreenletRow& y) {
    const std::int64_t a = value(x), b = value(y);
    return a != b ? a > b : x.id < y.id;
  });
}

}  // namespace gs::analysis
