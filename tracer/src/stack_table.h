// stack_table.h: the session's stacks (wait stacks, stall samples, blocking
// calls), each stored once and named by a StackEntry id from 1.
//
// A hook that has a stack looks it up through its thread's StackCache: a
// small direct-mapped cache keyed by a hash of the frames, whose hit takes no
// lock (the frames are compared, never the hash alone). A miss takes the
// table's mutex, adds the stack if it is new and queues it for the writer,
// which writes it as a Stacks chunk before the events that name it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "greenscope/stacks.h"
#include "greenscope/trace_format.h"

namespace gs::trace::detail {

// kMaxRecordedFrames bounds every stack the tracer stores: what the runtime
// captures and what a reader accepts.
inline constexpr std::size_t kMaxRecordedFrames = std::min(trace_format::kMaxStackFrames, gs::kMaxStackDepth);

// hash_frames() mixes every frame, with its position. Two lanes of
// independent multiplies rather than one chain: 16 frames hash in a few ns.
inline std::uint64_t hash_frames(const std::uintptr_t* frames, std::size_t n) {
  constexpr std::uint64_t kOdd = 0x9E3779B97F4A7C15ull, kMul = 0xFF51AFD7ED558CCDull;
  std::uint64_t a = n, b = 0;
  std::size_t i = 0;
  for (; i + 1 < n; i += 2) {
    a += (frames[i] ^ (i * kOdd)) * kMul;
    b += (frames[i + 1] ^ ((i + 1) * kOdd)) * kMul;
  }
  if (i < n) a += (frames[i] ^ (i * kOdd)) * kMul;
  const std::uint64_t h = (a ^ ((b << 29) | (b >> 35))) * kOdd;
  return h ^ (h >> 32);
}

// StackEntry is one distinct stack; immutable once added, and never moved
// (caches point at its frames) until the session ends.
struct StackEntry {
  std::uint32_t id = 0;
  std::vector<std::uintptr_t> frames;
};

class StackTable {
 public:
  // insert() returns the entry holding `frames`, adding it (and queuing it
  // for the writer) if new. Takes the lock. Precondition: 0 < n <=
  // kMaxRecordedFrames.
  const StackEntry& insert(const std::uintptr_t* frames, std::size_t n, std::uint64_t hash);
  // note_addresses() queues code addresses that belong to no stack (a
  // crash's inline frames) for symbolization.
  void note_addresses(const std::uintptr_t* frames, std::size_t n);

  // take_new() hands the writer the stacks added since its last call, and
  // the addresses noted since. Entries stay valid for the session.
  void take_new(std::vector<const StackEntry*>& stacks, std::vector<std::uintptr_t>& addresses);
  // all() lists every stack of the session (a flight-recorder dump).
  std::vector<const StackEntry*> all();

 private:
  std::mutex mutex_;
  std::deque<StackEntry> entries_;  // deque: push_back never moves an entry
  std::unordered_multimap<std::uint64_t, const StackEntry*> by_hash_;
  std::vector<const StackEntry*> pending_;
  std::vector<std::uintptr_t> pending_addresses_;
};

// StackCache is one thread's memo of stacks it has already looked up.
// Producer only; cleared when the session ends (ThreadStream::reset()).
struct StackCache {
  static constexpr std::size_t kSlots = 256;
  struct Slot {
    std::uint64_t hash = 0;
    const std::uintptr_t* frames = nullptr;  // the table's copy
    std::uint32_t count = 0;
    std::uint32_t id = 0;
  };
  Slot slots[kSlots];
};

// insert_and_cache() is cached_stack_id()'s miss: the table (a lock), then
// the slot.
[[gnu::cold]] std::uint32_t insert_and_cache(StackCache& cache, StackTable& table, const std::uintptr_t* frames,
                                             std::size_t n, std::uint64_t hash);

// cached_stack_id() is the table id of `frames`, 0 for an empty stack.
// Lock-free on a hit.
inline std::uint32_t cached_stack_id(StackCache& cache, StackTable& table, const std::uintptr_t* frames,
                                     std::size_t n) {
  if (n == 0) return 0;
  n = std::min(n, kMaxRecordedFrames);
  const std::uint64_t hash = hash_frames(frames, n);
  const StackCache::Slot& slot = cache.slots[hash % StackCache::kSlots];
  if (slot.hash == hash && slot.count == n && std::memcmp(slot.frames, frames, n * sizeof *frames) == 0)
    [[likely]] return slot.id;
  return insert_and_cache(cache, table, frames, n, hash);
}

}  // namespace gs::trace::detail
