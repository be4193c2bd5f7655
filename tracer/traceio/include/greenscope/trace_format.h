// trace_format.h: the greenscope trace file, the one header shared by the
// writer (greenscope::tracer) and the reader (greenscope::traceio). Any
// change to a record's layout or meaning bumps kFormatMajor (incompatible) or
// kFormatMinor (readers of the same major keep working). docs/trace-format.md
// describes the same bytes in prose.
//
// [SECTION] File and chunk headers
// [SECTION] Chunk types and their fixed parts
// [SECTION] Event tags
// [SECTION] Varints (LEB128) and zigzag
// [SECTION] CRC-32C
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace gs::trace_format {

static_assert(std::endian::native == std::endian::little,
              "the trace format is little-endian; a big-endian port needs byte swaps here");

inline constexpr std::uint16_t kFormatMajor = 2;
inline constexpr std::uint16_t kFormatMinor = 3;
// kOldestMajor is the oldest major version this reader still reads: 2.0
// only added chunk types and extension events (see [SECTION] Event tags),
// so 1.x files decode as before.
inline constexpr std::uint16_t kOldestMajor = 1;

// ---------------------------------------------------------------------------
// [SECTION] File and chunk headers
// ---------------------------------------------------------------------------

inline constexpr char kFileMagic[8] = {'G', 'S', 'T', 'R', 'A', 'C', 'E', '\x1a'};

// FileHeader opens every trace file. header_size lets a later minor version
// append fields: readers skip to header_size.
struct FileHeader {
  char magic[8];              // kFileMagic
  std::uint16_t major;        // kFormatMajor of the writer
  std::uint16_t minor;        // kFormatMinor of the writer
  std::uint32_t header_size;  // sizeof(FileHeader) for this version
  std::uint64_t flags;        // bit 0: flight-recorder dump
  std::uint64_t reserved;
};
static_assert(sizeof(FileHeader) == 32);
inline constexpr std::uint64_t kFileFlagFlightDump = 1;

inline constexpr std::uint32_t kChunkSync = 0x4B435347;  // "GSCK" read as bytes

// ChunkHeader precedes every chunk. The header carries its own checksum so
// a damaged length is detected instead of followed; a reader that finds
// damage scans forward for the next kChunkSync whose header checksum holds.
struct ChunkHeader {
  std::uint32_t sync;         // kChunkSync
  std::uint16_t type;         // ChunkType; unknown types are skipped
  std::uint16_t flags;        // 0 in this version
  std::uint32_t length;       // payload bytes after this header
  std::uint32_t payload_crc;  // crc32c(payload)
  std::uint32_t sequence;     // the writer's chunk counter, from 0
  std::uint32_t header_crc;   // crc32c of the 20 bytes above
};
static_assert(sizeof(ChunkHeader) == 24);

// kMaxChunkLength bounds a chunk's payload: a larger length is damage, and
// the reader never allocates on its say-so.
inline constexpr std::uint32_t kMaxChunkLength = 16u << 20;

// ---------------------------------------------------------------------------
// [SECTION] Chunk types and their fixed parts
// ---------------------------------------------------------------------------

enum class ChunkType : std::uint16_t {
  Process = 1,      // ProcessRecord, then strings: program, args (NUL-separated), host, clock
  Thread = 2,       // ThreadRecord, then the thread's name
  Strings = 3,      // repeated: varint id, varint length, bytes
  Events = 4,       // EventsRecord, then encoded events
  Calibration = 5,  // CalibrationRecord
  End = 6,          // EndRecord: the file was closed cleanly
  // Since 2.0: stacks and what is needed to symbolize them (see below).
  Modules = 7,      // repeated ModuleEntry
  Stacks = 8,       // repeated StackEntry
  Symbols = 9,      // repeated SymbolEntry
  RunInfo = 10,     // one RunInfoEntry
};

// Stacks, since 2.0. A stack is a list of code addresses, innermost frame
// first, and each address is a *lookup address*: the exact instruction for
// an interrupted frame (a stall sample's or a crash's frame 0), the return
// address minus one for every caller, so that it falls inside the call
// instruction's line and inline scope. Stack id 0 means "no stack".
//
// ModuleEntry (one per loaded object, ids from 1, stable for the file;
// a later Modules chunk only adds modules loaded since):
//   varint id; varint base (the load bias, dlpi_addr); varint lo; varint hi
//   (the lowest and highest address of its PT_LOAD segments); str path
//   (absolute; the main program too); str build_id (raw bytes, may be empty)
// StackEntry:
//   varint id; varint frame count; count x varint lookup address
// SymbolEntry (written once per address that some stack uses):
//   varint address; varint n >= 1 scopes, innermost (inlined) first;
//   n x { str function (demangled, "" if unknown); str file (""); varint line (0) }
//   A reader that finds no SymbolEntry for an address symbolizes it again
//   from the module map (path + build-id), or shows module+offset.
// RunInfoEntry (a gs::format_run_info() dump):
//   varint ticks (absolute, the trace clock); str trigger ("signal SIGUSR1",
//   "api", "crash"); str text (the dump as printed)

// Strings inside a chunk are a varint byte length followed by the bytes.

struct ProcessRecord {
  std::uint64_t pid;
  std::int64_t start_wall_ns;   // CLOCK_REALTIME at trace start, ns since the epoch
  std::uint64_t start_ticks;    // the trace clock at trace start
  std::uint64_t start_mono_ns;  // CLOCK_MONOTONIC at trace start
  double ticks_per_ns;          // initial calibration (refined by Calibration chunks)
  std::uint32_t clock;          // ClockSource
  std::uint32_t flags;          // since 2.1 (0 before): kProcessArgsRedacted
};
static_assert(sizeof(ProcessRecord) == 48);
// kProcessArgsRedacted: GREENSCOPE_TRACE_REDACT=1; the args string holds
// argv[0] and then one empty string per argument left out.
inline constexpr std::uint32_t kProcessArgsRedacted = 1;

enum class ClockSource : std::uint32_t { Tsc = 1, Monotonic = 2 };

struct ThreadRecord {
  std::uint32_t index;     // the thread's number in this trace, from 0
  std::uint32_t reserved;
  std::int64_t os_tid;     // gettid()
  std::uint64_t first_ticks;
};
static_assert(sizeof(ThreadRecord) == 24);

// EventsRecord heads a slice of one thread's event stream. A thread writes
// into blocks; each block starts with a BlockStart event and is decodable on
// its own. The writer may ship a block in several slices (it flushes what is
// committed every flush interval): slices of one block are concatenated in
// offset order. A missing slice loses the rest of its block only.
struct EventsRecord {
  std::uint32_t thread;     // ThreadRecord::index
  std::uint32_t block_seq;  // the thread's block counter, from 0
  std::uint32_t offset;     // where this slice starts inside the block
  std::uint32_t reserved;
};
static_assert(sizeof(EventsRecord) == 16);

// CalibrationRecord pairs a trace-clock reading with CLOCK_MONOTONIC. The
// reader fits ticks to nanoseconds through the first and last pairs.
struct CalibrationRecord {
  std::uint64_t ticks;
  std::uint64_t mono_ns;
};
static_assert(sizeof(CalibrationRecord) == 16);

struct EndRecord {
  std::uint64_t events;   // events recorded
  std::uint64_t dropped;  // events dropped for want of buffer space
  std::uint64_t end_ticks;
};
static_assert(sizeof(EndRecord) == 24);

// ---------------------------------------------------------------------------
// [SECTION] Event tags
// ---------------------------------------------------------------------------
// Each event: a tag byte, a varint tick delta from the previous event of the
// same block, then the tag's fields (varints unless noted; "str" is an inline
// string; "sid" a Strings id; "zz" a zigzag varint). Greenlet ids are the
// runtime's, unique in the process. The decoder of a block tracks `current`
// (the running greenlet), `hub`, and `last_resumed`.

enum class Tag : std::uint8_t {
  BlockStart = 1,        // [no delta] varint ticks (absolute); current; hub; last_resumed
                         //   (a nonzero hub names the thread's hub even if HubStart was lost)
  Dropped = 2,           // count; ticks since the first dropped event
  HubStart = 3,          // hub greenlet id; main greenlet id (current = main if it was 0)
  HubStop = 4,           //
  Spawn = 5,             // id; spawner id; str name ("" = default name)
  Rename = 6,            // id; str name
  Exit = 7,              // id; u8 ExitKind; str error
  Switch = 8,            // from; to; u8 SwitchReason; sid what; [wait fields]
  CallbacksBegin = 9,    //
  CallbacksEnd = 10,     // items run
  PollBegin = 11,        //
  PollEnd = 12,          // watchers pending after the poll
  WatcherBegin = 13,     // u8 WatcherKind; zz fd; revents
  WatcherEnd = 14,       // u8 WatcherKind
  CallbackEnqueue = 15,  //
  CallbackBegin = 16,    //
  CallbackEnd = 17,      //
  Error = 18,            // greenlet id (0: a callback); str text
  JobSubmit = 19,        // job
  JobBegin = 20,         // job; worker
  JobEnd = 21,           // job; worker
  JobDone = 22,          // job
  PatchedWaitBegin = 23, // sid call; zz fd
  PatchedWaitEnd = 24,   // sid call; zz fd
  TimeoutExpired = 25,   // greenlet id; microseconds
  // Extension events (since 2.0): tags kFirstExtension..kLastExtension carry
  // a varint byte length after the tick delta, then their fields, so a
  // reader skips an extension tag it does not know. "ticks" fields are
  // absolute readings of the trace clock (the runtime's stall clock is the
  // same clock).
  WaitStack = 0x20,      // stack id: where `current` waits; it belongs to the
                         //   Suspend/Switch away from `current` that follows
  StallBegin = 0x21,     // stall id; thread index of the stalled hub; start ticks;
                         //   greenlet id holding the thread (0: the hub itself);
                         //   u8 StallOwner; u8 WatcherKind (if owner is Watcher)
  StallSample = 0x22,    // stall id; stack id; u8 1 if blocked in a syscall else 0;
                         //   zz syscall number (-1: none)
  StallEnd = 0x23,       // stall id; end ticks (0: never ended, see below); cpu ns;
                         //   wall ns over which cpu ns was measured; u8 StallKind;
                         //   zz syscall number (-1: none);
                         //   since 2.2: zz run delay ns over the same window (time
                         //   runnable but waiting for a CPU; -1: not measured);
                         //   since 2.3: varint the monitor's threshold ns (0: not
                         //   known), which tells a starved stall from the code's.
                         //   stall_verdict.h judges a stall from these and its samples
  LoopLag = 0x24,        // ns from the end of one poll to the start of this one
                         //   (ends at this event); greenlets + callbacks run meanwhile
  BlockingCall = 0x25,   // sid call ("fsync()"); zz fd; duration ns (ends at this
                         //   event); stack id
  Crash = 0x26,          // signal; fault address; greenlet id; u8 flags
                         //   (kCrashStackOverflow); frame count; frames (lookup addresses)
  // Suspend: `current` switches to `hub`; the low 4 bits are the
  // SwitchReason. Fields: sid what; [wait fields].
  SuspendBase = 0x40,
  // Resume: `hub` switches to a greenlet; low 4 bits the SwitchReason
  // (Resume, Kill, Timeout...). Fields: zz (to - last_resumed).
  ResumeBase = 0x60,
};
inline constexpr std::uint8_t kReasonMask = 0x0F;
inline constexpr std::uint8_t kMaxTag = 0x6F;
inline constexpr std::uint8_t kFirstExtension = 0x20;
inline constexpr std::uint8_t kLastExtension = 0x3F;
inline constexpr std::uint8_t kCrashStackOverflow = 1;
// kMaxStackFrames bounds a recorded stack; a reader rejects more.
inline constexpr std::size_t kMaxStackFrames = 128;
// A stall without a StallEnd (or with end ticks 0) was still going on when
// the trace ended: an infinite loop, a deadlock, or a crash in the middle.
// Wait fields follow Switch and Suspend by reason: Io: fd, io events;
// Join: the joined greenlet's id; others: none.

// Enumerations carried in events, numerically equal to the runtime's
// (the tracer static_asserts it); the reader names them without the runtime.
enum class Reason : std::uint8_t {
  Resume, Yield, Sleep, Io, Event, Lock, Queue, Join, Idle, Wait, Kill, Timeout, Exit, LoopExit
};
inline constexpr std::uint8_t kReasonCount = 14;
enum class ExitKind : std::uint8_t { Returned, Failed, Killed, NeverStarted };
enum class WatcherKind : std::uint8_t { Io, Timer, Prepare, Check, Idle, Async, Signal, Child };
inline constexpr std::uint8_t kWatcherKindCount = 8;
// StallOwner: what held the hub's thread during a stall.
enum class StallOwner : std::uint8_t { Greenlet, Hub, Callback, Watcher };
// StallKind: CpuBound when the stall's verdict is cpu-bound (before 2.2:
// when it used over half its wall time on the CPU), else Blocked. Readers
// judge the verdict itself again (stall_verdict.h): blocked in which call,
// mixed with shares, starved.
enum class StallKind : std::uint8_t { CpuBound, Blocked };

// kMaxInlineString caps an inline string; longer texts are cut (the writer
// cuts at a UTF-8 character boundary; a reader must not count on it).
inline constexpr std::size_t kMaxInlineString = 2048;

// ---------------------------------------------------------------------------
// [SECTION] Varints (LEB128) and zigzag
// ---------------------------------------------------------------------------

inline constexpr std::size_t kMaxVarint = 10;

inline std::uint8_t* put_varint(std::uint8_t* p, std::uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<std::uint8_t>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<std::uint8_t>(v);
  return p;
}

inline std::uint64_t zigzag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
inline std::int64_t unzigzag(std::uint64_t v) {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

// get_varint() reads a varint from [p, end); false on a truncated or
// over-long one, leaving p unspecified.
inline bool get_varint(const std::uint8_t*& p, const std::uint8_t* end, std::uint64_t& out) {
  std::uint64_t v = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (p == end) return false;
    const std::uint8_t b = *p++;
    v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) {
      out = v;
      return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------
// [SECTION] CRC-32C (Castagnoli), as iSCSI and ext4 use it
// ---------------------------------------------------------------------------

std::uint32_t crc32c(const void* data, std::size_t size, std::uint32_t crc = 0);

inline std::uint32_t header_crc(const ChunkHeader& h) {
  return crc32c(&h, offsetof(ChunkHeader, header_crc));
}

}  // namespace gs::trace_format
