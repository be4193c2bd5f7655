// block_decoder.cpp: the event decoder. Most tags are a flat list of fields
// (kSpecs); switches, suspends and resumes update the greenlets the decoder
// tracks, so they get their own code.
#include "block_decoder.h"

#include <array>
#include <cstdio>
#include <string>

#include "byte_reader.h"
#include "extension_events.h"

namespace gs::traceio::detail {
namespace {

namespace tf = trace_format;
using tf::Tag;

// Field says where one encoded field goes in an Event.
enum class Field : std::uint8_t { A, B, CVar, CZz, D, Code, Str, Sid };

struct TagSpec {
  EventType type;
  std::uint8_t count;
  std::array<Field, 3> fields;
};

using F = Field;
// kSpecs is indexed by tag - 2 (Tag::Dropped); Switch is decoded by hand.
constexpr std::array<TagSpec, 24> kSpecs = {{
    {EventType::Dropped, 2, {F::A, F::CVar}},
    {EventType::HubStart, 2, {F::A, F::B}},
    {EventType::HubStop, 0, {}},
    {EventType::Spawn, 3, {F::A, F::B, F::Str}},
    {EventType::Rename, 2, {F::A, F::Str}},
    {EventType::Exit, 3, {F::A, F::Code, F::Str}},
    {EventType::Switch, 0, {}},
    {EventType::CallbacksBegin, 0, {}},
    {EventType::CallbacksEnd, 1, {F::A}},
    {EventType::PollBegin, 0, {}},
    {EventType::PollEnd, 1, {F::A}},
    {EventType::WatcherBegin, 3, {F::Code, F::CZz, F::D}},
    {EventType::WatcherEnd, 1, {F::Code}},
    {EventType::CallbackEnqueue, 0, {}},
    {EventType::CallbackBegin, 0, {}},
    {EventType::CallbackEnd, 0, {}},
    {EventType::Error, 2, {F::A, F::Str}},
    {EventType::JobSubmit, 1, {F::A}},
    {EventType::JobBegin, 2, {F::A, F::B}},
    {EventType::JobEnd, 2, {F::A, F::B}},
    {EventType::JobDone, 1, {F::A}},
    {EventType::PatchedWaitBegin, 2, {F::Sid, F::CZz}},
    {EventType::PatchedWaitEnd, 2, {F::Sid, F::CZz}},
    {EventType::TimeoutExpired, 2, {F::A, F::CVar}},
}};
constexpr auto kFirstTag = static_cast<std::uint8_t>(Tag::Dropped);
static_assert(kFirstTag + kSpecs.size() - 1 == static_cast<std::uint8_t>(Tag::TimeoutExpired));

// specs_in_tag_order() checks kSpecs against EventType, which lists the
// types in tag order.
constexpr bool specs_in_tag_order() {
  for (std::size_t i = 0; i < kSpecs.size(); ++i) {
    if (kSpecs[i].type != static_cast<EventType>(i)) return false;
  }
  return true;
}
static_assert(specs_in_tag_order(), "kSpecs[tag - 2] must describe tag");

constexpr auto kSuspend = static_cast<std::uint8_t>(Tag::SuspendBase);
constexpr auto kResume = static_cast<std::uint8_t>(Tag::ResumeBase);

class BlockDecoder {
 public:
  BlockDecoder(const BlockBytes& block, const ClockFit& clock, LoadState& state, DecoderState& ds)
      : block_(block),
        clock_(clock),
        state_(state),
        thread_(state.thread(block.thread)),
        in_(block.data, block.data + block.size),
        extensions_(state.process.major >= 2),
        ds_(ds),
        ticks_(ds.ticks),
        current_(ds.current),
        hub_(ds.hub),
        last_resumed_(ds.last_resumed) {}

  // run() decodes the bytes; `at_start`: they must open with BlockStart.
  // The caller's DecoderState is then where they leave the block.
  bool run(bool at_start) {
    const bool ok = decode(at_start);
    ds_ = DecoderState{ticks_, current_, hub_, last_resumed_};
    return ok;
  }

 private:
  bool decode(bool at_start) {
    std::uint8_t tag = 0;
    if (at_start && (!in_.u8(tag) || tag != static_cast<std::uint8_t>(Tag::BlockStart) || !start())) {
      fail(0, "no block header", "; the whole block is skipped");
      return false;
    }
    while (!in_.at_end()) {
      const std::size_t begin = in_.position();
      tag = block_.data[begin];
      if (!known(tag) && !(extensions_ && is_extension(tag))) {
        fail(begin, "unknown event tag " + hex(tag), kSkipped);
        return false;
      }
      if (!event(begin)) {
        fail(begin, "event " + hex(tag) + " cut short or malformed", kSkipped);
        return false;
      }
    }
    return true;
  }

  static bool known(std::uint8_t tag) {
    return (tag >= static_cast<std::uint8_t>(Tag::BlockStart) && tag < kFirstTag + kSpecs.size()) ||
           (tag >= kSuspend && tag <= (kSuspend | tf::kReasonMask)) ||
           (tag >= kResume && tag <= tf::kMaxTag);
  }

  static std::string hex(std::uint8_t tag) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "0x%02x", tag);
    return buf;
  }

  static constexpr std::string_view kSkipped = "; the rest of this block is skipped";

  // fail() reports damage at block byte `pos`, naming the thread, the block
  // and the file offset.
  void fail(std::size_t pos, const std::string& what, std::string_view consequence) {
    const std::uint64_t offset = block_.file_offset(pos);
    state_.problem(offset, "thread " + std::to_string(block_.thread) + " block " +
                               std::to_string(block_.block_seq) + ": " + what + " at offset " +
                               std::to_string(offset) + std::string(consequence));
  }

  // start() reads a BlockStart's fields (it has no tick delta): absolute
  // ticks and the tracked greenlets.
  // A thread whose HubStart was dropped (or came before a flight
  // recorder's window) still learns its hub from the block.
  bool start() {
    if (!(in_.varint(ticks_) && in_.varint(current_) && in_.varint(hub_) && in_.varint(last_resumed_))) return false;
    if (hub_ != 0 && !thread_.has_hub) {
      thread_.has_hub = true;
      thread_.hub_greenlet = hub_;
    }
    return true;
  }

  // event() decodes the event at `begin`; false if it is malformed.
  bool event(std::size_t begin) {
    std::uint8_t tag = 0;
    in_.u8(tag);
    if (tag == static_cast<std::uint8_t>(Tag::BlockStart)) return start();
    std::uint64_t delta = 0;
    if (!in_.varint(delta)) return false;
    ticks_ += delta;
    if (extensions_ && is_extension(tag)) return extension(tag, begin);
    Event e;
    e.greenlet = current_;
    if (!fields(tag, e)) return false;
    e.time_ns = clock_.since_start(ticks_);
    emit(e, in_.position() - begin);
    return true;
  }

  // extension() decodes a length-prefixed event (format 2.0). Its length
  // lets a malformed or unknown one be stepped over; only a length past the
  // block's end stops the block.
  bool extension(std::uint8_t tag, std::size_t begin) {
    std::uint64_t length = 0;
    if (!in_.varint(length) || length > in_.remaining()) return false;
    const std::size_t at = in_.position();
    ExtensionInput x{tag, ByteReader(block_.data + at, block_.data + at + length), block_.thread,
                     block_.file_offset(begin), [this, at](std::uint64_t id) { return resolve_string(id, at); }};
    in_.skip(length);
    Event e;
    e.greenlet = current_;
    e.time_ns = clock_.since_start(ticks_);
    std::string why;
    switch (decode_extension(x, clock_, state_, e, why)) {
      case ExtensionResult::Decoded: emit(e, in_.position() - begin); break;
      case ExtensionResult::Unknown: ++state_.stats.extensions_skipped_unknown; break;
      case ExtensionResult::Malformed:
        fail(begin, "event " + hex(tag) + " malformed (" + why + ")", "; it is skipped");
        break;
    }
    return true;
  }

  bool fields(std::uint8_t tag, Event& e) {
    if (tag >= kResume) return resume(tag & tf::kReasonMask, e);
    if (tag >= kSuspend) return suspend(tag & tf::kReasonMask, e);
    if (tag == static_cast<std::uint8_t>(Tag::Switch)) return switch_event(e);
    const TagSpec& spec = kSpecs[tag - kFirstTag];
    e.type = spec.type;
    for (std::uint8_t i = 0; i < spec.count; ++i) {
      if (!field(spec.fields[i], e)) return false;
    }
    return true;
  }

  bool field(Field f, Event& e) {
    switch (f) {
      case Field::A: return in_.varint(e.a);
      case Field::B: return in_.varint(e.b);
      case Field::Code: return in_.u8(e.code);
      case Field::Str: return inline_string(e.str);
      case Field::Sid: return string_id(e.str);
      case Field::CVar:
      case Field::CZz:
      case Field::D: return number(f, e);
    }
    return false;
  }

  // number() reads a varint into c (plain or zigzag) or into d.
  bool number(Field f, Event& e) {
    std::uint64_t v = 0;
    if (!in_.varint(v)) return false;
    if (f == Field::CVar) e.c = static_cast<std::int64_t>(v);
    if (f == Field::CZz) e.c = tf::unzigzag(v);
    if (f == Field::D) e.d = static_cast<std::uint16_t>(v);
    return true;
  }

  // switch_event() is a switch spelled out: from, to, reason byte, what, wait fields.
  bool switch_event(Event& e) {
    e.type = EventType::Switch;
    if (!in_.varint(e.a) || !in_.varint(e.b) || !in_.u8(e.code)) return false;
    e.greenlet = e.a;
    current_ = e.b;
    return string_id(e.str) && wait_fields(e);
  }

  // suspend() is `current` switching to `hub`.
  bool suspend(std::uint8_t reason, Event& e) {
    e.type = EventType::Switch;
    e.a = current_;
    e.b = hub_;
    e.code = reason;
    current_ = hub_;
    return string_id(e.str) && wait_fields(e);
  }

  // resume() is `hub` switching to a greenlet given relative to the last one resumed.
  bool resume(std::uint8_t reason, Event& e) {
    std::uint64_t v = 0;
    if (!in_.varint(v)) return false;
    e.type = EventType::Switch;
    e.a = hub_;
    e.b = last_resumed_ + static_cast<std::uint64_t>(tf::unzigzag(v));
    e.code = reason;
    e.greenlet = hub_;
    last_resumed_ = current_ = e.b;
    return true;
  }

  // wait_fields() reads what Io and Join waits add to a switch.
  bool wait_fields(Event& e) {
    std::uint64_t fd = 0, events = 0, joined = 0;
    switch (static_cast<Reason>(e.code)) {
      case Reason::Io:
        if (!in_.varint(fd) || !in_.varint(events)) return false;
        e.c = static_cast<std::int64_t>(fd);
        e.d = static_cast<std::uint16_t>(events);
        return true;
      case Reason::Join:
        if (!in_.varint(joined)) return false;
        e.c = static_cast<std::int64_t>(joined);
        return true;
      default: return true;
    }
  }

  bool inline_string(std::uint32_t& out) {
    std::string_view text;
    if (!in_.string(text, tf::kMaxInlineString)) return false;
    out = state_.texts.intern(text);
    return true;
  }

  // string_id() maps a Strings id to a text; an id no Strings chunk defined
  // (its chunk was lost) reads as "" and is reported once.
  bool string_id(std::uint32_t& out) {
    std::uint64_t id = 0;
    if (!in_.varint(id)) return false;
    out = resolve_string(id, in_.position());
    return true;
  }

  // resolve_string() is the text of Strings id `id`, read at block byte `pos`.
  std::uint32_t resolve_string(std::uint64_t id, std::size_t pos) {
    const auto it = state_.string_ids.find(id);
    if (it != state_.string_ids.end()) return it->second;
    if (id != 0 && state_.missing_string_ids.insert(id).second) {
      fail(pos, "string id " + std::to_string(id) + " (not defined by any Strings chunk)", "; it reads as \"\"");
    }
    return 0;
  }

  void emit(Event& e, std::size_t bytes) {
    const auto type = static_cast<std::size_t>(e.type);
    ++state_.stats.events;
    ++state_.stats.count[type];
    state_.stats.encoded_bytes[type] += bytes;
    if (e.type == EventType::Dropped) {
      state_.stats.dropped += e.a;
      e.c = clock_.duration(static_cast<std::uint64_t>(e.c));
    } else if (e.type == EventType::HubStart) {
      // The writer's rule: a hub is created by its thread's main greenlet,
      // so with nothing known yet, main is what runs.
      hub_ = e.a;
      if (current_ == 0) current_ = e.b;
      state_.hub_started.insert(block_.thread);
      thread_.has_hub = true;
      thread_.hub_greenlet = e.a;
      thread_.main_greenlet = e.b;
    }
    thread_.events.push_back(e);
  }

  const BlockBytes& block_;
  const ClockFit& clock_;
  LoadState& state_;
  ThreadInfo& thread_;
  ByteReader in_;
  bool extensions_;  // format 2.0 and later: tags 0x20..0x3F are length-prefixed
  // Copies of the caller's DecoderState (ds_), written back by run(): in
  // registers, not behind a reference, on the decoding's hot path.
  DecoderState& ds_;
  std::uint64_t ticks_, current_, hub_, last_resumed_;
};

}  // namespace

std::uint64_t BlockBytes::file_offset(std::size_t pos) const {
  std::uint64_t offset = 0;
  for (const BlockPiece& piece : pieces) {
    if (piece.block_pos > pos) break;
    offset = piece.file_offset + (pos - piece.block_pos);
  }
  return offset;
}

void decode_block(const BlockBytes& block, const ClockFit& clock, LoadState& state) {
  DecoderState ds;
  BlockDecoder(block, clock, state, ds).run(true);
}

bool decode_block_part(const BlockBytes& bytes, bool at_start, const ClockFit& clock, LoadState& state,
                       DecoderState& ds) {
  return BlockDecoder(bytes, clock, state, ds).run(at_start);
}

bool block_start_ticks(const std::uint8_t* data, std::size_t size, std::uint64_t& ticks) {
  ByteReader in(data, data + size);
  std::uint8_t tag = 0;
  return in.u8(tag) && tag == static_cast<std::uint8_t>(Tag::BlockStart) && in.varint(ticks);
}

}  // namespace gs::traceio::detail
