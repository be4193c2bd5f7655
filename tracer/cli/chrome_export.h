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

// write_chrome_trace() streams `trace` into `writer` (the caller finishes
// it). progress(done, total) counts events.
ChromeExportStats write_chrome_trace(const traceio::Trace& trace, ChromeWriter& writer,
                                     const std::function<void(std::uint64_t, std::uint64_t)>& progress,
                                     const ChromeExportWindow& window = {});

}  // namespace gs::cli
