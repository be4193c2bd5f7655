// events_decode.cpp: from the slices of the Events chunks to each thread's
// time-ordered events. Slices of one block are concatenated in offset
// order; a gap cuts the block there, since an event stream cannot be
// entered in the middle.
#include <algorithm>
#include <cstring>
#include <string>
#include <thread>
#include <tuple>

#include "block_decoder.h"
#include "clock_fit.h"
#include "load_state.h"

namespace gs::traceio::detail {
namespace {

// kTypicalEventBytes: most events take 3 to 6 bytes (a tag, a tick delta,
// a field or two); reserving for 3 leaves a doubling to the rare stream of
// bare 2-byte events, and keeps the room reserved (address space, and
// what a strict overcommit policy counts) within 2x of what is used.
constexpr std::uint64_t kTypicalEventBytes = 3;

bool same_block(const Slice& x, const Slice& y) {
  return x.thread == y.thread && x.block_seq == y.block_seq;
}


// BlockAssembler concatenates one block's slices (sorted by offset).
class BlockAssembler {
 public:
  explicit BlockAssembler(LoadState& state) : state_(state) {}

  // assemble() joins slices [first, last) up to the first gap.
  const BlockBytes& assemble(const Slice* first, const Slice* last) {
    block_ = BlockBytes{first->thread, first->block_seq, nullptr, 0, {}};
    buffer_.clear();
    std::uint64_t expected = 0;
    for (const Slice* s = first; s != last; ++s) {
      const std::uint64_t end = std::uint64_t{s->offset} + s->size;
      if (s->offset > expected) {
        gap(*s, expected, last);
        break;
      }
      if (end <= expected) continue;  // a slice shipped twice
      const auto skip = static_cast<std::size_t>(expected - s->offset);
      block_.pieces.push_back(
          BlockPiece{static_cast<std::size_t>(expected), s->file_offset + skip});
      append(*s, skip);
      expected = end;
    }
    block_.size = buffer_.empty() ? block_.size : buffer_.size();
    if (!buffer_.empty()) block_.data = buffer_.data();
    return block_;
  }

 private:
  // append() adds a slice's bytes from `skip` on. A block shipped whole is
  // decoded in place; only a second piece makes a copy.
  void append(const Slice& s, std::size_t skip) {
    if (block_.pieces.size() == 1) {
      block_.data = s.data + skip;
      block_.size = s.size - skip;
      return;
    }
    if (buffer_.empty()) buffer_.assign(block_.data, block_.data + block_.size);
    buffer_.insert(buffer_.end(), s.data + skip, s.data + s.size);
  }

  void gap(const Slice& after, std::uint64_t from, const Slice* last) {
    std::uint64_t end = 0;
    for (const Slice* s = &after; s != last; ++s) {
      end = std::max(end, std::uint64_t{s->offset} + s->size);
    }
    state_.problem(after.file_offset,
                   "thread " + std::to_string(after.thread) + " block " +
                       std::to_string(after.block_seq) + ": block bytes " + std::to_string(from) +
                       ".." + std::to_string(after.offset) +
                       " are missing (a slice was lost or damaged); the events in block bytes " +
                       std::to_string(from) + ".." + std::to_string(end) + " are lost");
  }

  LoadState& state_;
  BlockBytes block_;
  std::vector<std::uint8_t> buffer_;
};

// sort_events() puts each thread's events in time order. Blocks decode in
// block_seq order, so the events normally are already.
void sort_events(LoadState& state) {
  auto earlier = [](const Event& x, const Event& y) { return x.time_ns < y.time_ns; };
  for (auto& [index, thread] : state.threads) {
    if (!std::is_sorted(thread.events.begin(), thread.events.end(), earlier)) {
      std::stable_sort(thread.events.begin(), thread.events.end(), earlier);
    }
  }
}

// set_bounds() bounds every event: the first and last of the sorted threads.
void set_bounds(LoadState& state) {
  bool any = false;
  for (const auto& [index, t] : state.threads) {
    if (t.events.empty()) continue;
    const std::int64_t first = t.events.front().time_ns, last = t.events.back().time_ns;
    state.begin_ns = any ? std::min(state.begin_ns, first) : first;
    state.end_ns = any ? std::max(state.end_ns, last) : last;
    any = true;
  }
}

// decode_threads() is how many threads decode_events() uses: one unless
// the caller asked for more, or left it to us and the events are many.
unsigned decode_threads(const LoadState& state, const LoadOptions& options) {
  if (options.decode_threads != 0) return options.decode_threads;
  if (state.stats.event_bytes < kParallelEventBytes) return 1;
  return std::max(1u, std::thread::hardware_concurrency());
}

// reserve_events() makes room for the events of slices [from, to) at
// kTypicalEventBytes each: growing a vector of millions of events by doubling
// copies it and faults its pages in twice. Room never written to costs no
// memory (the pages are not touched).
void reserve_events(LoadState& state, std::size_t from, std::size_t to) {
  std::map<std::uint32_t, std::uint64_t> bytes;
  for (std::size_t i = from; i < to; ++i) bytes[state.slices[i].thread] += state.slices[i].size;
  for (const auto& [index, n] : bytes) {
    std::vector<Event>& events = state.thread(index).events;
    events.reserve(events.size() + n / kTypicalEventBytes);
  }
}

}  // namespace

std::uint64_t time_anchor(const std::vector<Slice>& slices) {
  std::uint64_t anchor = UINT64_MAX;
  for (const Slice& s : slices) {
    std::uint64_t ticks = 0;
    if (s.offset == 0 && block_start_ticks(s.data, s.size, ticks)) anchor = std::min(anchor, ticks);
  }
  return anchor == UINT64_MAX ? 0 : anchor;
}

std::vector<std::size_t> block_starts(const std::vector<Slice>& slices) {
  std::vector<std::size_t> starts;
  for (std::size_t i = 0; i < slices.size(); ++i)
    if (i == 0 || !same_block(slices[i - 1], slices[i])) starts.push_back(i);
  starts.push_back(slices.size());
  return starts;
}

void decode_block_slices(LoadState& state, const ClockFit& clock, const Slice* first, const Slice* last) {
  BlockAssembler assembler(state);
  const BlockBytes& block = assembler.assemble(first, last);
  if (block.size > 0) decode_block(block, clock, state);
}

void decode_slices(LoadState& state, const ClockFit& clock, std::size_t from, std::size_t to,
                   const std::function<bool(std::uint64_t bytes)>& on_block) {
  const std::vector<Slice>& slices = state.slices;
  reserve_events(state, from, to);
  for (std::size_t i = from; i < to;) {
    std::size_t j = i + 1;
    std::uint64_t bytes = slices[i].size;
    for (; j < to && same_block(slices[i], slices[j]); ++j) bytes += slices[j].size;
    decode_block_slices(state, clock, &slices[i], &slices[i] + (j - i));
    if (!on_block(bytes)) return;
    i = j;
  }
}

ClockFit prepare_decode(LoadState& state) {
  std::stable_sort(state.slices.begin(), state.slices.end(), [](const Slice& x, const Slice& y) {
    return std::tie(x.thread, x.block_seq, x.offset) < std::tie(y.thread, y.block_seq, y.offset);
  });
  const std::uint64_t anchor = state.first_block_ticks == UINT64_MAX ? 0 : state.first_block_ticks;
  const ClockFit clock = ClockFit::fit(state, anchor);
  for (auto& [ticks, dump] : state.run_infos) dump.time_ns = clock.since_start(ticks);
  return clock;
}

void decode_events(LoadState& state, Progress& progress, const LoadOptions& options) {
  const std::vector<Slice>& slices = state.slices;
  const ClockFit clock = prepare_decode(state);
  const unsigned threads = decode_threads(state, options);
  if (threads < 2 || !decode_sharded(state, clock, progress, threads)) {
    std::uint64_t done = 0;
    decode_slices(state, clock, 0, slices.size(), [&](std::uint64_t bytes) {
      progress.decoding(done += bytes, state.stats.event_bytes);
      return true;
    });
  }
  sort_events(state);
  set_bounds(state);
}

}  // namespace gs::traceio::detail
