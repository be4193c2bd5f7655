// model.h: greenscope::analysis's Model, what the viewer draws and the CLI
// reports: one or more traces turned into tracks of spans, on one time axis.
// It depends on greenscope::traceio only (no GL, no runtime).
//
// Layout, as Tracy keeps zones: every track holds its spans column by column
// (struct of arrays), sorted by begin, one SpanColumns per nesting level.
// Spans on one level never overlap, so their ends are sorted too and a time
// window is two binary searches. No std::string per span: text is interned
// (Model::text), and what only some spans carry (a wait's stack, an fd)
// lives in a side table (SpanInfo) that spans index.
//
// Times are ns on the model's axis: 0 is the earliest trace's start; each
// further trace is placed by its wall-clock start (ProcessInfo::start_wall_ns).
#pragma once

#include <atomic>
#include <climits>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "greenscope/analysis/span_kind.h"
#include "greenscope/traceio.h"

namespace gs::analysis {

struct StallSummary;

// SpanInfo is what some spans carry beyond time and kind. Index 0 of
// Model::infos is the empty one that spans without extras point to.
struct SpanInfo {
  std::uint64_t stack = 0;  // Waiting, BlockingCall, Crash: stack id (Model::stack), 0 none
  std::uint64_t key = 0;    // Waiting on Join: joined greenlet; Job: job key; Stall/Crash: index;
                            //   Dropped: events lost
  std::int64_t fd = -1;     // Waiting on Io, Watcher, BlockingCall: fd (-1 none)
  std::uint32_t what = 0;   // Model::text id: what a wait waits on, a blocking call's name
  std::uint16_t events = 0; // Waiting on Io: 1 read, 2 write; Watcher: revents
};

// SpanColumns is one level of one track. All columns have size() entries;
// begin and end are both sorted ascending (spans on a level do not overlap).
struct SpanColumns {
  std::vector<std::int64_t> begin;
  std::vector<std::int64_t> end;
  std::vector<SpanKind> kind;
  std::vector<std::uint8_t> code;
  std::vector<std::uint32_t> info;  // index into Model::infos, 0 for none
  // clipped: the span's end is not known (the trace ended first, or events
  // were lost); it runs to the thread's last event. A bit per span.
  std::vector<bool> clipped;

  std::size_t size() const { return begin.size(); }
  // window() is [first, last) of the spans that overlap [from, to): those
  // with begin < to and end > from (so a zero-length span exactly at `from`
  // is left out). Two binary searches; first == last when none do.
  std::pair<std::size_t, std::size_t> window(std::int64_t from, std::int64_t to) const;
};

// Track is one row of the timeline.
struct Track {
  enum class Type : std::uint8_t { Hub, Greenlet, Worker };
  Type type = Type::Greenlet;
  std::uint32_t process = 0;   // index into Model::processes
  std::uint32_t thread = 0;    // index into Model::threads
  std::uint64_t greenlet = 0;  // Greenlet: its id; Hub: the hub greenlet's id
  // levels: [0, own_levels) hold the track's own spans: Hub: loop phases by
  // nesting depth (Poll, Callbacks, Watcher, Callback; level 0 outermost);
  // Greenlet: Running and Waiting (one level, more only if damage made two
  // overlap); Worker: Jobs. The levels after them (Hub, Worker) hold Stall,
  // BlockingCall, LoopLag, Crash and Dropped spans, packed so none overlap:
  // the last level holds the Stall spans (and whatever else fits there).
  std::vector<SpanColumns> levels;
  std::uint32_t own_levels = 0;
};

// GreenletSummary is one greenlet (ids are per process).
struct GreenletSummary {
  std::uint32_t process = 0;
  std::uint64_t id = 0;
  std::uint32_t name = 0;      // Model::text id
  std::uint64_t spawner = 0;   // 0 none known
  std::uint32_t thread = 0;    // index into Model::threads
  // track: index into Model::tracks (the hub's: its Hub track), UINT32_MAX
  // for a greenlet that has no span (it never ran while traced).
  std::uint32_t track = UINT32_MAX;
  std::int64_t spawn_ns = -1, exit_ns = -1;  // -1: before the trace / alive at its end
  traceio::ExitKind exit_kind = traceio::ExitKind::Returned;
  std::uint32_t error = 0;     // Model::text id
  std::int64_t running_ns = 0, longest_run_ns = 0, waiting_ns = 0;
  std::uint64_t runs = 0;
  std::int64_t wait_ns[trace_format::kReasonCount] = {};  // by traceio::Reason
};

struct ThreadSummary {
  std::uint32_t process = 0;
  std::uint32_t index = 0;     // the trace's thread index
  std::int64_t os_tid = 0;
  std::uint32_t name = 0;      // Model::text id
  bool has_hub = false;
  std::uint32_t hub_track = UINT32_MAX;  // index into Model::tracks, UINT32_MAX none
  std::vector<std::uint32_t> greenlet_tracks;  // by first appearance
  std::uint32_t worker_track = UINT32_MAX;     // thread-pool jobs run here
};

// ProcessSummary is one loaded trace file.
struct ProcessSummary {
  std::string path;
  traceio::ProcessInfo info;
  traceio::FileStats stats;
  std::vector<traceio::Problem> problems;
  std::int64_t offset_ns = 0;            // this trace's time 0 on the model's axis
  std::int64_t begin_ns = 0, end_ns = 0;  // on the model's axis
  std::vector<std::uint32_t> threads;    // indices into Model::threads
};

// SwitchLink is one switch: from the greenlet that left to the one that ran
// (the hub's side is its Hub track).
struct SwitchLink {
  std::int64_t time_ns = 0;
  std::uint32_t from_track = 0, to_track = 0;
};

// LoadProgress: fraction of the work done, 0..1; return false to cancel.
using LoadProgress = std::function<bool(double done)>;

// Model: copies share the string table and the symbol caches (Impl), so
// load into one Model only; hand out const references to draw from.
class Model {
 public:
  Model();

  // load() adds one trace file. A file that cannot be read at all leaves
  // the model as it was and returns the reason (with what to do); a damaged
  // one is added with its problems listed. Cancelled: "cancelled".
  bool load(const std::string& path, std::string* error, const LoadProgress& progress = {});
  // add() adds an already loaded trace (tests, the CLI). The Model keeps the
  // trace for its stacks and symbols (frame_lines()): the first form copies
  // all of it but the events (Trace::without_events()), the second shares
  // it, events included (the caller owns them: release them first with
  // Trace::release_events() to save their memory). load() keeps no events.
  void add(const traceio::Trace& trace);
  void add(std::shared_ptr<const traceio::Trace> trace);

  std::vector<ProcessSummary> processes;
  std::vector<ThreadSummary> threads;
  std::vector<Track> tracks;
  std::vector<GreenletSummary> greenlets;   // by process, then id
  std::vector<SpanInfo> infos{SpanInfo{}};
  // stalls, crashes, run_infos: times moved onto the model's axis; ids,
  // stack ids and thread indices stay the trace's (look stacks up with
  // stack(process, id), threads through ProcessSummary::threads).
  std::vector<traceio::StallInfo> stalls;
  std::vector<std::uint32_t> stall_process; // per stall: its process
  std::vector<traceio::CrashInfo> crashes;  // likewise
  std::vector<std::uint32_t> crash_process;
  std::vector<traceio::RunInfoDump> run_infos;  // text and trigger valid UTF-8, as intern()
  std::vector<std::uint32_t> run_info_process;
  std::int64_t begin_ns() const;  // earliest span
  std::int64_t end_ns() const;    // latest span end
  // text() is an interned text; intern() stores `s` with U+FFFD in place
  // of every control character and byte that is not UTF-8 (traceio::
  // valid_utf8()): the model's texts are names to draw on one line.
  const std::string& text(std::uint32_t id) const;
  std::uint32_t intern(const std::string& s);
  // greenlet() is the summary of (process, id), or null.
  const GreenletSummary* greenlet(std::uint32_t process, std::uint64_t id) const;
  // stack() is a stack's addresses, innermost first, or null.
  const std::vector<std::uint64_t>* stack(std::uint32_t process, std::uint64_t id) const;
  // frame_lines() names a stack for people, one line per scope, innermost
  // first ("#0 spin (demo.cpp:12) [inlined]"), made valid UTF-8 as intern().
  std::vector<std::string> frame_lines(std::uint32_t process, std::uint64_t stack_id) const;
  // stall_summary() is stalls[i]'s verdict and its samples by function
  // (summarize_stall(), stall_model.h), made on first use and kept.
  StallSummary stall_summary(std::size_t i) const;
  // switch_links() are the switches with from <= time_ns < to, by time (at
  // equal times: by process, then thread, then as recorded): from the
  // greenlet that left to the one that ran (the hub's side is its Hub
  // track); a switch with a side that has no track is not linked.
  std::vector<SwitchLink> switch_links(std::int64_t from = INT64_MIN, std::int64_t to = INT64_MAX) const;
  // switch_links_of() are at most `max` switches with from <= time_ns < to
  // into or out of `track`, by time: the arrows of one row, read from its
  // thread's store alone and stopping at `max` (a view of a whole trace).
  std::vector<SwitchLink> switch_links_of(std::uint32_t track, std::int64_t from, std::int64_t to,
                                          std::size_t max) const;
  // switch_count() is how many switches switch_links() knows in all.
  std::size_t switch_count() const;
  // span_count() is every span on every track.
  std::size_t span_count() const;
  // resident_bytes() estimates the model's memory (its vectors' capacities),
  // the traces it keeps for their stacks included.
  std::size_t resident_bytes() const;
  // retained_trace_bytes() is the part of resident_bytes() that is the kept
  // traces: their stacks, symbols and tables, and their events when a trace
  // was shared with them (add(shared_ptr)).
  std::size_t retained_trace_bytes() const;

 private:
  // add_trace() builds `trace` into the tables; `keep` is what the model
  // keeps of it for stacks and symbols, called once the build succeeded.
  // thread_done(index) is told when a thread's events are no longer needed.
  bool add_trace(const traceio::Trace& trace, const std::function<std::shared_ptr<const traceio::Trace>()>& keep,
                 const LoadProgress& progress, const std::function<void(std::uint32_t)>& thread_done = {});

  // add_live_process() places a followed trace on the axis as add_trace()
  // places one (it may move what is there), with no threads yet; Follow
  // fills it in. Returns its index in processes.
  std::uint32_t add_live_process(std::shared_ptr<const traceio::Trace> trace);

  friend class Follow;
  struct Impl;
  std::shared_ptr<Impl> impl_;  // stacks, symbols, string table
};

// Follow keeps a Model up to date with a trace file that a running program
// is still writing (greenscope-viewer --follow): each update() reads what
// the file gained (traceio::Follower) and extends the model with it,
// without reading again what it holds. Each thread's walk goes on where the
// last update left it; a span is added once it ends. Spans still open (the
// greenlet running now, waits not over, a poll under way) are shown as a
// load of the file so far shows them, clipped at the thread's latest event,
// and the next update() puts them where they end. Stalls grow in place.
//
// On an undamaged file the model is then what Model::load() makes of the
// same bytes, but for times: see traceio::Follower on the clock. Track
// numbers differ: a followed thread's tracks are added as its greenlets
// appear (ThreadSummary lists them in load()'s order).
class Follow {
 public:
  // Follow() follows `path` into `model`, which must outlive it; the file
  // becomes the model's next process once its first chunks are read.
  Follow(Model& model, std::string path);
  ~Follow();
  Follow(const Follow&) = delete;
  Follow& operator=(const Follow&) = delete;

  // update() reads about `max_bytes` of what the file gained (at least one
  // chunk) into the model. It returns "" or why the file cannot be followed
  // (traceio::Follower::poll()); a file not written yet is "".
  std::string update(std::uint64_t max_bytes = UINT64_MAX);
  // changed(): the last update() changed the model.
  bool changed() const;
  // at_end(): the last update() read everything the file had.
  bool at_end() const;
  // replaced(): the path names a new file now (the program ran again):
  // load it anew; this Follow reads no more.
  bool replaced() const;
  // process() is the file's index in Model::processes, UINT32_MAX before
  // its first chunks; offset() the bytes of the file read.
  std::uint32_t process() const;
  std::uint64_t offset() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace gs::analysis
