// sharded_decode.cpp: decode_sharded() (load_state.h). The sorted blocks are
// cut into one contiguous run per thread, each decoded into a LoadState of
// its own (a shard), then merged in block order. Decoding one thread's
// blocks after another's is what the serial loop does, so merging in that
// order gives the same result: texts interned in the same order, events
// appended in the same order. Damage is the exception: which shard reports
// a missing string id first depends on the order, so a shard with problems
// sends the whole load back to the serial loop.
#include <atomic>
#include <exception>
#include <thread>

#include "clock_fit.h"
#include "load_state.h"

namespace gs::traceio::detail {
namespace {

struct Shard {
  std::size_t from = 0, to = 0;  // slice indices, block boundaries
  LoadState state;
  std::size_t first_text = 0;    // texts before this index are the walk's
  std::exception_ptr failure;
};

// cut() splits the blocks into `n` runs of about equal bytes. A cut moves
// to a thread boundary within a quarter run of it: a thread decoded by two
// shards is copied once more when they are merged.
std::vector<std::pair<std::size_t, std::size_t>> cut(const std::vector<Slice>& slices, unsigned n) {
  const std::vector<std::size_t> starts = block_starts(slices);
  std::vector<std::uint64_t> before(starts.size(), 0);  // bytes before each block
  for (std::size_t b = 0; b + 1 < starts.size(); ++b) {
    before[b + 1] = before[b];
    for (std::size_t i = starts[b]; i < starts[b + 1]; ++i) before[b + 1] += slices[i].size;
  }
  const std::uint64_t total = before.back(), slack = total / (4 * n);
  std::vector<std::pair<std::size_t, std::size_t>> runs;
  std::size_t from = 0, b = 0;
  for (unsigned k = 1; k < n; ++k) {
    const std::uint64_t goal = total * k / n;
    while (b + 1 < starts.size() && before[b] < goal) ++b;  // the first block start at or past the goal
    if (b == 0) continue;  // nothing to decode before the goal
    std::size_t at = b;
    for (std::size_t c = 1; c + 1 < starts.size(); ++c) {
      const bool thread_starts = slices[starts[c]].thread != slices[starts[c - 1]].thread;
      const std::uint64_t off = before[c] > goal ? before[c] - goal : goal - before[c];
      const std::uint64_t best = before[at] > goal ? before[at] - goal : goal - before[at];
      if (thread_starts && off <= slack && (off < best || slices[starts[at]].thread == slices[starts[at - 1]].thread)) at = c;
    }
    if (starts[at] <= from || starts[at] >= slices.size()) continue;
    runs.emplace_back(from, starts[at]);
    from = starts[at];
  }
  if (from < slices.size()) runs.emplace_back(from, slices.size());
  return runs;
}

// make_shard() copies what decoding reads from `main` (strings, stacks, the
// threads it will fill as the walk left them); it shares the slices.
void make_shard(const LoadState& main, Shard& shard) {
  shard.state = decoding_copy(main, shard.from, shard.to);
  shard.first_text = main.texts.size();
}

}  // namespace

LoadState decoding_copy(const LoadState& main) { return decoding_copy(main, 0, main.slices.size()); }

LoadState decoding_copy(const LoadState& main, std::size_t from, std::size_t to) {
  LoadState s;
  s.path = main.path;
  s.file_size = main.file_size;
  s.process = main.process;
  s.texts = main.texts;
  s.string_ids = main.string_ids;
  s.missing_string_ids = main.missing_string_ids;
  s.stacks = main.stacks;
  s.next_synthetic_stack = main.next_synthetic_stack;
  s.missing_stacks = main.missing_stacks;
  s.first_missing_stack_offset = main.first_missing_stack_offset;
  for (std::size_t i = from; i < to; ++i) {
    const auto it = main.threads.find(main.slices[i].thread);
    if (it != main.threads.end()) s.threads.try_emplace(it->first, it->second);
  }
  s.slices = main.slices;  // the Slice list only: data still points into the file
  return s;
}

namespace {

// mergeable() is false when the shards cannot be merged into what the
// serial loop makes: damage, a stall seen by two shards, crash stacks
// numbered by two shards.
bool mergeable(const LoadState& main, const std::vector<Shard>& shards) {
  std::set<std::uint64_t> stalls;
  int synthetic = 0;
  for (const Shard& shard : shards) {
    const LoadState& s = shard.state;
    if (shard.failure || !s.problems.empty() || s.problems_suppressed != 0) return false;
    if (s.next_synthetic_stack != main.next_synthetic_stack && ++synthetic > 1) return false;
    for (const auto& entry : s.stalls)
      if (!stalls.insert(entry.first).second) return false;
  }
  return true;
}

// merge_thread() adds a shard's events of one thread after the earlier
// shards'. The hub a HubStart names wins; a BlockStart's only if none was known.
void merge_thread(ThreadInfo& into, ThreadInfo&& from, bool from_hub_started) {
  if (from_hub_started || !into.has_hub) {
    into.has_hub = from.has_hub;
    into.hub_greenlet = from.hub_greenlet;
    into.main_greenlet = from.main_greenlet;
  }
  into.events.reserve(into.events.size() + from.events.size());  // exactly: no doubling on a big thread
  into.events.insert(into.events.end(), from.events.begin(), from.events.end());
}

void add_stats(FileStats& into, const FileStats& from) {
  into.events += from.events;
  for (std::size_t i = 0; i < kEventTypeCount; ++i) {
    into.count[i] += from.count[i];
    into.encoded_bytes[i] += from.encoded_bytes[i];
  }
  into.dropped += from.dropped;
  into.extensions_skipped_unknown += from.extensions_skipped_unknown;
}

// merge() moves one shard into `main`; `filled` lists the threads an
// earlier shard already filled.
void merge(LoadState& main, Shard& shard, std::set<std::uint32_t>& filled) {
  LoadState& s = shard.state;
  std::vector<std::uint32_t> text(s.texts.size());
  for (std::size_t id = 0; id < text.size(); ++id)
    text[id] = id < shard.first_text ? static_cast<std::uint32_t>(id) : main.texts.intern(s.texts.at(static_cast<std::uint32_t>(id)));
  for (auto& [index, thread] : s.threads) {
    for (Event& e : thread.events) e.str = text[e.str];
    if (filled.insert(index).second) {
      main.threads.insert_or_assign(index, std::move(thread));
    } else {
      merge_thread(main.threads.at(index), std::move(thread), s.hub_started.contains(index));
    }
  }
  add_stats(main.stats, s.stats);
  main.hub_started.merge(s.hub_started);
  main.stalls.merge(s.stalls);
  main.stall_end_records.merge(s.stall_end_records);
  main.crashes.insert(main.crashes.end(), s.crashes.begin(), s.crashes.end());
  if (s.next_synthetic_stack != main.next_synthetic_stack) {
    for (std::uint64_t id = s.next_synthetic_stack + 1; id <= main.next_synthetic_stack && id != 0; ++id)
      if (const auto it = s.stacks.find(id); it != s.stacks.end()) main.stacks.insert_or_assign(id, std::move(it->second));
    main.next_synthetic_stack = s.next_synthetic_stack;
  }
  if (main.missing_stacks.empty()) main.first_missing_stack_offset = s.first_missing_stack_offset;
  main.missing_stacks.merge(s.missing_stacks);
}

}  // namespace

bool decode_sharded(LoadState& state, const ClockFit& clock, Progress& progress, unsigned threads) {
  const auto runs = cut(state.slices, threads);
  if (runs.size() < 2) return false;
  std::vector<Shard> shards(runs.size());
  for (std::size_t k = 0; k < runs.size(); ++k) {
    shards[k].from = runs[k].first;
    shards[k].to = runs[k].second;
    make_shard(state, shards[k]);
  }
  std::atomic<std::uint64_t> done{0};
  std::atomic<bool> stop{false};
  const auto decode = [&](Shard& shard) {
    try {
      decode_slices(shard.state, clock, shard.from, shard.to, [&](std::uint64_t bytes) {
        done += bytes;
        return !stop.load(std::memory_order_relaxed);
      });
    } catch (...) {
      shard.failure = std::current_exception();
    }
  };
  {
    // Workers for all shards but the first; this thread decodes that one and
    // reports progress. A progress callback that throws (a cancel) stops the
    // workers before the exception leaves (Stop's destructor runs before the
    // jthreads' join).
    std::vector<std::jthread> workers;
    struct Stop {
      std::atomic<bool>& flag;
      ~Stop() { flag = true; }
    };
    for (std::size_t k = 1; k < shards.size(); ++k) workers.emplace_back([&decode, &shards, k] { decode(shards[k]); });
    const Stop stop_on_exit{stop};
    decode_slices(shards[0].state, clock, shards[0].from, shards[0].to, [&](std::uint64_t bytes) {
      done += bytes;
      progress.decoding(done.load(), state.stats.event_bytes);
      return true;
    });
    for (std::jthread& w : workers) w.join();
  }
  for (Shard& shard : shards)
    if (shard.failure) std::rethrow_exception(shard.failure);
  if (!mergeable(state, shards)) return false;
  std::set<std::uint32_t> filled;
  for (Shard& shard : shards) merge(state, shard, filled);
  progress.decoding(state.stats.event_bytes, state.stats.event_bytes);
  return true;
}

}  // namespace gs::traceio::detail
