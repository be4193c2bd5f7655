// load_state.h: what the loader gathers before it builds a Trace. The chunk
// walk fills it in file order; block decoding runs after the walk, when
// every Strings and Calibration chunk is known.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "greenscope/traceio.h"
#include "progress.h"

namespace gs::traceio::detail {

// kMaxProblems caps the list: garbage can make a problem per event, and
// nobody reads past the first screenful.
inline constexpr std::size_t kMaxProblems = 1000;

// Slice is one Events chunk's bytes; `data` points into the file buffer
// (null when scan() walked the file: it reads them again by file_offset).
struct Slice {
  std::uint32_t thread = 0;
  std::uint32_t block_seq = 0;
  std::uint32_t offset = 0;       // inside the block
  std::uint64_t file_offset = 0;  // of data[0]
  const std::uint8_t* data = nullptr;
  std::uint32_t size = 0;
};

struct CalibrationPair {
  std::uint64_t ticks = 0;
  std::uint64_t mono_ns = 0;
};

// Texts interns strings: equal texts share one index; 0 is "".
class Texts {
 public:
  Texts() {
    texts_.emplace_back();
    index_.emplace(std::string(), 0);
  }
  std::uint32_t intern(std::string_view text);
  const std::string& at(std::uint32_t index) const { return texts_[index]; }
  std::size_t size() const { return texts_.size(); }
  std::vector<std::string> take() { return std::move(texts_); }

 private:
  // Hash lets index_ be searched with a string_view, without a copy.
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };

  std::vector<std::string> texts_;
  std::unordered_map<std::string, std::uint32_t, Hash, std::equal_to<>> index_;
};

struct LoadState {
  std::string path;
  std::uint64_t file_size = 0;
  ProcessInfo process;
  bool have_process = false;
  std::uint64_t start_ticks = 0;
  std::uint64_t start_mono_ns = 0;
  std::vector<CalibrationPair> calibrations;  // Calibration chunks, file order
  std::map<std::uint32_t, ThreadInfo> threads;
  Texts texts;
  std::unordered_map<std::uint64_t, std::uint32_t> string_ids;  // writer id -> text index
  std::set<std::uint64_t> missing_string_ids;                   // already reported
  std::vector<Slice> slices;
  // first_block_ticks: the smallest BlockStart tick count of the slices
  // that open a block, UINT64_MAX if none (time_anchor()).
  std::uint64_t first_block_ticks = UINT64_MAX;
  // begin_ns/end_ns bound every decoded event (Trace::begin_ns()/end_ns()).
  std::int64_t begin_ns = 0, end_ns = 0;
  // Since 2.0: the tables the Modules, Stacks, Symbols and RunInfo chunks
  // fill in the walk, and the ones the extension events fill in decoding.
  std::map<std::uint64_t, ModuleInfo> modules;
  std::map<std::uint64_t, std::vector<std::uint64_t>> stacks;
  std::unordered_map<std::uint64_t, std::vector<SymbolScope>> symbols;
  std::vector<std::pair<std::uint64_t, RunInfoDump>> run_infos;  // with absolute ticks, for the clock
  std::map<std::uint64_t, StallInfo> stalls;                     // by stall id
  std::map<std::uint64_t, std::int64_t> stall_end_records;       // stall id -> its StallEnd's time
  std::vector<CrashInfo> crashes;
  std::uint64_t next_synthetic_stack = Trace::kFirstSyntheticStack;
  // Stack ids events used that no Stacks chunk defined: reported once, in
  // one problem, at the first use's offset.
  std::set<std::uint64_t> missing_stacks;
  std::uint64_t first_missing_stack_offset = 0;
  std::vector<Problem> problems;
  std::size_t problems_suppressed = 0;
  FileStats stats;
  // greenlets: built while scan() decodes (greenlets_built), since it
  // keeps no events to build them from at the end.
  std::map<std::uint64_t, GreenletInfo> greenlets;
  bool greenlets_built = false;
  // hub_started: threads whose decoded events include a HubStart (merging
  // shards of one thread needs to know which one named its hub last).
  std::set<std::uint32_t> hub_started;

  // problem() records damage at file offset `offset`, up to kMaxProblems.
  void problem(std::uint64_t offset, std::string message);
  // thread() is the thread with `index`, created as "thread <index>" if no
  // Thread chunk named it.
  ThreadInfo& thread(std::uint32_t index);
  // use_stack() notes a stack id an event refers to (0 is "none").
  void use_stack(std::uint64_t id, std::uint64_t offset);
  // add_synthetic_stack() files `frames` under an id no Stacks chunk used.
  std::uint64_t add_synthetic_stack(std::vector<std::uint64_t> frames);
};

// check_header() returns "" for a file header this reader can follow, or
// why not (without the path).
std::string check_header(const std::uint8_t* data, std::size_t size, trace_format::FileHeader& h);

// walk_chunks() validates every chunk from `offset` on, resyncing past
// damage, and files each chunk's contents into `state`.
void walk_chunks(const std::uint8_t* file, std::size_t offset, LoadState& state);

class ChunkSource;
// walk_chunks() from a ChunkSource: the file need not be in memory.
void walk_chunks(ChunkSource& source, std::size_t offset, LoadState& state);

// walk_new_chunks() walks file bytes [base, size), held at `data`, of a file
// still being written: it stops before a chunk the writer has not finished
// (and returns its offset, where the next walk starts); damage before that
// is reported and skipped as walk_chunks() does.
std::size_t walk_new_chunks(const std::uint8_t* data, std::size_t base, std::size_t size, LoadState& state);

class ClockFit;

// decode_events() assembles the slices into blocks and decodes them into
// the threads' event lists, in time order: on several threads when
// options.decode_threads says so (decode_sharded()).
void decode_events(LoadState& state, Progress& progress, const LoadOptions& options);

// kParallelEventBytes: below this many event bytes, decode_threads = 0
// decodes on the calling thread (a thread costs more than it saves).
inline constexpr std::uint64_t kParallelEventBytes = 4u << 20;

// time_anchor() is the smallest BlockStart tick count of the slices: time
// zero for a file with neither a Process record nor calibration.
std::uint64_t time_anchor(const std::vector<Slice>& slices);

// prepare_decode() sorts the slices into decoding order (thread, block,
// offset), fits the clock and dates the run-info dumps with it.
ClockFit prepare_decode(LoadState& state);

// decode_block_slices() decodes the block made of slices [first, last)
// into `state`, as decode_slices() does each block.
void decode_block_slices(LoadState& state, const ClockFit& clock, const Slice* first, const Slice* last);

// decoding_copy() is a LoadState with what decoding reads from `main` after
// the walk (texts, string ids, stacks, the threads as the walk left them,
// the slices): decoding it again gives the same events, texts and ids.
LoadState decoding_copy(const LoadState& main);
// decoding_copy(main, from, to) copies only the threads that slices [from, to) fill.
LoadState decoding_copy(const LoadState& main, std::size_t from, std::size_t to);

// Steps of a read that load() and scan() share, in this order: begin_read()
// after the file header, end_walk() after the chunk walk, end_decode()
// after the events are decoded and state.begin_ns/end_ns are set, then
// build_trace().
void begin_read(const trace_format::FileHeader& h, LoadState& state);
void end_walk(LoadState& state);
void end_decode(LoadState& state);
std::unique_ptr<Trace> build_trace(LoadState& state);

// block_starts() lists the index of each block's first slice in the sorted
// slices, and slices.size() last.
std::vector<std::size_t> block_starts(const std::vector<Slice>& slices);

// decode_slices() decodes the blocks of state.slices[from, to) (block
// boundaries) into `state`; on_block(bytes) after each, false stops.
void decode_slices(LoadState& state, const ClockFit& clock, std::size_t from, std::size_t to,
                   const std::function<bool(std::uint64_t bytes)>& on_block);

// decode_sharded() decodes the blocks on `threads` threads, each into a
// LoadState of its own, and merges them in block order: the same events,
// texts and tables as decoding on one thread. It gives up (false, `state`
// untouched) when a shard found damage or a stall's events fell in two
// shards, where only the serial order says what the result is.
bool decode_sharded(LoadState& state, const ClockFit& clock, Progress& progress, unsigned threads);

// build_greenlets() summarizes the greenlets from the decoded events.
std::map<std::uint64_t, GreenletInfo> build_greenlets(const LoadState& state);

// finish_stalls() orders the stalls and their samples and works out each
// one's known duration; `trace_end_ns` bounds the ones that never ended.
// It also reports the stack ids no Stacks chunk defined.
std::vector<StallInfo> finish_stalls(LoadState& state, std::int64_t trace_end_ns);

// stall_list() is finish_stalls() for a copy of the stalls (a Follower's,
// which go on growing), without the problem report.
std::vector<StallInfo> stall_list(std::map<std::uint64_t, StallInfo> by_id,
                                  const std::map<std::uint64_t, std::int64_t>& end_records,
                                  std::int64_t trace_end_ns);

}  // namespace gs::traceio::detail
