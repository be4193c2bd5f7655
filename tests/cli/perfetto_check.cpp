// perfetto_check.cpp: check_perfetto() and inflate_bundles() (perfetto_check.h).
#include "perfetto_check.h"

#include <zlib.h>

#include <unordered_map>

namespace gs::cli_test {

namespace {

namespace pb = perfetto::protos;

struct SequenceState {
  bool valid = false;  // cleared since it began
  std::uint32_t clock_id = 0;
  std::uint64_t default_track = 0;
  std::int64_t clock = 0;  // the incremental clock's value
  bool have_clock = false;
  std::map<std::uint64_t, std::string> names, annotation_names, values;
};

struct Checker {
  PerfettoCheck out;
  std::unordered_map<std::uint32_t, SequenceState> sequences;
  std::map<std::uint64_t, std::vector<std::string>> open;  // track -> open slice names
  std::map<std::uint64_t, std::int64_t> last_time;          // track -> last event time
  std::map<std::uint64_t, std::uint64_t> flow_uses;          // flow id -> slices it touched
  std::uint64_t packet = 0;

  void problem(const std::string& text) {
    if (out.problems.size() < 20) out.problems.push_back("packet " + std::to_string(packet) + ": " + text);
  }

  template <typename Entry>
  void define(std::map<std::uint64_t, std::string>& table, const Entry& entry, const std::string& what) {
    if (entry.iid() == 0) problem(what + " with iid 0");
    if (!table.emplace(entry.iid(), entry.has_name() ? entry.name() : "").second)
      problem(what + " iid " + std::to_string(entry.iid()) + " defined twice");
  }

  void interned(SequenceState& s, const pb::InternedData& d) {
    for (const pb::EventName& n : d.event_names()) define(s.names, n, "event name");
    for (const pb::DebugAnnotationName& n : d.debug_annotation_names()) define(s.annotation_names, n, "annotation name");
    for (const pb::InternedString& v : d.debug_annotation_string_values()) {
      if (!s.values.emplace(v.iid(), v.str()).second) problem("value iid " + std::to_string(v.iid()) + " defined twice");
    }
  }

  void descriptor(const pb::TrackDescriptor& d) {
    if (out.tracks.count(d.uuid())) problem("track " + std::to_string(d.uuid()) + " described twice");
    if (d.has_parent_uuid() && !out.tracks.count(d.parent_uuid()))
      problem("track " + std::to_string(d.uuid()) + " described before its parent " + std::to_string(d.parent_uuid()));
    out.tracks[d.uuid()] = d.has_thread() ? d.thread().thread_name() : d.has_process() ? d.process().process_name() : d.name();
  }

  void annotations(const SequenceState& s, const pb::TrackEvent& e) {
    for (const pb::DebugAnnotation& a : e.debug_annotations()) {
      if (a.has_name_iid()) {
        const auto it = s.annotation_names.find(a.name_iid());
        if (it == s.annotation_names.end()) problem("annotation name iid " + std::to_string(a.name_iid()) + " not interned");
        else out.annotations.insert(it->second);
      } else {
        out.annotations.insert(a.name());
      }
      if (a.has_string_value_iid() && !s.values.count(a.string_value_iid()))
        problem("annotation value iid " + std::to_string(a.string_value_iid()) + " not interned");
    }
  }

  void flows(const pb::TrackEvent& e) {
    for (std::uint64_t id : e.flow_ids()) {
      if (flow_uses[id]++ > 0) ++out.flow_links;
    }
    for (std::uint64_t id : e.terminating_flow_ids()) {
      if (flow_uses[id] == 0) problem("flow " + std::to_string(id) + " terminated before it began");
      ++out.flow_links;
      flow_uses[id] = 0;  // a later use begins a new flow
      flow_uses.erase(id);
    }
  }

  void event(std::uint32_t seq, SequenceState& s, const pb::TracePacket& p) {
    const pb::TrackEvent& e = p.track_event();
    if (!s.valid) problem("event on sequence " + std::to_string(seq) + " before its incremental state was cleared");
    std::int64_t t = static_cast<std::int64_t>(p.timestamp());
    if (s.clock_id != 0 && !p.has_timestamp_clock_id()) {
      if (!s.have_clock) problem("incremental timestamp before the clock snapshot");
      s.clock += static_cast<std::int64_t>(p.timestamp());
      t = s.clock;
    }
    const std::uint64_t track = e.has_track_uuid() ? e.track_uuid() : s.default_track;
    if (!out.tracks.count(track)) problem("event on undescribed track " + std::to_string(track));
    if (last_time.count(track) && t < last_time[track]) problem("time goes back on track " + out.tracks[track]);
    last_time[track] = t;
    std::string name;
    if (e.has_name_iid()) {
      const auto it = s.names.find(e.name_iid());
      if (it == s.names.end()) problem("event name iid " + std::to_string(e.name_iid()) + " not interned");
      else name = it->second;
    } else {
      name = e.name();
    }
    annotations(s, e);
    flows(e);
    std::vector<std::string>& stack = open[track];
    switch (e.type()) {
      case pb::TrackEvent::TYPE_SLICE_BEGIN:
        if (name.empty()) problem("a slice without a name on " + out.tracks[track]);
        stack.push_back(name);
        ++out.slices[out.tracks[track] + " / " + name];
        ++out.slice_count;
        break;
      case pb::TrackEvent::TYPE_SLICE_END:
        if (stack.empty()) problem("an end without a begin on " + out.tracks[track]);
        else stack.pop_back();
        break;
      case pb::TrackEvent::TYPE_INSTANT: ++out.instants; break;
      default: problem("event of type " + std::to_string(e.type()));
    }
  }

  void run(const pb::Trace& trace) {
    for (const pb::TracePacket& p : trace.packet()) {
      ++packet;
      if (p.has_compressed_packets()) {
        problem("compressed packets: inflate them first");
        continue;
      }
      const std::uint32_t seq = p.trusted_packet_sequence_id();
      SequenceState& s = sequences[seq];
      if (p.sequence_flags() & pb::TracePacket::SEQ_INCREMENTAL_STATE_CLEARED) {
        s = SequenceState{};
        s.valid = true;
        ++out.sequences;
      }
      if (p.has_trace_packet_defaults()) {
        s.clock_id = p.trace_packet_defaults().timestamp_clock_id();
        s.default_track = p.trace_packet_defaults().track_event_defaults().track_uuid();
      }
      if (p.has_interned_data()) {
        if (!s.valid) problem("interned data before the sequence's state was cleared");
        interned(s, p.interned_data());
      }
      if (p.has_clock_snapshot()) {
        for (const pb::ClockSnapshot::Clock& c : p.clock_snapshot().clocks())
          if (c.clock_id() == s.clock_id && c.is_incremental()) {
            s.clock = static_cast<std::int64_t>(c.timestamp());
            s.have_clock = true;
          }
      }
      if (p.has_track_descriptor()) descriptor(p.track_descriptor());
      if (p.has_track_event()) event(seq, s, p);
    }
    for (const auto& [track, stack] : open)
      if (!stack.empty()) problem(std::to_string(stack.size()) + " slices left open on " + out.tracks[track] + ", the innermost " + stack.back());
    for (const auto& [id, uses] : flow_uses)
      if (uses == 1) problem("flow " + std::to_string(id) + " has one end only");
  }
};

}  // namespace

PerfettoCheck check_perfetto(const pb::Trace& trace) {
  Checker c;
  c.run(trace);
  return c.out;
}

bool inflate_bundles(const std::string& file_bytes, std::string& plain_bytes, std::string& error) {
  pb::Trace trace;
  if (!trace.ParseFromString(file_bytes)) {
    error = "not a Trace";
    return false;
  }
  plain_bytes.clear();
  for (const pb::TracePacket& p : trace.packet()) {
    if (!p.has_compressed_packets()) {
      pb::Trace one;
      *one.add_packet() = p;
      plain_bytes += one.SerializeAsString();
      continue;
    }
    const std::string& in = p.compressed_packets();
    if (in.size() >= 512 * 1024) {
      error = "a compressed_packets packet of " + std::to_string(in.size()) + " bytes: Perfetto wants < 512 KiB";
      return false;
    }
    std::string inflated(16 << 20, '\0');
    uLongf size = static_cast<uLongf>(inflated.size());
    if (uncompress(reinterpret_cast<Bytef*>(inflated.data()), &size, reinterpret_cast<const Bytef*>(in.data()),
                   static_cast<uLong>(in.size())) != Z_OK) {
      error = "a compressed_packets packet does not inflate";
      return false;
    }
    inflated.resize(size);
    pb::Trace inner;
    if (!inner.ParseFromString(inflated)) {
      error = "a compressed_packets packet does not hold packets";
      return false;
    }
    plain_bytes += inflated;
  }
  return true;
}

}  // namespace gs::cli_test
