// chrome_export.h: a trace as Chrome Trace Event JSON.
//
// One process; one track (tid) per greenlet, named "name #id (thread N)",
// the hub first on each OS thread, then main, then the others by id; a
// track per OS thread for what runs outside greenlets (thread-pool jobs).
// On a greenlet's track: "running" slices and wait slices named by reason
// (sleep, io, queue...) with what it waits on in args. On the hub's track
// the loop's phases (poll, callbacks, each watcher and run_callback) nest
// with the hub's own runs inside them. Switches are flow arrows: the slices
// of one OS thread's runs form one chain (bind_id = thread index + 1), each
// run's slice flowing into the next. A thread-pool job gets an arrow from
// the wait of the greenlet that submitted it. Lost events, errors, exits
// and expired timeouts are instant events.
#pragma once

#include <climits>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "chrome_json.h"
#include "greenscope/traceio.h"

namespace gs::cli {

// ChromeExportWindow limits the export to [from_ns, to_ns] (ns since the
// trace started): spans that cross an edge are cut there (args "clipped").
struct ChromeExportWindow {
  std::int64_t from_ns = INT64_MIN, to_ns = INT64_MAX;
};

struct ChromeExportStats {
  std::uint64_t tracks = 0, slices = 0, instants = 0, flow_slices = 0;
};

// ChromeExport writes the export as a traceio::scan() hands it the events
// (a traceio::EventSink), in memory bounded by the trace's tables: it asks
// for two or three passes (again()). The first plans: each thread's tracks,
// its chain of switches, which spans stay open long, the thread-pool jobs.
// The last writes, each thread's spans in begin order as they end: a span
// still open when many later ones have ended was found by the first pass and
// is written from there. A second pass, only when jobs were paired, finds
// the waits their arrows start from. The JSON is byte for byte what writing
// each thread's whole timeline would give.
class ChromeExport final : public traceio::EventSink {
 public:
  // open() is called when the writing pass starts, with the tables: the
  // file to write, or null (nothing is written then).
  ChromeExport(std::function<std::FILE*(const traceio::Trace&)> open,
               std::function<void(std::uint64_t, std::uint64_t)> progress, const ChromeExportWindow& window = {});
  ~ChromeExport() override;
  ChromeExport(const ChromeExport&) = delete;
  ChromeExport& operator=(const ChromeExport&) = delete;

  void start(const traceio::Trace& tables) override;
  void begin_thread(const traceio::ThreadInfo& thread) override;
  void events(const traceio::ThreadInfo& thread, std::span<const traceio::Event> events) override;
  void end_thread(const traceio::ThreadInfo& thread) override;
  bool again() override;

  // finish() ends the JSON with `other_data` as "otherData"; false if
  // nothing was opened or a write failed.
  bool finish(const std::string& other_data);
  const ChromeExportStats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gs::cli
