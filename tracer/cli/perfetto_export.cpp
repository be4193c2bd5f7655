// perfetto_export.cpp: `greenscope export --format perfetto` (perfetto_export.h).
//
// [SECTION] Track ids and sequences
// [SECTION] Exporter: a traceio::EventSink that writes packets as events stream by
// [SECTION] Slices, flows, instants
// [SECTION] Stalls
// [SECTION] The command
#include "perfetto_export.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "event_text.h"
#include "format.h"
#include "greenscope/analysis/stack_names.h"
#include "greenscope/analysis/stall_model.h"
#include "greenscope/analysis/timeline.h"
#include "greenscope/safe_text.h"
#include "perfetto_trace.pb.h"
#include "perfetto_writer.h"

namespace gs::cli {

namespace {

namespace pb = perfetto::protos;
using analysis::Span;
using analysis::SpanKind;
using traceio::Event;
using traceio::EventType;
using traceio::Reason;
using traceio::StallInfo;

// [SECTION] Track ids and sequences
// Track uuids: the process 1, greenlets from kGreenletBase in the order they
// are first seen, thread i kThreadBase + 2i and its stalls the next one.
constexpr std::uint64_t kProcessUuid = 1;
constexpr std::uint64_t kGreenletBase = 16;
constexpr std::uint64_t kThreadBase = 1ULL << 48;
constexpr std::uint64_t kOrphanStallsUuid = kThreadBase - 1;  // stalls on no thread the trace knows
// Sequences: the descriptors written first, then one per thread; the orphan stalls last.
constexpr std::uint32_t kMetaSequence = 1;
constexpr std::uint32_t kFirstThreadSequence = 2;
// kIncrementalClock: a sequence-scoped clock (Perfetto's ids 64 to 127)
// whose timestamps are each the delta from the previous packet's.
constexpr std::uint32_t kIncrementalClock = 64;
constexpr std::uint32_t kNeedsState = pb::TracePacket::SEQ_NEEDS_INCREMENTAL_STATE;
constexpr std::uint32_t kClearedState = pb::TracePacket::SEQ_INCREMENTAL_STATE_CLEARED;

std::uint64_t thread_uuid(std::uint32_t index) { return kThreadBase + 2 * static_cast<std::uint64_t>(index); }
std::uint64_t stall_uuid(std::uint32_t index) { return thread_uuid(index) + 1; }

std::string io_text(std::uint16_t events) {
  return events == 1 ? "read" : events == 2 ? "write" : events == 3 ? "read+write" : std::to_string(events);
}

// span_name() is what a slice is called, as in the Chrome export.
std::string span_name(const Span& s) {
  switch (s.kind) {
    case SpanKind::Running: return "running";
    case SpanKind::Waiting: return std::string(traceio::to_string(static_cast<Reason>(s.code)));
    case SpanKind::Poll: return "poll";
    case SpanKind::Callbacks: return "callbacks";
    case SpanKind::Callback: return "run_callback";
    case SpanKind::Watcher: return std::string(traceio::to_string(static_cast<traceio::WatcherKind>(s.code))) + " watcher";
    case SpanKind::Job: return "job";
    default: return "?";  // the Model's stall-level kinds: the timeline makes none
  }
}

// Sequence is one packet sequence's incremental state: what it interned,
// its clock, its open slices.
struct Sequence {
  std::uint32_t id = 0;
  std::int64_t clock_ns = 0;  // the incremental clock's value: the last packet's time
  std::unordered_map<std::string, std::uint64_t> names, annotation_names, values;
  std::unordered_map<std::uint32_t, std::uint64_t> texts;  // Trace::text() id -> value iid
  std::vector<std::uint64_t> span_names;                   // kind * 256 + code -> name iid (0: none yet)
  // open: per track (0: the thread's own), the keys of its open slices, innermost last.
  std::unordered_map<std::uint64_t, std::vector<std::uint64_t>> open;
};

// [SECTION] Exporter: a traceio::EventSink that writes packets as events stream by
class Exporter final : public traceio::EventSink {
 public:
  explicit Exporter(PacketWriter& out) : out_(out) {}

  void start(const traceio::Trace& tables) override;
  void begin_thread(const traceio::ThreadInfo& thread) override;
  void events(const traceio::ThreadInfo& thread, std::span<const Event> events) override;
  void end_thread(const traceio::ThreadInfo& thread) override;
  // finish() writes the stalls of threads the trace does not know.
  void finish();
  PerfettoExportStats stats() const { return stats_; }

 private:
  void describe_tracks();
  void start_sequence(std::uint32_t id, std::uint64_t default_track);
  std::uint64_t track_of(std::uint64_t greenlet);
  pb::TrackEvent* event_at(std::int64_t ns, pb::TrackEvent::Type type, std::uint64_t track);
  void send();
  std::uint64_t intern(std::unordered_map<std::string, std::uint64_t>& table, const std::string& text, int kind);
  std::uint64_t name_iid(const std::string& name) { return intern(seq_.names, name, 0); }
  pb::DebugAnnotation* annotate(pb::TrackEvent* event, const char* name);
  void annotate_text(pb::TrackEvent* event, const char* name, const std::string& value);
  void annotate_trace_text(pb::TrackEvent* event, const char* name, std::uint32_t text);

  void begin_span(const Span& s);
  void end_span(const Span& s);
  void span_annotations(const Span& s, pb::TrackEvent* event);
  void end_slice(std::uint64_t track, std::int64_t ns, bool clipped, bool flow);
  void close_open(std::uint64_t track, std::int64_t ns);
  void instant(const Event& e);

  void advance_stalls(std::int64_t until_ns);
  void begin_stall(const StallInfo& stall, std::uint64_t track);
  void end_stall(const StallInfo& stall, std::uint64_t track);
  void stall_annotations(const StallInfo& stall, pb::TrackEvent* event);

  PacketWriter& out_;
  const traceio::Trace* trace_ = nullptr;
  std::unique_ptr<analysis::StackNames> names_;
  std::unique_ptr<analysis::StackKeys> keys_;
  std::unordered_map<std::uint64_t, std::uint64_t> greenlet_tracks_;  // greenlet -> uuid, once described
  std::unordered_map<std::uint32_t, std::vector<const StallInfo*>> stalls_by_thread_;
  std::vector<const StallInfo*> orphan_stalls_;
  PerfettoExportStats stats_;

  // The thread being written.
  const traceio::ThreadInfo* thread_ = nullptr;
  Sequence seq_;
  pb::TracePacket packet_;  // reused: the event being built
  std::unique_ptr<analysis::TimelineWalker> walker_;
  std::vector<const StallInfo*>* stalls_ = nullptr;  // the thread's, by start
  std::size_t next_stall_ = 0;
  std::vector<const StallInfo*> open_stalls_;
  std::uint64_t stall_track_ = 0;
};

void Exporter::start(const traceio::Trace& tables) {
  trace_ = &tables;
  names_ = std::make_unique<analysis::StackNames>(tables);
  keys_ = std::make_unique<analysis::StackKeys>(tables, *names_);
  for (const StallInfo& s : tables.stalls()) {
    if (tables.thread(s.thread) != nullptr) {
      stalls_by_thread_[s.thread].push_back(&s);
    } else {
      orphan_stalls_.push_back(&s);
    }
  }
  describe_tracks();
}

// describe_tracks() writes the process's, each thread's and each stall
// track's TrackDescriptor; greenlets' come as they are first used.
void Exporter::describe_tracks() {
  const traceio::ProcessInfo& p = trace_->process();
  pb::TracePacket packet;
  packet.set_trusted_packet_sequence_id(kMetaSequence);
  pb::TrackDescriptor* d = packet.mutable_track_descriptor();
  d->set_uuid(kProcessUuid);
  pb::ProcessDescriptor* process = d->mutable_process();
  process->set_pid(static_cast<std::int32_t>(p.pid));
  process->set_process_name(traceio::valid_utf8(p.program.empty() ? "program" : p.program));
  if (!p.args_redacted)
    for (const std::string& arg : p.args) process->add_cmdline(traceio::valid_utf8(arg));
  out_.write(packet);
  const auto child = [&](std::uint64_t uuid, std::uint64_t parent, const std::string& name, int rank) {
    packet.Clear();
    packet.set_trusted_packet_sequence_id(kMetaSequence);
    pb::TrackDescriptor* t = packet.mutable_track_descriptor();
    t->set_uuid(uuid);
    t->set_parent_uuid(parent);
    t->set_name(name);
    t->set_sibling_order_rank(rank);
    out_.write(packet);
    ++stats_.tracks;
  };
  for (const traceio::ThreadInfo& th : trace_->threads()) {
    packet.Clear();
    packet.set_trusted_packet_sequence_id(kMetaSequence);
    pb::TrackDescriptor* t = packet.mutable_track_descriptor();
    t->set_uuid(thread_uuid(th.index));
    t->set_parent_uuid(kProcessUuid);
    t->set_child_ordering(pb::TrackDescriptor::EXPLICIT);
    pb::ThreadDescriptor* thread = t->mutable_thread();
    thread->set_pid(static_cast<std::int32_t>(p.pid));
    thread->set_tid(th.os_tid);
    std::string name = th.name.empty() ? "thread" : traceio::valid_utf8(th.name);
    if (th.has_hub) name += " (hub: " + traceio::valid_utf8(greenlet_label(*trace_, th.hub_greenlet)) + ")";
    thread->set_thread_name(name + " [thread " + std::to_string(th.index) + "]");
    out_.write(packet);
    ++stats_.tracks;
    if (stalls_by_thread_.count(th.index)) child(stall_uuid(th.index), thread_uuid(th.index), "stalls", -1);
  }
  if (!orphan_stalls_.empty()) child(kOrphanStallsUuid, kProcessUuid, "stalls (thread not known)", 0);
}

// start_sequence() begins a packet sequence: its incremental state cleared,
// its defaults (the incremental clock, the track of events without one).
void Exporter::start_sequence(std::uint32_t id, std::uint64_t default_track) {
  seq_ = Sequence{};
  seq_.id = id;
  seq_.span_names.assign(analysis::kSpanKindCount * 256, 0);
  pb::TracePacket packet;
  packet.set_trusted_packet_sequence_id(id);
  packet.set_sequence_flags(kClearedState | kNeedsState);
  pb::TracePacketDefaults* defaults = packet.mutable_trace_packet_defaults();
  defaults->set_timestamp_clock_id(kIncrementalClock);
  defaults->mutable_track_event_defaults()->set_track_uuid(default_track);
  // The incremental clock starts at the trace's time 0, which is BOOTTIME 0
  // here: Perfetto shows times from the trace's start anyway.
  pb::ClockSnapshot* clocks = packet.mutable_clock_snapshot();
  pb::ClockSnapshot::Clock* boot = clocks->add_clocks();
  boot->set_clock_id(pb::ClockSnapshot::Clock::BOOTTIME);
  boot->set_timestamp(0);
  pb::ClockSnapshot::Clock* incremental = clocks->add_clocks();
  incremental->set_clock_id(kIncrementalClock);
  incremental->set_timestamp(0);
  incremental->set_is_incremental(true);
  out_.write(packet);
}

void Exporter::begin_thread(const traceio::ThreadInfo& thread) {
  thread_ = &thread;
  start_sequence(kFirstThreadSequence + thread.index, thread_uuid(thread.index));
  analysis::TimelineOptions options;
  options.split_hub_at_phases = true;
  options.on_begin = [this](const Span& s) { begin_span(s); };
  walker_ = std::make_unique<analysis::TimelineWalker>(
      thread.index, thread.has_hub ? thread.hub_greenlet : 0, [this](const Span& s) { end_span(s); }, options);
  const auto it = stalls_by_thread_.find(thread.index);
  stalls_ = it == stalls_by_thread_.end() ? nullptr : &it->second;
  next_stall_ = 0;
  open_stalls_.clear();
  stall_track_ = stall_uuid(thread.index);
}

void Exporter::events(const traceio::ThreadInfo&, std::span<const Event> events) {
  for (const Event& e : events) {
    if (stalls_ != nullptr) advance_stalls(e.time_ns);
    walker_->add(e);
    instant(e);
  }
}

void Exporter::end_thread(const traceio::ThreadInfo& thread) {
  walker_->finish();
  walker_.reset();
  const std::int64_t end = seq_.clock_ns;
  for (auto& [track, open] : seq_.open)
    if (track != stall_track_) close_open(track, end);
  if (stalls_ != nullptr) advance_stalls(INT64_MAX);
  (void)thread;
  thread_ = nullptr;
}

void Exporter::finish() {
  if (orphan_stalls_.empty()) return;
  start_sequence(kFirstThreadSequence + static_cast<std::uint32_t>(trace_->threads().size()) + 1, kOrphanStallsUuid);
  stalls_ = &orphan_stalls_;
  next_stall_ = 0;
  open_stalls_.clear();
  stall_track_ = kOrphanStallsUuid;
  advance_stalls(INT64_MAX);
}

// track_of() is the track of a greenlet's slices: 0 (the thread's own, the
// sequence's default) for the thread's hub and for no greenlet.
std::uint64_t Exporter::track_of(std::uint64_t greenlet) {
  if (greenlet == 0 || (thread_ != nullptr && thread_->has_hub && greenlet == thread_->hub_greenlet)) return 0;
  const auto [it, added] = greenlet_tracks_.try_emplace(greenlet, kGreenletBase + greenlet_tracks_.size());
  if (!added) return it->second;
  const auto info = trace_->greenlets().find(greenlet);
  const std::uint32_t thread = info != trace_->greenlets().end() && trace_->thread(info->second.thread) != nullptr
                                   ? info->second.thread
                                   : thread_->index;
  const bool main = trace_->thread(thread)->has_hub && trace_->thread(thread)->main_greenlet == greenlet;
  pb::TracePacket packet;
  pb::TrackDescriptor* d = packet.mutable_track_descriptor();
  d->set_uuid(it->second);
  d->set_parent_uuid(thread_uuid(thread));
  const std::string label = greenlet_label(*trace_, greenlet);
  const std::size_t hash = label.rfind('#');
  d->set_name(traceio::valid_utf8(label.substr(0, hash) + (hash == 0 ? "" : " ") + label.substr(hash)));
  d->set_sibling_order_rank(main ? 0 : static_cast<std::int32_t>(std::min<std::uint64_t>(greenlet, INT32_MAX)));
  out_.write(packet);
  ++stats_.tracks;
  return it->second;
}

// event_at() starts the next TrackEvent packet at `ns` (no earlier than the
// last: the incremental clock only counts up) on `track` (0: the default).
pb::TrackEvent* Exporter::event_at(std::int64_t ns, pb::TrackEvent::Type type, std::uint64_t track) {
  ns = std::max(ns, seq_.clock_ns);
  if (packet_.has_interned_data()) packet_.clear_interned_data();
  packet_.set_timestamp(static_cast<std::uint64_t>(ns - seq_.clock_ns));
  seq_.clock_ns = ns;
  packet_.set_trusted_packet_sequence_id(seq_.id);
  packet_.set_sequence_flags(kNeedsState);
  pb::TrackEvent* event = packet_.mutable_track_event();
  event->Clear();
  event->set_type(type);
  if (track != 0) event->set_track_uuid(track);
  return event;
}

void Exporter::send() { out_.write(packet_); }

// intern() is the iid of `text` in a table of the sequence, added to the
// packet being built (kind 0: event names, 1: annotation names, 2: values)
// the first time.
std::uint64_t Exporter::intern(std::unordered_map<std::string, std::uint64_t>& table, const std::string& text,
                               int kind) {
  const auto [it, added] = table.try_emplace(text, 0);
  if (!added) return it->second;
  it->second = kind == 2 ? seq_.values.size() + seq_.texts.size() : table.size();
  pb::InternedData* data = packet_.mutable_interned_data();
  if (kind == 0) {
    pb::EventName* name = data->add_event_names();
    name->set_iid(it->second);
    name->set_name(text);
  } else if (kind == 1) {
    pb::DebugAnnotationName* name = data->add_debug_annotation_names();
    name->set_iid(it->second);
    name->set_name(text);
  } else {
    pb::InternedString* value = data->add_debug_annotation_string_values();
    value->set_iid(it->second);
    value->set_str(text);
  }
  return it->second;
}

pb::DebugAnnotation* Exporter::annotate(pb::TrackEvent* event, const char* name) {
  pb::DebugAnnotation* a = event->add_debug_annotations();
  a->set_name_iid(intern(seq_.annotation_names, name, 1));
  return a;
}

void Exporter::annotate_text(pb::TrackEvent* event, const char* name, const std::string& value) {
  annotate(event, name)->set_string_value_iid(intern(seq_.values, traceio::valid_utf8(value), 2));
}

// annotate_trace_text() interns a trace text by its id, without hashing it again.
void Exporter::annotate_trace_text(pb::TrackEvent* event, const char* name, std::uint32_t text) {
  pb::DebugAnnotation* a = annotate(event, name);
  const auto [it, added] = seq_.texts.try_emplace(text, 0);
  if (added) {
    it->second = seq_.values.size() + seq_.texts.size();
    pb::InternedString* value = packet_.mutable_interned_data()->add_debug_annotation_string_values();
    value->set_iid(it->second);
    value->set_str(traceio::valid_utf8(trace_->text(text)));
  }
  a->set_string_value_iid(it->second);
}

// [SECTION] Slices, flows, instants
// A run is a step of its thread's flow chain (flow id: thread index + 1): at
// its begin when a switch began it, else at its end when a switch ended it.
std::uint64_t chain_id(const traceio::ThreadInfo& thread) { return static_cast<std::uint64_t>(thread.index) + 1; }

void Exporter::begin_span(const Span& s) {
  const std::uint64_t track = track_of(s.greenlet);
  std::vector<std::uint64_t>& open = seq_.open[track];
  // Only the thread's own track nests (loop phases, the hub's runs in them);
  // a greenlet's runs and waits follow one another. After lost events one
  // can begin before the last ended: that one ends here.
  if (track != 0 && !open.empty()) close_open(track, s.begin_ns);
  pb::TrackEvent* event = event_at(s.begin_ns, pb::TrackEvent::TYPE_SLICE_BEGIN, track);
  std::uint64_t& iid = seq_.span_names[static_cast<std::size_t>(s.kind) * 256 + s.code];
  if (iid == 0) iid = name_iid(span_name(s));
  event->set_name_iid(iid);
  span_annotations(s, event);
  if (s.kind == SpanKind::Running && s.switch_in) {
    event->add_flow_ids(chain_id(*thread_));
    ++stats_.flow_steps;
  }
  send();
  open.push_back(s.seq);
  ++stats_.slices;
}

void Exporter::span_annotations(const Span& s, pb::TrackEvent* event) {
  switch (s.kind) {
    case SpanKind::Running:
      if (s.code != 0) annotate_text(event, "resumed_by", std::string(traceio::to_string(static_cast<Reason>(s.code))));
      break;
    case SpanKind::Waiting:
      if (s.what != 0) annotate_trace_text(event, "what", s.what);
      if (s.code == static_cast<std::uint8_t>(Reason::Io)) {
        annotate(event, "fd")->set_int_value(s.fd);
        annotate_text(event, "events", io_text(s.events));
      }
      if (s.code == static_cast<std::uint8_t>(Reason::Join))
        annotate_text(event, "joins", greenlet_label(*trace_, s.key));
      break;
    case SpanKind::Watcher:
      if (s.fd >= 0) annotate(event, "fd")->set_int_value(s.fd);
      if (s.code == static_cast<std::uint8_t>(traceio::WatcherKind::Io)) annotate_text(event, "revents", io_text(s.events));
      break;
    case SpanKind::Job: {
      char key[24];
      std::snprintf(key, sizeof key, "0x%llx", static_cast<unsigned long long>(s.key));
      annotate(event, "key")->set_string_value(key);
      break;
    }
    default: break;
  }
}

void Exporter::end_span(const Span& s) {
  const std::uint64_t track = track_of(s.greenlet);
  const auto it = seq_.open.find(track);
  if (it == seq_.open.end()) return;
  std::vector<std::uint64_t>& open = it->second;
  const auto at = std::find(open.rbegin(), open.rend(), s.seq);
  if (at == open.rend()) return;  // ended already, by a slice that began after lost events
  while (open.back() != s.seq) {  // inner slices whose ends were lost
    end_slice(track, s.end_ns, true, false);
    open.pop_back();
  }
  end_slice(track, s.end_ns, s.clipped, s.kind == SpanKind::Running && s.switch_out && !s.switch_in);
  open.pop_back();
}

void Exporter::end_slice(std::uint64_t track, std::int64_t ns, bool clipped, bool flow) {
  pb::TrackEvent* event = event_at(ns, pb::TrackEvent::TYPE_SLICE_END, track);
  if (clipped) annotate(event, "clipped")->set_bool_value(true);
  if (flow) {
    event->add_flow_ids(chain_id(*thread_));
    ++stats_.flow_steps;
  }
  send();
}

// close_open() ends every slice open on `track`, innermost first.
void Exporter::close_open(std::uint64_t track, std::int64_t ns) {
  std::vector<std::uint64_t>& open = seq_.open[track];
  for (; !open.empty(); open.pop_back()) end_slice(track, ns, true, false);
}

// instant() marks the events worth a marker, as the Chrome export does.
void Exporter::instant(const Event& e) {
  std::uint64_t greenlet = e.greenlet;
  std::string name;
  switch (e.type) {
    case EventType::Dropped: name = "dropped events"; break;
    case EventType::Exit:
      greenlet = e.a;
      name = "exit: " + std::string(traceio::to_string(static_cast<traceio::ExitKind>(e.code)));
      break;
    case EventType::Error:
      greenlet = e.a != 0 ? e.a : e.greenlet;
      name = "error";
      break;
    case EventType::TimeoutExpired:
      greenlet = e.a;
      name = "timeout expired";
      break;
    default: return;
  }
  const std::uint64_t track = track_of(greenlet);
  pb::TrackEvent* event = event_at(e.time_ns, pb::TrackEvent::TYPE_INSTANT, track);
  event->set_name_iid(name_iid(name));
  if (e.type == EventType::Dropped) {
    annotate(event, "count")->set_uint_value(e.a);
    annotate(event, "lost_over_us")->set_double_value(static_cast<double>(e.c) / 1e3);
  } else if (e.type == EventType::TimeoutExpired) {
    annotate(event, "timeout_us")->set_int_value(e.c);
  } else if (!trace_->text(e.str).empty()) {
    annotate(event, e.type == EventType::Exit ? "error" : "text")->set_string_value(traceio::valid_utf8(trace_->text(e.str)));
  }
  send();
  ++stats_.instants;
}

// [SECTION] Stalls
std::int64_t stall_end_ns(const StallInfo& s) {
  return std::max(s.start_ns, s.ended() ? s.end_ns : s.start_ns + s.duration_ns);
}

// advance_stalls() writes the thread's stall begins and ends up to
// `until_ns`, in time order among its events (an end before a begin at the
// same time).
void Exporter::advance_stalls(std::int64_t until_ns) {
  for (;;) {
    const std::int64_t next_begin = next_stall_ < stalls_->size() ? (*stalls_)[next_stall_]->start_ns : INT64_MAX;
    const auto first_end = std::min_element(open_stalls_.begin(), open_stalls_.end(),
                                            [](const StallInfo* a, const StallInfo* b) { return stall_end_ns(*a) < stall_end_ns(*b); });
    if (first_end != open_stalls_.end() && stall_end_ns(**first_end) <= std::min(next_begin, until_ns)) {
      end_stall(**first_end, stall_track_);
      open_stalls_.erase(first_end);
    } else if (next_begin <= until_ns && next_begin != INT64_MAX) {
      begin_stall(*(*stalls_)[next_stall_], stall_track_);
      open_stalls_.push_back((*stalls_)[next_stall_++]);
    } else {
      return;
    }
  }
}

void Exporter::begin_stall(const StallInfo& stall, std::uint64_t track) {
  std::vector<std::uint64_t>& open = seq_.open[track];
  if (!open.empty()) {  // overlapping stalls of one thread: a damaged file
    close_open(track, stall.start_ns);
    open_stalls_.clear();
  }
  pb::TrackEvent* event = event_at(stall.start_ns, pb::TrackEvent::TYPE_SLICE_BEGIN, track);
  const std::string kind = stall.has_end ? std::string(traceio::to_string(stall.kind)) : "still going";
  event->set_name(traceio::valid_utf8("stall: " + analysis::culprit_name(*trace_, stall) + " (" + kind + ")"));
  stall_annotations(stall, event);
  send();
  open.push_back(stall.id);
  ++stats_.stalls;
}

void Exporter::stall_annotations(const StallInfo& stall, pb::TrackEvent* event) {
  const auto named = [event](const char* name) {
    pb::DebugAnnotation* a = event->add_debug_annotations();
    a->set_name(name);
    return a;
  };
  named("stall_id")->set_uint_value(stall.id);
  named("culprit")->set_string_value(traceio::valid_utf8(analysis::culprit_name(*trace_, stall)));
  named("kind")->set_string_value(stall.has_end ? std::string(traceio::to_string(stall.kind)) : "not known (no end recorded)");
  if (!stall.ended()) named("still_going")->set_bool_value(true);
  if (stall.cpu_window_ns > 0)
    named("cpu_percent")->set_double_value(100.0 * static_cast<double>(stall.cpu_ns) / static_cast<double>(stall.cpu_window_ns));
  if (stall.syscall >= 0) named("syscall")->set_int_value(stall.syscall);
  named("samples")->set_uint_value(stall.samples.size());
  const std::vector<analysis::SampleCount> counts = analysis::sample_counts(stall, *keys_);
  if (counts.empty() || counts.front().stack == 0) return;
  named("stack_samples")->set_uint_value(counts.front().samples);
  pb::DebugAnnotation* stack = named("stack");
  for (const std::string& line : names_->lines(counts.front().stack))
    stack->add_array_values()->set_string_value(traceio::valid_utf8(line));
  if (counts.size() > 1) named("other_stacks")->set_uint_value(counts.size() - 1);
}

void Exporter::end_stall(const StallInfo& stall, std::uint64_t track) {
  std::vector<std::uint64_t>& open = seq_.open[track];
  if (open.empty() || open.back() != stall.id) return;
  end_slice(track, stall_end_ns(stall), !stall.ended(), false);
  open.pop_back();
}

// [SECTION] The command
std::string default_output(const std::string& trace_path) {
  const std::string gstrace = ".gstrace";
  const bool has_ext = trace_path.size() > gstrace.size() &&
                       trace_path.compare(trace_path.size() - gstrace.size(), gstrace.size(), gstrace) == 0;
  return (has_ext ? trace_path.substr(0, trace_path.size() - gstrace.size()) : trace_path) + ".perfetto-trace";
}

}  // namespace

int run_perfetto_export(const Args& args) {
  if (args.has("of")) throw UsageError("--of is for --format folded");
  if (args.has("from") || args.has("to"))
    throw UsageError("--from and --to are for --format chrome and folded: the Perfetto export is the whole trace "
                     "(Perfetto's UI opens traces of any length and zooms in)");
  const std::string output = args.get("output", default_output(args.file()));
  const bool to_stdout = output == "-";
  std::FILE* file = to_stdout ? stdout : std::fopen(output.c_str(), "wb");
  if (file == nullptr) {
    error("cannot create '" + output + "': " + std::strerror(errno));
    return kExitFailure;
  }
  PerfettoExportOptions options;
  options.compress = !args.has("uncompressed");
  PacketWriter writer(file, options.compress);
  Exporter exporter(writer);
  LoadedTrace loaded = scan_trace(args, &exporter);
  if (loaded.trace) exporter.finish();
  bool written = writer.finish();
  const long size = to_stdout ? -1 : std::ftell(file);
  written = (to_stdout ? std::fflush(stdout) == 0 : std::fclose(file) == 0) && written;
  if (!loaded.trace || !written) {
    if (loaded.trace) error("writing '" + output + "' failed: " + std::strerror(errno));
    if (!to_stdout) std::remove(output.c_str());
    return kExitFailure;
  }
  PerfettoExportStats stats = exporter.stats();
  stats.packets = writer.packets();
  stats.raw_bytes = writer.raw_bytes();
  if (!to_stdout && !args.has("quiet"))
    std::fprintf(stderr,
                 "greenscope: wrote %s: %s, %llu tracks, %llu slices, %llu flow steps, %llu stalls, %llu markers "
                 "(open it in ui.perfetto.dev)\n",
                 shown(output).c_str(), format_bytes(static_cast<std::uint64_t>(size)).c_str(),
                 static_cast<unsigned long long>(stats.tracks), static_cast<unsigned long long>(stats.slices),
                 static_cast<unsigned long long>(stats.flow_steps), static_cast<unsigned long long>(stats.stalls),
                 static_cast<unsigned long long>(stats.instants));
  return loaded.exit_code;
}

}  // namespace gs::cli
