// traceio.h: greenscope::traceio, the trace reader that the CLI, the viewer
// and the tests share. It depends on trace_format.h only, never on the
// runtime. A damaged file is never an exception or a crash: load() returns
// what it could read, and lists each problem with its offset.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "greenscope/trace_format.h"

namespace gs::traceio {

using trace_format::ExitKind;
using trace_format::Reason;
using trace_format::WatcherKind;

// EventType is the decoded vocabulary: Suspend, Resume and Switch tags all
// become Switch; BlockStart is consumed by the decoder.
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
};
inline constexpr std::size_t kEventTypeCount = 24;

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

struct ProcessInfo {
  std::uint16_t major = 0, minor = 0;  // format version of the writer
  bool flight_dump = false;            // written by the flight recorder
  std::uint64_t pid = 0;
  std::int64_t start_wall_ns = 0;      // ns since the Unix epoch
  std::string program;
  std::vector<std::string> args;
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
  std::vector<Event> events;  // in time order
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

 private:
  friend class Loader;
  std::string path_;
  ProcessInfo process_;
  std::vector<ThreadInfo> threads_;
  std::map<std::uint64_t, GreenletInfo> greenlets_;
  std::vector<std::string> texts_{std::string()};
  std::vector<Problem> problems_;
  FileStats stats_;
  std::int64_t begin_ns_ = 0, end_ns_ = 0;
};

// LoadResult: `trace` is null only when nothing could be read at all (no
// such file, not a trace, a newer major version); `error` then says why and
// what to do. With a trace, damage is listed in trace->problems().
struct LoadResult {
  std::unique_ptr<Trace> trace;
  std::string error;
};

LoadResult load(const std::string& path, const LoadOptions& options = {});

std::string_view to_string(EventType type);
std::string_view to_string(Reason reason);
std::string_view to_string(ExitKind kind);
std::string_view to_string(WatcherKind kind);

}  // namespace gs::traceio
