#include "chunk_parsers.h"

#include <algorithm>
#include <string>
#include <string_view>

#include "block_decoder.h"
#include "byte_reader.h"

namespace gs::traceio::detail {
namespace {

namespace tf = trace_format;

ByteReader reader(const ChunkBytes& chunk) {
  return ByteReader(chunk.data, chunk.data + chunk.size);
}

std::string where(const ChunkBytes& chunk) {
  return "chunk at offset " + std::to_string(chunk.offset);
}

void too_short(const ChunkBytes& chunk, std::string_view what, LoadState& state) {
  state.problem(chunk.offset, where(chunk) + ": " + std::string(what) + " record too short (" +
                                  std::to_string(chunk.size) + " bytes); chunk skipped");
}

// split_args() undoes the writer's join: arguments separated by NUL.
std::vector<std::string> split_args(std::string_view joined) {
  std::vector<std::string> args;
  if (joined.empty()) return args;
  for (;;) {
    const std::size_t nul = joined.find('\0');
    args.emplace_back(joined.substr(0, nul));
    if (nul == std::string_view::npos) return args;
    joined.remove_prefix(nul + 1);
  }
}

std::string_view clock_name(std::uint32_t clock) {
  switch (static_cast<tf::ClockSource>(clock)) {
    case tf::ClockSource::Tsc: return "tsc";
    case tf::ClockSource::Monotonic: return "monotonic";
  }
  return "unknown";
}

// read_process_strings() reads program, args, host and clock after the
// record; false if any is missing or malformed.
bool read_process_strings(ByteReader& in, ProcessInfo& p) {
  std::string_view program, args, host, clock;
  const bool ok = in.string(program) && in.string(args) && in.string(host) && in.string(clock);
  p.program = program;
  p.args = split_args(args);
  p.host = host;
  p.clock = clock;
  return ok;
}

}  // namespace

// parse_process() keeps the first Process chunk: it anchors the trace's
// time, and a second one could only be a writer's mistake.
void parse_process(const ChunkBytes& chunk, LoadState& state) {
  if (state.have_process) return;
  ByteReader in = reader(chunk);
  tf::ProcessRecord rec;
  if (!in.record(rec)) return too_short(chunk, "process", state);
  state.have_process = true;
  state.start_ticks = rec.start_ticks;
  state.start_mono_ns = rec.start_mono_ns;
  ProcessInfo& p = state.process;
  p.pid = rec.pid;
  p.args_redacted = (rec.flags & tf::kProcessArgsRedacted) != 0;
  p.start_wall_ns = rec.start_wall_ns;
  p.ticks_per_ns = rec.ticks_per_ns;
  if (!read_process_strings(in, p)) {
    state.problem(chunk.offset, where(chunk) +
                                    ": the process record's strings are cut short; "
                                    "program, arguments, host or clock may be missing");
  }
  if (p.clock.empty()) p.clock = clock_name(rec.clock);
}

// parse_thread() lets a later Thread chunk for the same index update it
// (a thread may be renamed).
void parse_thread(const ChunkBytes& chunk, LoadState& state) {
  ByteReader in = reader(chunk);
  tf::ThreadRecord rec;
  if (!in.record(rec)) return too_short(chunk, "thread", state);
  ThreadInfo& t = state.thread(rec.index);
  t.os_tid = rec.os_tid;
  std::string_view name;
  if (!in.string(name)) {
    state.problem(chunk.offset,
                  where(chunk) + ": thread " + std::to_string(rec.index) + "'s name is cut short");
  }
  if (!name.empty()) t.name = name;
}

// parse_strings() maps the writer's string ids to interned texts. The first
// definition of an id wins.
void parse_strings(const ChunkBytes& chunk, LoadState& state) {
  ByteReader in = reader(chunk);
  while (!in.at_end()) {
    const std::size_t at = in.position();
    std::uint64_t id = 0;
    std::string_view text;
    if (!in.varint(id) || !in.string(text)) {
      state.problem(chunk.offset, where(chunk) + ": malformed string entry at payload byte " +
                                      std::to_string(at) + "; the rest of the chunk is skipped");
      return;
    }
    if (!state.string_ids.contains(id)) state.string_ids.emplace(id, state.texts.intern(text));
  }
}

void parse_events(const ChunkBytes& chunk, LoadState& state) {
  ByteReader in = reader(chunk);
  tf::EventsRecord rec;
  if (!in.record(rec)) return too_short(chunk, "events", state);
  const auto size = static_cast<std::uint32_t>(in.remaining());
  state.stats.event_bytes += size;
  if (size == 0) return;
  const std::size_t at = in.position();
  std::uint64_t ticks = 0;
  if (rec.offset == 0 && block_start_ticks(chunk.data + at, size, ticks))
    state.first_block_ticks = std::min(state.first_block_ticks, ticks);
  state.slices.push_back(Slice{rec.thread, rec.block_seq, rec.offset,
                               chunk.offset + sizeof(tf::ChunkHeader) + at, chunk.data + at, size});
}

void parse_calibration(const ChunkBytes& chunk, LoadState& state) {
  ByteReader in = reader(chunk);
  tf::CalibrationRecord rec;
  if (!in.record(rec)) return too_short(chunk, "calibration", state);
  state.calibrations.push_back(CalibrationPair{rec.ticks, rec.mono_ns});
}

void parse_end(const ChunkBytes& chunk, LoadState& state) {
  ByteReader in = reader(chunk);
  tf::EndRecord rec;
  if (!in.record(rec)) return too_short(chunk, "end", state);
  state.stats.clean_end = true;
  state.stats.end_events = rec.events;
  state.stats.end_dropped = rec.dropped;
}

}  // namespace gs::traceio::detail
