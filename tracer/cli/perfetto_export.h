// perfetto_export.h: `greenscope export --format perfetto`, a trace as
// Perfetto's protobuf trace format (TracePacket / TrackEvent), streamed.
//
// Tracks: the process; a track per OS thread (its name and tid), on which
// its hub's slices go (the loop's phases, with the hub's own runs nested in
// them) and, on a thread without a hub, its thread-pool jobs; under each, a
// track per greenlet with its "running" slices and its waits named by reason
// (sleep, io, queue...) with what it waits on in debug annotations; and, on
// a thread that stalled, a "stalls" track: a slice per stall with what held
// the thread, cpu-bound or blocked, and the stall's most sampled stack in its
// debug annotations. Switches are flows: the runs of one OS thread form one
// chain, each run flowing into the next. Lost events, exits, errors and
// expired timeouts are instant events.
//
// Encoding: one packet sequence per OS thread (trusted_packet_sequence_id),
// each starting with SEQ_INCREMENTAL_STATE_CLEARED, its defaults (the
// thread's track; an incremental clock, so each timestamp is the delta from
// the packet before) and interned event names, annotation names and values.
// Events go out as the trace is read (traceio::scan()), begin and end in
// time order, so memory does not grow with the trace.
#pragma once

#include <cstdint>
#include <cstdio>

#include "cli.h"

namespace gs::cli {

struct PerfettoExportStats {
  std::uint64_t tracks = 0, slices = 0, instants = 0, flow_steps = 0, stalls = 0;
  std::uint64_t packets = 0, raw_bytes = 0;  // before compression
};

struct PerfettoExportOptions {
  // compress: packets go out deflated in compressed_packets bundles.
  bool compress = true;
};

// run_perfetto_export() is `greenscope export --format perfetto`.
int run_perfetto_export(const Args& args);

}  // namespace gs::cli
