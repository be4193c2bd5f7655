// traceio.h: greenscope::traceio, the trace reader that the CLI, the viewer
// and the tests share. It depends on trace_format.h only, never on the
// runtime. A damaged file is never an exception or a crash: load() returns
// what it could read, and lists each problem with its offset.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "greenscope/stall_verdict.h"
#include "greenscope/trace_format.h"

namespace gs::traceio {

using trace_format::ExitKind;
using trace_format::Reason;
using trace_format::StallKind;
using trace_format::StallOwner;
using trace_format::WatcherKind;

// EventType is the decoded vocabulary: Suspend, Resume and Switch tags all
// become Switch; BlockStart is consumed by the decoder. The types after
// TimeoutExpired come from format 2.0's extension events; their full records
// are in Trace's tables (stalls(), crashes(), stack()), the events place them
// in time and on a thread.
enum class EventType : std::uint8_t {
  Dropped,          // a = events lost, c = ns the loss lasted (ending at time_ns)
  HubStart,         // a = hub greenlet id, b = main greenlet id
  HubStop,          //
  Spawn,            // a = id, b = spawner id, str = name ("" = default)
  Rename,           // a = id, str = name
  Exit,             // a = id, code = ExitKind, str = error text
  Switch,           // a = from, b = to, code = Reason, str = what the waiter waits on,
                    //   Io: c = fd, d = io events (1 read, 2 write); Join: c = joined id.
                    //   Reason: for a greenlet leaving, what it waits for; from the hub,
                    //   why `to` runs (resume, kill, timeout; exit or loop_exit when the
                    //   hub hands the thread back to main)
  CallbacksBegin,   //
  CallbacksEnd,     // a = items run
  PollBegin,        //
  PollEnd,          // a = watchers pending after the poll
  WatcherBegin,     // code = WatcherKind, c = fd (-1 if none), d = revents
  WatcherEnd,       // code = WatcherKind
  CallbackEnqueue,  //
  CallbackBegin,    //
  CallbackEnd,      //
  Error,            // a = greenlet id (0: a callback), str = text
  JobSubmit,        // a = job key
  JobBegin,         // a = job key, b = worker
  JobEnd,           // a = job key, b = worker
  JobDone,          // a = job key
  PatchedWaitBegin, // str = call, c = fd
  PatchedWaitEnd,   // str = call, c = fd
  TimeoutExpired,   // a = greenlet id, c = the timeout in microseconds
  // Since format 2.0:
  WaitStack,        // a = stack id: where `greenlet` waits. It is always right before
                    //   the Switch away from `greenlet` it belongs to: ThreadInfo::wait_stack()
  StallBegin,       // on the stall monitor's thread: a = stall id, b = the stalled hub's
                    //   thread index, c = when the stall began (ns since the trace started),
                    //   code = StallOwner, d = WatcherKind (owner Watcher). Trace::stalls()
                    //   joins a stall's Begin, Samples and End.
  StallSample,      // a = stall id, b = stack id (0: none), code = 1 if in a syscall,
                    //   c = syscall number (-1: none)
  StallEnd,         // a = stall id, b = CPU ns, c = when the stall ended (-1: it had not),
                    //   code = StallKind
  LoopLag,          // c = ns from the end of the previous poll to this one (ending at time_ns)
  BlockingCall,     // str = call ("fsync()"), c = fd (-1: none), b = duration ns (ending at
                    //   time_ns), a = stack id
  Crash,            // a = stack id (the crash's frames; Trace::crashes()), b = fault address,
                    //   c = greenlet id, d = signal, code = flags (kCrashStackOverflow)
};
inline constexpr std::size_t kEventTypeCount = 31;

// Event is one decoded event. Field meanings depend on `type` (above).
struct Event {
  std::int64_t time_ns = 0;  // since the trace started
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  std::int64_t c = 0;
  std::uint32_t str = 0;     // Trace::text(str); 0 is ""
  std::uint16_t d = 0;
  EventType type = EventType::Dropped;
  std::uint8_t code = 0;
  // greenlet is the greenlet running on the thread when the event happened
  // (0 if not yet known).
  std::uint64_t greenlet = 0;
};
// load() holds every event in memory (its size is the trace's size); scan() holds a block's.
static_assert(sizeof(Event) == 48, "Event grew: the reader's memory per event is documented in docs/tracing.md");

struct ProcessInfo {
  std::uint16_t major = 0, minor = 0;  // format version of the writer
  bool flight_dump = false;            // written by the flight recorder
  std::uint64_t pid = 0;
  std::int64_t start_wall_ns = 0;      // ns since the Unix epoch
  std::string program;
  std::vector<std::string> args;       // argv, argv[0] first
  bool args_redacted = false;          // GREENSCOPE_TRACE_REDACT: args after argv[0] left out (empty)
  std::string host;
  std::string clock;                   // "tsc" or "monotonic"
  double ticks_per_ns = 0;             // as calibrated (first..last pair)
  std::size_t calibrations = 0;        // calibration pairs found
};

struct ThreadInfo {
  std::uint32_t index = 0;
  std::int64_t os_tid = 0;
  std::string name;
  bool has_hub = false;
  std::uint64_t hub_greenlet = 0, main_greenlet = 0;
  std::vector<Event> events;  // in time order; empty from scan()
  // event_total is how many events the reader decoded for this thread:
  // events.size() after load(), kept when they are released or were never
  // kept (scan()).
  std::uint64_t event_total = 0;

  // wait_stack() is the stack id recorded for the Switch at events[at]
  // (where its `from` greenlet waits), 0 if none was recorded.
  std::uint64_t wait_stack(std::size_t at) const;
};

// GreenletInfo summarizes one greenlet id from its lifecycle events.
struct GreenletInfo {
  std::uint64_t id = 0;
  std::string name;          // set name, or "Greenlet-<id>", "hub", "main"
  std::uint64_t spawner = 0;
  std::uint32_t thread = 0;
  std::int64_t spawn_ns = -1;  // -1: before the trace
  std::int64_t exit_ns = -1;   // -1: still alive at the end
  ExitKind exit_kind = ExitKind::Returned;
  std::string error;
};

// ModuleInfo is one loaded object of the traced process (format 2.0's
// Modules chunks): what offline symbolization needs.
struct ModuleInfo {
  std::uint64_t id = 0;
  std::uint64_t base = 0;      // load bias: address - base is the offset in the file
  std::uint64_t lo = 0, hi = 0;  // [lo, hi): its PT_LOAD segments as loaded
  std::string path;            // absolute; the main program too
  std::string build_id;        // raw bytes of NT_GNU_BUILD_ID, "" if none
};

// SymbolScope is one function scope at an address, as the writer resolved
// it (Symbols chunks). An address has one or more, innermost (inlined) first.
struct SymbolScope {
  std::string function;  // demangled, "" if unknown
  std::string file;      // "" if no line info
  std::uint32_t line = 0;
};

// RunInfoDump is one gs::format_run_info() dump recorded in the trace.
struct RunInfoDump {
  std::int64_t time_ns = 0;  // since the trace started
  std::string trigger;       // "signal SIGUSR1", "api", "crash"
  std::string text;          // the dump as printed
};

// StallSampleInfo is one stack sample of a stalled thread.
struct StallSampleInfo {
  std::int64_t time_ns = 0;  // when the monitor took it
  std::uint64_t stack = 0;   // stack id; 0: this sample had to be skipped
  bool in_syscall = false;
  int syscall = -1;          // its number if in_syscall, else -1
};

// StallInfo is one stall: a hub's thread kept from its loop by one greenlet
// or callback (a CPU-bound loop, an unpatched blocking call), joined from
// its StallBegin, StallSample and StallEnd events.
struct StallInfo {
  std::uint64_t id = 0;       // the runtime's, process-wide, from 1
  std::uint32_t thread = 0;   // the stalled hub's thread index (UINT32_MAX: it has none,
                              //   it recorded nothing: tracing began mid-stall)
  std::uint32_t monitor_thread = 0;  // the thread whose stream recorded it
  bool has_begin = false;     // false: its StallBegin was lost; start_ns is its first
                              //   event's time, thread, owner and greenlet are unknown
  bool has_end = false;       // its StallEnd was recorded: kind, cpu and syscall are known
  std::int64_t start_ns = 0;  // since the trace started
  // end_ns is -1 when the stall was still going on when the trace ended (no
  // StallEnd, or one saying it never ended). duration_ns is then what is
  // known: to its StallEnd record, else to the end of the trace, and at
  // least to its last sample.
  std::int64_t end_ns = -1;
  std::int64_t duration_ns = 0;
  StallOwner owner = StallOwner::Greenlet;
  std::uint64_t greenlet = 0;  // owner Greenlet: the greenlet that held the thread
  WatcherKind watcher = WatcherKind::Io;  // owner Watcher: the watcher's kind
  StallKind kind = StallKind::CpuBound;   // by the thread's CPU time over the stall
  std::int64_t cpu_ns = 0;                // thread CPU time over cpu_window_ns
  std::int64_t cpu_window_ns = 0;
  std::int64_t run_delay_ns = -1;         // since 2.2: runnable but waiting for a CPU over
                                          //   cpu_window_ns (-1: not measured)
  std::int64_t threshold_ns = 0;          // since 2.3: the monitor's threshold (0: not known)
  int syscall = -1;                       // the syscall it was blocked in, -1: none
  std::vector<StallSampleInfo> samples;   // in time order

  bool ended() const { return end_ns >= 0; }
};

// CrashInfo is a fatal signal the tracer recorded.
struct CrashInfo {
  std::int64_t time_ns = 0;
  std::uint32_t thread = 0;          // the thread whose stream recorded it (the stall monitor's,
                                     //   not the crashed one: that is the greenlet's)
  int signal = 0;
  std::uint64_t fault_address = 0;
  std::uint64_t greenlet = 0;        // 0: unknown
  bool stack_overflow = false;       // ran into its stack's guard page
  std::uint64_t stack = 0;           // the crash's frames as a stack id (Trace::stack())
};

// Problem is one piece of damage or loss found while reading.
struct Problem {
  std::uint64_t offset = 0;  // byte offset in the file
  std::string message;
};

struct LoadOptions {
  // progress(done, total) is called now and then with bytes read; total is
  // the file size. The bar's first half is reading the file, its second
  // decoding the events; the last call has done == total.
  std::function<void(std::uint64_t done, std::uint64_t total)> progress;
  // decode_threads: how many threads decode the events (each block decodes
  // on its own; the result is the same whatever the number). 0: one per
  // core when the trace has over 4 MiB of events, else 1; 1: the calling
  // thread only.
  unsigned decode_threads = 0;
};

struct FileStats {
  std::uint64_t file_bytes = 0;
  std::uint64_t chunks = 0;
  std::uint64_t chunks_skipped_unknown = 0;
  std::uint64_t event_bytes = 0;                      // encoded event bytes
  std::uint64_t events = 0;
  std::uint64_t count[kEventTypeCount] = {};          // events by type
  std::uint64_t encoded_bytes[kEventTypeCount] = {};  // encoded bytes by type
  std::uint64_t dropped = 0;                          // sum of Dropped events
  std::uint64_t extensions_skipped_unknown = 0;       // extension events of tags this reader
                                                      //   does not know, skipped by length
  bool clean_end = false;                             // an End chunk was found
  std::uint64_t end_events = 0, end_dropped = 0;      // as the End chunk says
};

class Trace {
 public:
  const std::string& path() const { return path_; }
  const ProcessInfo& process() const { return process_; }
  // threads() is sorted by ThreadInfo::index; indices are normally 0..n-1,
  // but a damaged file can leave holes, so look a thread up with thread().
  const std::vector<ThreadInfo>& threads() const { return threads_; }
  // thread() is the thread with `index`, or null.
  const ThreadInfo* thread(std::uint32_t index) const;
  const std::map<std::uint64_t, GreenletInfo>& greenlets() const { return greenlets_; }
  const std::vector<Problem>& problems() const { return problems_; }
  const FileStats& stats() const { return stats_; }
  // text() is an interned string; "" for an unknown id.
  const std::string& text(std::uint32_t id) const;
  // greenlet_name() is the greenlet's name, or "#<id>" if it never appeared.
  std::string greenlet_name(std::uint64_t id) const;
  // begin_ns()/end_ns() bound every event (0/0 for an empty trace).
  std::int64_t begin_ns() const { return begin_ns_; }
  std::int64_t end_ns() const { return end_ns_; }

  // Since format 2.0 (empty for 1.x traces):
  // modules() lists the traced process's loaded objects, by id.
  const std::vector<ModuleInfo>& modules() const { return modules_; }
  // module_at() is the module whose [lo, hi) holds `address` (the latest
  // loaded if several did, one after another), or null.
  const ModuleInfo* module_at(std::uint64_t address) const;
  // stacks() maps stack ids to lookup addresses, innermost frame first (the
  // exact instruction for an interrupted frame 0, return address - 1 for
  // callers). Crash frames get ids no Stacks chunk used (kFirstSyntheticStack
  // and down), so every stack is shown the same way.
  const std::map<std::uint64_t, std::vector<std::uint64_t>>& stacks() const { return stacks_; }
  // stack() is one stack's addresses, or null for id 0 or an id whose
  // Stacks chunk was lost.
  const std::vector<std::uint64_t>* stack(std::uint64_t id) const;
  // symbols() is what the writer resolved `address` to, innermost (inlined)
  // scope first, or null when it wrote no SymbolEntry for it (resolve it
  // offline from modules(), or show module+offset).
  const std::vector<SymbolScope>* symbols(std::uint64_t address) const;
  std::size_t symbol_count() const { return symbols_.size(); }
  // run_infos() are the recorded run-info dumps, in time order.
  const std::vector<RunInfoDump>& run_infos() const { return run_infos_; }
  // stalls() are the stalls, by start time.
  const std::vector<StallInfo>& stalls() const { return stalls_; }
  // crashes() are the recorded crashes, in time order.
  const std::vector<CrashInfo>& crashes() const { return crashes_; }

  // release_events() frees every thread's events, keeping the rest (stacks,
  // symbols, modules, greenlets, stalls, crashes, run infos, process,
  // problems, stats, bounds): what a model built from the events still
  // needs, at a fraction of the memory (the events are 48 bytes each).
  void release_events();
  // release_events(index) frees the events of the thread with `index` only
  // (a model built thread by thread lets each go once it is done).
  void release_events(std::uint32_t index);
  // without_events() is a copy of everything but the threads' events.
  std::unique_ptr<Trace> without_events() const;
  // event_count() is the events the threads hold now (0 once released).
  std::size_t event_count() const;

  // kFirstSyntheticStack is the first id given to a crash's frames; later
  // ones count down, skipping ids a Stacks chunk used.
  static constexpr std::uint64_t kFirstSyntheticStack = UINT64_MAX;

 private:
  friend class Loader;
  friend class Follower;
  std::string path_;
  ProcessInfo process_;
  std::vector<ThreadInfo> threads_;
  std::map<std::uint64_t, GreenletInfo> greenlets_;
  std::vector<std::string> texts_{std::string()};
  std::vector<Problem> problems_;
  FileStats stats_;
  std::int64_t begin_ns_ = 0, end_ns_ = 0;
  std::vector<ModuleInfo> modules_;
  std::map<std::uint64_t, std::vector<std::uint64_t>> stacks_;
  std::unordered_map<std::uint64_t, std::vector<SymbolScope>> symbols_;
  std::vector<RunInfoDump> run_infos_;
  std::vector<StallInfo> stalls_;
  std::vector<CrashInfo> crashes_;
};

// LoadResult: `trace` is null only when nothing could be read at all (no
// such file, not a trace, a newer major version); `error` then says why and
// what to do. With a trace, damage is listed in trace->problems().
struct LoadResult {
  std::unique_ptr<Trace> trace;
  std::string error;
};

LoadResult load(const std::string& path, const LoadOptions& options = {});

// EventSink takes the events of a scan(): every thread in index order, each
// one's events in time order, a block at a time; or, if it asks for
// merged(), all threads at once: every begin_thread() first, then the
// events of all threads in one time order (at equal times, the thread
// listed first), a run of one thread's events per events() call, then
// every end_thread().
class EventSink {
 public:
  virtual ~EventSink() = default;
  // merged() is asked once, before start().
  virtual bool merged() const { return false; }
  // start() comes first, with every table complete: `tables` is what load()
  // gives but with no thread's events (ThreadInfo::event_total counts them).
  virtual void start(const Trace& tables) { (void)tables; }
  virtual void begin_thread(const ThreadInfo& thread) { (void)thread; }
  // events() hands on the thread's next events; they are valid for the call only.
  virtual void events(const ThreadInfo& thread, std::span<const Event> events) = 0;
  virtual void end_thread(const ThreadInfo& thread) { (void)thread; }
  // again() is asked after each pass's last end_thread(): true has the scan
  // decode the events once more and hand them on, from start(), as the first
  // time (a sink that must see every thread before writing anything).
  virtual bool again() { return false; }
};

// scan() reads a trace as load() does (the same tables, problems and
// events) in memory bounded by its tables, never by its event count: it
// reads the file a window at a time and decodes it a block at a time,
// handing each block's events to `sink` and then dropping them. The Trace
// it returns holds no events. Without a sink it decodes the events once,
// for the tables (greenlets, stalls, crashes, counts, bounds); with one,
// twice: the tables must be complete before the first event goes out;
// once more for each pass the sink asks for (EventSink::again()).
// A thread whose blocks' events are out of time order (a damaged or
// hand-made file) is held whole and sorted, as load() sorts it.
// options.decode_threads is ignored: a scan decodes on the calling thread.
// In merged order a scan decodes one block of each thread at a time (a
// thread out of time order is held whole); a trace whose decoding made more
// than one crash's frames into a stack has all its threads held.
LoadResult scan(const std::string& path, const LoadOptions& options = {}, EventSink* sink = nullptr);

// hand_events() is one pass of a scan() over a trace load()ed whole:
// `sink` gets `tables` in start(), then `trace`'s events, in the order
// sink.merged() asks for (a reference for scan(), and for what cannot be
// read twice: a pipe).
void hand_events(const Trace& trace, const Trace& tables, EventSink& sink);

// Follower reads a trace file that a running program is still writing
// (greenscope-viewer --follow), a piece at a time: each poll() reads only
// the chunks the file gained since the last one and decodes their events
// once. Whole chunks only: one the writer has not finished is read by a
// later poll. Damage is handled as load() handles it.
//
// Times: the clock is fitted from the calibration known when events first
// arrive and refitted as more arrives, from the latest decoded tick on, so
// that no time already handed out moves. They can differ from a load() of
// the finished file, which fits one line through all of it, by the clock
// rate's error over the time followed (a few parts per million with the TSC).
class Follower {
 public:
  explicit Follower(std::string path);
  ~Follower();
  Follower(const Follower&) = delete;
  Follower& operator=(const Follower&) = delete;

  // poll() reads the whole chunks the file gained, about `max_bytes` of
  // them at most (always at least one), and decodes their events. It
  // returns "" or, when the file cannot be followed at all (not a trace, a
  // newer format, unreadable), load()'s message with the path; a file not
  // created yet or still shorter than its header is "": poll again.
  std::string poll(std::uint64_t max_bytes = UINT64_MAX);

  // trace() is what has been read: every table is up to date (process,
  // threads, greenlets, stalls, crashes, run infos, modules, stacks,
  // symbols, problems, stats, bounds), but each thread's `events` holds the
  // events the last poll() decoded only; earlier polls handed out theirs.
  // shared() is the same Trace, kept up to date by later polls. A file
  // without an End chunk is not listed as a problem: it is still growing.
  const Trace& trace() const { return *trace_; }
  std::shared_ptr<const Trace> shared() const { return trace_; }
  // started(): the file header has been read. offset(): bytes of the file
  // read. at_end(): the last poll read every whole chunk there was.
  bool started() const;
  std::uint64_t offset() const;
  bool at_end() const;
  // replaced(): the path now names another file, or this one shrank (the
  // program started again and began a new trace): follow it anew.
  bool replaced() const;
  // touched_greenlets() are the ids of the greenlets whose GreenletInfo the
  // last poll created or changed; tables_changed() is true when it added
  // modules, stacks or symbols.
  const std::vector<std::uint64_t>& touched_greenlets() const;
  bool tables_changed() const;

 private:
  struct State;
  std::string read_header();
  void decode_new();
  void update_trace();
  void update_tables();

  std::unique_ptr<State> s_;
  std::shared_ptr<Trace> trace_;
};

std::string_view to_string(EventType type);
std::string_view to_string(Reason reason);
std::string_view to_string(ExitKind kind);
std::string_view to_string(WatcherKind kind);
std::string_view to_string(StallOwner owner);  // "greenlet", "hub", "callback", "watcher"
std::string_view to_string(StallKind kind);    // "cpu-bound", "blocked"

// stall_verdict() is where a stall's time went and what it was: CPU-bound,
// blocked and in which call, mixed with the shares, or starved of a CPU
// (stall_verdict.h; verdict::text() says it in words, verdict::short_text()
// in a few). The same judgement as the runtime's report. A stall without
// its StallEnd (still going, or its end lost) is judged by its samples.
// The first form takes /proc's word for each sample; the second also counts
// a "running" sample whose innermost frame is a syscall's libc wrapper
// (fdatasync) as in that call, by the names the writer recorded: use it.
verdict::Verdict stall_verdict(const StallInfo& stall);
verdict::Verdict stall_verdict(const Trace& trace, const StallInfo& stall);

// syscall_name() is the x86_64 name of a recorded syscall number ("read"),
// or "syscall N" (syscall_names.h).
std::string syscall_name(int nr);

// command_line() is the process's command as one line, its arguments joined
// by spaces; with them redacted, argv[0] and "[N arguments redacted]".
// "(unknown)" when the trace has none.
std::string command_line(const ProcessInfo& p);

}  // namespace gs::traceio
