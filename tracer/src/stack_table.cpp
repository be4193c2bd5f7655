#include "stack_table.h"

namespace gs::trace::detail {

const StackEntry& StackTable::insert(const std::uintptr_t* frames, std::size_t n, std::uint64_t hash) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto [first, last] = by_hash_.equal_range(hash);
  for (auto it = first; it != last; ++it) {
    const StackEntry& e = *it->second;
    if (e.frames.size() == n && std::equal(frames, frames + n, e.frames.begin())) return e;
  }
  StackEntry& e = entries_.emplace_back();
  e.id = static_cast<std::uint32_t>(entries_.size());
  e.frames.assign(frames, frames + n);
  by_hash_.emplace(hash, &e);
  pending_.push_back(&e);
  return e;
}

void StackTable::note_addresses(const std::uintptr_t* frames, std::size_t n) {
  std::lock_guard<std::mutex> lock(mutex_);
  pending_addresses_.insert(pending_addresses_.end(), frames, frames + n);
}

void StackTable::take_new(std::vector<const StackEntry*>& stacks, std::vector<std::uintptr_t>& addresses) {
  std::lock_guard<std::mutex> lock(mutex_);
  stacks.swap(pending_);
  pending_.clear();
  addresses.swap(pending_addresses_);
  pending_addresses_.clear();
}

std::vector<const StackEntry*> StackTable::all() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<const StackEntry*> out;
  out.reserve(entries_.size());
  for (const StackEntry& e : entries_) out.push_back(&e);
  return out;
}

std::uint32_t insert_and_cache(StackCache& cache, StackTable& table, const std::uintptr_t* frames, std::size_t n,
                               std::uint64_t hash) {
  const StackEntry& e = table.insert(frames, n, hash);
  StackCache::Slot& slot = cache.slots[hash % StackCache::kSlots];
  slot.hash = hash;
  slot.frames = e.frames.data();
  slot.count = static_cast<std::uint32_t>(n);
  slot.id = e.id;
  return e.id;
}

}  // namespace gs::trace::detail
