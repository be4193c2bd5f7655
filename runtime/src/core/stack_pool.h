// stack_pool.h: greenlet stacks, carved from slabs of many stacks, each
// below a guard page, and recycled through a per-hub cache that keeps what
// the program recently used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cache_decay.h"
#include "greenscope/detail/greenlet_base.h"

namespace gs::detail {

// kStackCanary is written at the lowest word of every unguarded stack and
// checked whenever its greenlet switches out.
inline constexpr std::uint64_t kStackCanary = 0x6773'5354'4b43'414eULL;  // "gsSTKCAN"

struct StackSlab;

// StackPool hands out stacks of one size. One per hub; not thread-safe.
//
// Stacks are carved from slabs: one mapping of up to 256 stacks (8 for the
// first slab, doubling), each with its guard page below it, so that a burst
// of spawns costs one mmap per slab rather than one per stack. Where the
// kernel has guard regions (MADV_GUARD_INSTALL, Linux 6.13) a slab's guards
// are installed in one call and cost no memory mapping, so every stack is
// guarded; elsewhere each guard is an mprotect()ed page that splits the
// mapping, capped as before (RuntimeOptions::max_guarded_stacks), and the
// stacks past the cap carry a canary.
//
// Freed stacks stay warm (their pages in place) while the program might want
// them again: at least `cache_limit` of them, and any that were taken again
// within the last second. Freed stacks that sat unused for a whole second
// beyond `cache_limit` are given back, a slab's worth at a time (the
// decay's kMostPerCall): a slab none of whose stacks is in use is unmapped,
// other stacks lose their pages (MADV_DONTNEED) and are kept as address
// space. Like jemalloc's decay without a background thread, this runs as
// stacks are taken and returned, not while the hub is idle.
class StackPool {
 public:
  StackPool(std::size_t stack_size, std::size_t cache_limit);
  ~StackPool();
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;

  // acquire() returns a stack; throws gs::ResourceError (errno text and
  // what to do) when the kernel refuses the mapping.
  StackRange acquire();
  // reserve() makes sure the next acquire() will not fail: maps a slab if
  // no stack is free and the current slab is used up. Throws as acquire().
  void reserve();
  // next_top() is the top of the stack acquire() would hand out next if one
  // is warm, else 0: to prefetch.
  std::uintptr_t next_top() const { return warm_.empty() ? 0 : warm_.back().hi; }
  // release() returns a stack acquired from this pool.
  void release(const StackRange& stack);

  std::size_t stack_size() const { return stack_size_; }

  // Counts, for tests and benchmarks: free stacks with their pages
  // (`warm_free`), free stacks whose pages were given back (`cold_free`),
  // slabs mapped.
  std::size_t warm_free() const { return warm_.size(); }
  std::size_t cold_free() const { return cold_.size(); }
  std::size_t slabs() const { return slab_count_; }
  // trim_now() gives back what the decay would give back if a second had
  // passed since the last look: for tests.
  void trim_now();

  // canary_intact() checks an unguarded stack's canary.
  static bool canary_intact(const StackRange& stack) {
    return stack.guarded || *reinterpret_cast<const std::uint64_t*>(stack.lo) == kStackCanary;
  }

  // guarded_in_use() is the process-wide count of live guarded stacks.
  static std::size_t guarded_in_use();
  // guarded_cap() is the process-wide cap: RuntimeOptions::max_guarded_stacks
  // when set, else none where guard regions exist, else 40 % of
  // vm.max_map_count's worth of mappings.
  static std::size_t guarded_cap();
  // guard_regions() says whether this kernel has MADV_GUARD_INSTALL and
  // whether the pool uses it. set_guard_regions_for_testing() turns its use
  // off (or back on where the kernel has them), for tests of the fallback;
  // call it while no pool holds a slab.
  static bool guard_regions();
  static void set_guard_regions_for_testing(bool use);

 private:
  StackSlab* slab_of(const StackRange& stack) const;
  StackSlab* map_slab();
  StackRange carve(StackSlab& slab);
  void guard_one(StackSlab& slab, StackRange& stack);
  void take_from(StackSlab& slab, StackRange& stack);
  void note_activity();
  void trim(std::size_t count);
  void unmap_slab(StackSlab* slab);

  std::size_t stack_size_;
  std::size_t stride_;      // a stack and the guard page below it
  std::size_t max_per_slab_;
  std::size_t next_per_slab_;
  CacheDecay decay_;  // which warm stacks to give back; its floor is cache_limit
  StackSlab* slabs_ = nullptr;   // every slab, newest first
  StackSlab* carving_ = nullptr; // the slab new stacks are carved from
  std::size_t slab_count_ = 0;
  std::vector<StackRange> warm_;  // freed, pages in place; most recent last
  std::vector<StackRange> cold_;  // freed, pages given back
};

// thread_stack_range() is the calling OS thread's own stack (for the main
// greenlet), from pthread_getattr_np.
StackRange thread_stack_range();

}  // namespace gs::detail
