// timeline.h: one thread's events turned into spans: when each greenlet ran
// and what it waited for, the hub loop's phases, thread-pool jobs. The report
// model and the Chrome export both read a trace through it; it depends on
// greenscope::traceio only, so a viewer can reuse it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "greenscope/analysis/span_kind.h"
#include "greenscope/traceio.h"

namespace gs::analysis {

// Span is one interval on a track. Which fields mean something depends on
// `kind`, as noted.
struct Span {
  std::int64_t begin_ns = 0, end_ns = 0;
  std::uint64_t greenlet = 0;  // whose track: runner, waiter, the hub for loop phases, 0 for jobs
  std::uint64_t seq = 0;       // begin order within the thread: parents before children
  std::uint64_t key = 0;       // Job: the job key; Waiting on Join: the joined greenlet
  std::uint64_t stack = 0;     // Waiting: the wait's stack id (Trace::stack()), 0 if none recorded
  std::int64_t fd = -1;        // Waiting on Io, Watcher: the fd (-1 none)
  std::uint32_t what = 0;      // Waiting: Trace::text() id of what it waits on
  std::uint16_t events = 0;    // Waiting on Io: io events (1 read, 2 write); Watcher: revents
  std::uint8_t code = 0;       // Waiting: Reason; Running: why the hub resumed it; Watcher: WatcherKind
  std::uint8_t depth = 0;      // loop phases: nesting depth, 0 outermost
  SpanKind kind = SpanKind::Running;
  bool switch_in = false;      // Running: began at a switch to this greenlet
  bool switch_out = false;     // Running: ended at a switch away from it
  bool clipped = false;        // its end is missing: closed early or at the thread's last event
  std::int64_t duration() const { return end_ns - begin_ns; }
};

struct TimelineOptions {
  // split_hub_at_phases cuts the hub's runs at every loop phase boundary, so
  // that on the hub's track runs nest inside phases (the Chrome export needs
  // that). Hub runs are always cut out of polls: blocking is not running.
  bool split_hub_at_phases = false;
  // on_begin, if set, takes each span as it begins (end_ns, switch_out and
  // clipped not known yet), in time order: an export that writes begin and
  // end events as they happen (the Perfetto export) needs no reordering. A
  // span whose begin went out does not always end: after lost events a
  // greenlet's open wait can be replaced by a new one, and a job by another
  // of the same key.
  std::function<void(const Span&)> on_begin;
};

struct Timeline {
  std::uint32_t thread = 0;
  std::uint64_t hub = 0;                 // the hub greenlet, 0 on a thread without a hub
  std::int64_t begin_ns = 0, end_ns = 0;  // first and last event
  std::vector<Span> spans;               // in the order they ended
  // mismatched counts events that did not fit: an end without a begin, a
  // switch away from a greenlet that was not running. Dropped events cause
  // them; so would a tracer bug.
  std::uint64_t mismatched = 0;
};

// build_timeline() walks one thread's events (in time order).
Timeline build_timeline(const traceio::ThreadInfo& thread, const TimelineOptions& options = {});

// timeline_head() is what a walk of `thread` knows before its first event:
// the Timeline's thread, hub, begin_ns and end_ns (no spans, no mismatches).
Timeline timeline_head(const traceio::ThreadInfo& thread);

// walk_timeline() is build_timeline() that keeps no spans: each one goes to
// `on_span` as it ends, in the order build_timeline() lists them, and the
// Timeline returned has every field but `spans` (empty). A thread's spans
// take about 1.5 times its events at 72 bytes each: a consumer that only
// sums them (greenscope report) needs none of that memory.
Timeline walk_timeline(const traceio::ThreadInfo& thread, const std::function<void(const Span&)>& on_span,
                       const TimelineOptions& options = {});

namespace detail {
class TimelineBuilder;
}

// TimelineWalker is walk_timeline() for a thread whose events arrive a
// piece at a time (a trace still being written: traceio::Follower): add()
// them in time order as they come, and each span goes to `on_span` as it
// ends, exactly as walk_timeline() would send it. open_spans() lists the
// spans still open as finish() would close them at the latest event
// (clipped), leaving them open.
class TimelineWalker {
 public:
  // `hub`: the thread's hub greenlet, 0 if it has none or it is not known yet.
  TimelineWalker(std::uint32_t thread, std::uint64_t hub, std::function<void(const Span&)> on_span,
                 const TimelineOptions& options = {});
  ~TimelineWalker();
  TimelineWalker(const TimelineWalker&) = delete;
  TimelineWalker& operator=(const TimelineWalker&) = delete;

  // set_hub() names the hub once it is known, if it was 0 until then.
  void set_hub(std::uint64_t hub);
  void add(const traceio::Event& e);
  void open_spans(const std::function<void(const Span&)>& out) const;
  // timeline() is the walk so far, without spans: thread, hub, the first
  // and latest event's times, mismatches.
  const Timeline& timeline() const;
  // finish() closes the open spans (to on_span) and ends the walk.
  Timeline finish();

 private:
  TimelineOptions options_;
  std::function<void(const Span&)> on_span_;
  std::unique_ptr<detail::TimelineBuilder> builder_;
};

// is_wait_reason() is true for the reasons that make a greenlet wait
// (yield, sleep, io, event, lock, queue, join, idle, wait).
bool is_wait_reason(std::uint8_t code);

// Job is one thread-pool job, paired across threads by its key. Times are
// -1 when the event is missing.
struct Job {
  std::uint64_t key = 0;
  std::uint64_t submitter = 0;  // greenlet that submitted it
  std::uint32_t hub_thread = 0, worker_thread = 0;
  std::int64_t submit_ns = -1, begin_ns = -1, end_ns = -1, done_ns = -1;
};

// pair_jobs() matches JobSubmit, JobBegin, JobEnd and JobDone by key in time
// order (a key may be reused once its job is done), sorted by submit time.
std::vector<Job> pair_jobs(const traceio::Trace& trace);

// JobEvents is pair_jobs() for events that stream by (traceio::scan()): it
// keeps copies of the job events only. add() each thread's events, threads
// in index order, each in time order, as Trace::threads() holds them.
class JobEvents {
 public:
  void add(std::uint32_t thread, std::span<const traceio::Event> events);
  std::vector<Job> pair();

 private:
  struct Point {
    traceio::Event event;
    std::uint32_t thread;
  };
  std::vector<Point> points_;
};

}  // namespace gs::analysis
