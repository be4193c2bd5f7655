// greenlet_memory.cpp: the per-thread cache of greenlet blocks.
//
// Why the runtime keeps its greenlets' memory rather than leaving it to
// malloc: a server spawns and frees greenlets in waves (a batch of
// connections, a fan-out joined together). Freed together, glibc coalesces
// them into the top of its heap and trims the heap once more than 128 KiB
// is free there; the next wave faults the same pages in again. A batch of
// 1,000 greenlets spawned and joined paid 45 to 270 ns per greenlet for it,
// by VM (docs/benchmarks.md, "Greenlet blocks kept per thread").
#include "greenscope/detail/greenlet_memory.h"

#include <new>

#include "cache_decay.h"

// ASan's own macros: no-ops in a build without ASan.
#include <sanitizer/asan_interface.h>

namespace gs::detail {

namespace {

// Each class keeps at least this many blocks however long they go unused:
// a program that spawns now and then should not go to the heap each time.
constexpr std::size_t kFloorBlocks = 64;

constexpr std::size_t block_bytes(std::size_t size_class) { return (size_class + 1) * kGreenletBlockGrain; }

// FreeBlock is a cached block: its first word links it to the next.
struct FreeBlock {
  FreeBlock* next;
};

// BlockList is one class's cached blocks, most recently freed first.
struct BlockList {
  FreeBlock* head = nullptr;
  std::size_t count = 0;
  CacheDecay decay{kFloorBlocks};
};

// pop() unlinks the most recently freed block; precondition: count > 0.
void* pop(BlockList& list, std::size_t bytes) {
  FreeBlock* b = list.head;
  ASAN_UNPOISON_MEMORY_REGION(b, bytes);
  list.head = b->next;
  --list.count;
  return b;
}

void push(BlockList& list, void* block, std::size_t bytes) {
  auto* b = static_cast<FreeBlock*>(block);
  b->next = list.head;
  ASAN_POISON_MEMORY_REGION(b, bytes);
  list.head = b;
  ++list.count;
}

void give_back(BlockList& list, std::size_t count, std::size_t bytes) {
  for (; count > 0 && list.count > 0; --count) ::operator delete(pop(list, bytes));
}

// BlockCache is a thread's cache; it gives everything back when the thread
// ends. A block freed after that (a greenlet dropped by another
// thread-local's destructor) goes to the heap.
struct BlockCache;
constinit thread_local BlockCache* tls_cache __attribute__((tls_model("initial-exec"))) = nullptr;
constinit thread_local bool tls_cache_gone __attribute__((tls_model("initial-exec"))) = false;

struct BlockCache {
  BlockList lists[kGreenletBlockClasses];
  ~BlockCache() {
    tls_cache = nullptr;
    tls_cache_gone = true;
    for (std::size_t c = 0; c < kGreenletBlockClasses; ++c) give_back(lists[c], lists[c].count, block_bytes(c));
  }
};

[[gnu::noinline]] BlockCache* first_use() {
  if (tls_cache_gone) return nullptr;
  static thread_local BlockCache cache;
  tls_cache = &cache;
  return tls_cache;
}

BlockCache* this_thread_cache() {
  if (tls_cache != nullptr) [[likely]] return tls_cache;
  return first_use();
}

}  // namespace

void* take_greenlet_block(std::size_t size_class) {
  const std::size_t bytes = block_bytes(size_class);
  BlockCache* cache = this_thread_cache();
  if (cache == nullptr || cache->lists[size_class].count == 0) return ::operator new(bytes);
  BlockList& list = cache->lists[size_class];
  void* block = pop(list, bytes);
  list.decay.taken(list.count);
  if (const std::size_t due = list.decay.due(list.count); due > 0) give_back(list, due, bytes);
  return block;
}

void give_greenlet_block(void* block, std::size_t size_class) noexcept {
  const std::size_t bytes = block_bytes(size_class);
  BlockCache* cache = this_thread_cache();
  if (cache == nullptr) return ::operator delete(block);
  BlockList& list = cache->lists[size_class];
  push(list, block, bytes);
  if (const std::size_t due = list.decay.due(list.count); due > 0) give_back(list, due, bytes);
}

std::size_t greenlet_blocks_cached() {
  const BlockCache* cache = this_thread_cache();
  std::size_t n = 0;
  if (cache != nullptr) {
    for (const BlockList& list : cache->lists) n += list.count;
  }
  return n;
}

}  // namespace gs::detail
