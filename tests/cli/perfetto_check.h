// perfetto_check.h: what a Perfetto trace must be for Perfetto to show it
// right, checked on the decoded packets (perfetto_export_test.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "perfetto_trace.pb.h"

namespace gs::cli_test {

// PerfettoCheck is what check_perfetto() found.
struct PerfettoCheck {
  std::vector<std::string> problems;          // empty: a good trace
  std::map<std::uint64_t, std::string> tracks;  // uuid -> name (a thread's: its thread_name)
  std::map<std::string, std::uint64_t> slices;  // "track name / slice name" -> count
  std::uint64_t slice_count = 0, instants = 0, flow_links = 0, sequences = 0;
  std::set<std::string> annotations;  // every debug annotation name seen
};

// check_perfetto() replays `trace` as Perfetto's trace processor reads it:
//  - sequences: the first packet of each clears its incremental state;
//    every interned id used (event names, annotation names and values) was
//    defined before on the same sequence, each defined once;
//  - time: timestamps on the sequence's incremental clock add up, and each
//    track's events are in time order;
//  - tracks: every event's track was described, every parent before its child;
//  - slices nest: per track, every end closes an open begin and nothing is
//    left open;
//  - flows: every flow id links at least two slices (both ends), and a
//    terminating id ends a flow that began.
PerfettoCheck check_perfetto(const perfetto::protos::Trace& trace);

// inflate_bundles() replaces each compressed_packets packet by the packets
// it holds, in place; false (with `error`) if one does not inflate or parse.
bool inflate_bundles(const std::string& file_bytes, std::string& plain_bytes, std::string& error);

}  // namespace gs::cli_test
