// trace_builder.h: a test-side trace writer. It encodes files straight from
// trace_format.h, independently of the reader, so the tests can build valid
// traces and then damage them byte by byte.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "greenscope/trace_format.h"
#include "greenscope/traceio.h"

namespace gs::test {

namespace tf = gs::trace_format;
using Bytes = std::vector<std::uint8_t>;

// ByteSink appends encoded values to a byte vector.
class ByteSink {
 public:
  ByteSink& u8(std::uint8_t v) {
    bytes.push_back(v);
    return *this;
  }
  ByteSink& varint(std::uint64_t v) {
    std::uint8_t buf[tf::kMaxVarint];
    bytes.insert(bytes.end(), buf, tf::put_varint(buf, v));
    return *this;
  }
  ByteSink& zz(std::int64_t v) { return varint(tf::zigzag(v)); }
  ByteSink& str(std::string_view s) {
    varint(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
    return *this;
  }
  template <class T>
  ByteSink& record(const T& rec) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(&rec);
    bytes.insert(bytes.end(), p, p + sizeof(T));
    return *this;
  }

  Bytes bytes;
};

// BlockWriter encodes one block: BlockStart, then events, each a tag, a
// tick delta and the tag's fields (written by the caller through sink).
class BlockWriter {
 public:
  BlockWriter(std::uint64_t ticks, std::uint64_t current, std::uint64_t hub,
              std::uint64_t last_resumed) {
    sink.u8(static_cast<std::uint8_t>(tf::Tag::BlockStart))
        .varint(ticks)
        .varint(current)
        .varint(hub);
    sink.varint(last_resumed);
  }
  // event() starts an event; chain its fields on the returned sink.
  ByteSink& event(tf::Tag tag, std::uint64_t delta) {
    return event(static_cast<std::uint8_t>(tag), delta);
  }
  ByteSink& event(std::uint8_t tag, std::uint64_t delta) { return sink.u8(tag).varint(delta); }
  ByteSink& suspend(tf::Reason r, std::uint64_t delta) {
    return event(static_cast<std::uint8_t>(0x40 | static_cast<std::uint8_t>(r)), delta);
  }
  ByteSink& resume(tf::Reason r, std::uint64_t delta) {
    return event(static_cast<std::uint8_t>(0x60 | static_cast<std::uint8_t>(r)), delta);
  }

  // extension() writes a 2.0 extension event: tag, delta, byte length, fields.
  void extension(std::uint8_t tag, std::uint64_t delta, const ByteSink& fields) {
    event(tag, delta).varint(fields.bytes.size());
    sink.bytes.insert(sink.bytes.end(), fields.bytes.begin(), fields.bytes.end());
  }
  void extension(tf::Tag tag, std::uint64_t delta, const ByteSink& fields) {
    extension(static_cast<std::uint8_t>(tag), delta, fields);
  }
  void wait_stack(std::uint64_t delta, std::uint64_t stack) {
    extension(tf::Tag::WaitStack, delta, ByteSink().varint(stack));
  }
  void stall_begin(std::uint64_t delta, std::uint64_t id, std::uint32_t thread, std::uint64_t start_ticks,
                   std::uint64_t greenlet, tf::StallOwner owner = tf::StallOwner::Greenlet,
                   tf::WatcherKind watcher = tf::WatcherKind::Io) {
    extension(tf::Tag::StallBegin, delta,
              ByteSink()
                  .varint(id)
                  .varint(thread)
                  .varint(start_ticks)
                  .varint(greenlet)
                  .u8(static_cast<std::uint8_t>(owner))
                  .u8(static_cast<std::uint8_t>(watcher)));
  }
  void stall_sample(std::uint64_t delta, std::uint64_t id, std::uint64_t stack, bool in_syscall = false,
                    int syscall = -1) {
    extension(tf::Tag::StallSample, delta, ByteSink().varint(id).varint(stack).u8(in_syscall ? 1 : 0).zz(syscall));
  }
  void stall_end(std::uint64_t delta, std::uint64_t id, std::uint64_t end_ticks, std::uint64_t cpu_ns,
                 std::uint64_t window_ns, tf::StallKind kind = tf::StallKind::CpuBound, int syscall = -1) {
    extension(tf::Tag::StallEnd, delta,
              ByteSink()
                  .varint(id)
                  .varint(end_ticks)
                  .varint(cpu_ns)
                  .varint(window_ns)
                  .u8(static_cast<std::uint8_t>(kind))
                  .zz(syscall));
  }
  void loop_lag(std::uint64_t delta, std::uint64_t lag_ns) {
    extension(tf::Tag::LoopLag, delta, ByteSink().varint(lag_ns));
  }
  void blocking_call(std::uint64_t delta, std::uint64_t call_sid, std::int64_t fd, std::uint64_t duration_ns,
                     std::uint64_t stack) {
    extension(tf::Tag::BlockingCall, delta, ByteSink().varint(call_sid).zz(fd).varint(duration_ns).varint(stack));
  }
  void crash(std::uint64_t delta, int signal, std::uint64_t address, std::uint64_t greenlet, std::uint8_t flags,
             const std::vector<std::uint64_t>& frames) {
    ByteSink f;
    f.varint(static_cast<std::uint64_t>(signal)).varint(address).varint(greenlet).u8(flags).varint(frames.size());
    for (std::uint64_t a : frames) f.varint(a);
    extension(tf::Tag::Crash, delta, f);
  }
  const Bytes& bytes() const { return sink.bytes; }

  ByteSink sink;
};

// switching_block() is a block of `n` events starting at `ticks`: a
// HubStart, then main (1) and the hub (2) switching to and fro (main waits
// on fd 7 for reads).
inline BlockWriter switching_block(std::uint64_t ticks, int n) {
  BlockWriter w(ticks, 1, 2, 0);
  w.event(tf::Tag::HubStart, 0).varint(2).varint(1);
  for (int i = 1; i < n; ++i) {
    if (i % 2) {
      w.suspend(tf::Reason::Io, 5).varint(7).varint(3).varint(1);
    } else {
      w.resume(tf::Reason::Resume, 5).zz(1);
    }
  }
  return w;
}

// Default clock of TraceBuilder: 2 ticks per ns, trace starting at tick 1000.
inline constexpr std::uint64_t kStartTicks = 1000;
inline constexpr std::uint64_t kStartMonoNs = 5'000'000'000;

// TraceBuilder writes a file header and then chunks with correct checksums.
// Each chunk function returns the chunk's file offset.
class TraceBuilder {
 public:
  explicit TraceBuilder(std::uint16_t major = tf::kFormatMajor,
                        std::uint16_t minor = tf::kFormatMinor, std::uint64_t flags = 0) {
    tf::FileHeader h{};
    std::memcpy(h.magic, tf::kFileMagic, sizeof(h.magic));
    h.major = major;
    h.minor = minor;
    h.header_size = sizeof(h);
    h.flags = flags;
    file.record(h);
  }

  std::size_t chunk(std::uint16_t type, const Bytes& payload) {
    tf::ChunkHeader h{};
    h.sync = tf::kChunkSync;
    h.type = type;
    h.length = static_cast<std::uint32_t>(payload.size());
    h.payload_crc = tf::crc32c(payload.data(), payload.size());
    h.sequence = sequence_++;
    h.header_crc = tf::header_crc(h);
    const std::size_t at = file.bytes.size();
    file.record(h);
    file.bytes.insert(file.bytes.end(), payload.begin(), payload.end());
    return at;
  }
  std::size_t chunk(tf::ChunkType type, const Bytes& payload) {
    return chunk(static_cast<std::uint16_t>(type), payload);
  }

  std::size_t process(double ticks_per_ns = 2.0,
                      std::string_view args = std::string_view("prog\0-v", 7)) {
    tf::ProcessRecord rec{};
    rec.pid = 4242;
    rec.start_wall_ns = 1'700'000'000'000'000'000;
    rec.start_ticks = kStartTicks;
    rec.start_mono_ns = kStartMonoNs;
    rec.ticks_per_ns = ticks_per_ns;
    rec.clock = static_cast<std::uint32_t>(tf::ClockSource::Tsc);
    ByteSink s;
    s.record(rec).str("/usr/bin/prog").str(args).str("host1").str("tsc");
    return chunk(tf::ChunkType::Process, s.bytes);
  }

  std::size_t thread(std::uint32_t index, std::string_view name, std::int64_t tid = 100) {
    tf::ThreadRecord rec{};
    rec.index = index;
    rec.os_tid = tid;
    rec.first_ticks = kStartTicks;
    ByteSink s;
    s.record(rec).str(name);
    return chunk(tf::ChunkType::Thread, s.bytes);
  }

  std::size_t strings(const std::vector<std::pair<std::uint64_t, std::string>>& entries) {
    ByteSink s;
    for (const auto& [id, text] : entries) s.varint(id).str(text);
    return chunk(tf::ChunkType::Strings, s.bytes);
  }

  std::size_t events(std::uint32_t thread, std::uint32_t block, std::uint32_t offset,
                     const Bytes& data) {
    ByteSink s;
    s.record(tf::EventsRecord{thread, block, offset, 0});
    s.bytes.insert(s.bytes.end(), data.begin(), data.end());
    return chunk(tf::ChunkType::Events, s.bytes);
  }
  std::size_t events(std::uint32_t thread, std::uint32_t block, const BlockWriter& w) {
    return events(thread, block, 0, w.bytes());
  }

  std::size_t calibration(std::uint64_t ticks, std::uint64_t mono_ns) {
    ByteSink s;
    s.record(tf::CalibrationRecord{ticks, mono_ns});
    return chunk(tf::ChunkType::Calibration, s.bytes);
  }

  // Since 2.0: the stack chunks.
  struct Module {
    std::uint64_t id, base, lo, hi;
    std::string path, build_id;
  };
  std::size_t modules(const std::vector<Module>& entries) {
    ByteSink s;
    for (const Module& m : entries) s.varint(m.id).varint(m.base).varint(m.lo).varint(m.hi).str(m.path).str(m.build_id);
    return chunk(tf::ChunkType::Modules, s.bytes);
  }
  std::size_t stacks(const std::vector<std::pair<std::uint64_t, std::vector<std::uint64_t>>>& entries) {
    ByteSink s;
    for (const auto& [id, frames] : entries) {
      s.varint(id).varint(frames.size());
      for (std::uint64_t a : frames) s.varint(a);
    }
    return chunk(tf::ChunkType::Stacks, s.bytes);
  }
  struct Scope {
    std::string function, file;
    std::uint32_t line;
  };
  std::size_t symbols(const std::vector<std::pair<std::uint64_t, std::vector<Scope>>>& entries) {
    ByteSink s;
    for (const auto& [address, scopes] : entries) {
      s.varint(address).varint(scopes.size());
      for (const Scope& sc : scopes) s.str(sc.function).str(sc.file).varint(sc.line);
    }
    return chunk(tf::ChunkType::Symbols, s.bytes);
  }
  std::size_t run_info(std::uint64_t ticks, std::string_view trigger, std::string_view text) {
    ByteSink s;
    s.varint(ticks).str(trigger).str(text);
    return chunk(tf::ChunkType::RunInfo, s.bytes);
  }

  std::size_t end(std::uint64_t events = 0, std::uint64_t dropped = 0) {
    ByteSink s;
    s.record(tf::EndRecord{events, dropped, kStartTicks});
    return chunk(tf::ChunkType::End, s.bytes);
  }

  const Bytes& bytes() const { return file.bytes; }

  ByteSink file;

 private:
  std::uint32_t sequence_ = 0;
};

// write_file() writes `bytes` to a fresh file under the test temp dir.
std::string write_file(const Bytes& bytes, const std::string& name = "trace");

// load_bytes() writes `bytes` to a file and loads it.
traceio::LoadResult load_bytes(const Bytes& bytes);

// Contains() is a gtest predicate: EXPECT_TRUE(Contains(message, "truncated")).
inline ::testing::AssertionResult Contains(const std::string& text, std::string_view part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

// AnyProblemContains() is true if one of the trace's problems mentions `part`.
inline ::testing::AssertionResult AnyProblemContains(const traceio::Trace& trace,
                                                     std::string_view part) {
  for (const traceio::Problem& p : trace.problems()) {
    if (p.message.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  }
  auto failure = ::testing::AssertionFailure()
                 << "no problem mentions \"" << part << "\"; problems:";
  for (const traceio::Problem& p : trace.problems()) {
    failure << "\n  @" << p.offset << " " << p.message;
  }
  return failure;
}

}  // namespace gs::test
