// stack_pool.h: greenlet stacks, mmap'ed with a guard page while the process
// stays under its guarded-stack cap, recycled through a per-hub cache.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "greenscope/detail/greenlet_base.h"

namespace gs::detail {

// kStackCanary is written at the lowest word of every unguarded stack and
// checked whenever its greenlet switches out.
inline constexpr std::uint64_t kStackCanary = 0x6773'5354'4b43'414eULL;  // "gsSTKCAN"

// StackPool hands out stacks of one size. One per hub; not thread-safe.
class StackPool {
 public:
  StackPool(std::size_t stack_size, std::size_t cache_limit);
  ~StackPool();
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;

  // acquire() returns a stack; throws gs::ResourceError (errno text and
  // what to do) when the kernel refuses the mapping.
  StackRange acquire();
  // reserve() makes sure the next acquire() will not fail: maps a stack
  // into the cache if it is empty (beyond the cache's limit, by one). Throws
  // as acquire() does.
  void reserve();
  // release() returns a stack acquired from this pool.
  void release(const StackRange& stack);

  std::size_t stack_size() const { return stack_size_; }

  // canary_intact() checks an unguarded stack's canary.
  static bool canary_intact(const StackRange& stack) {
    return stack.guarded || *reinterpret_cast<const std::uint64_t*>(stack.lo) == kStackCanary;
  }

  // guarded_in_use() is the process-wide count of live guarded stacks.
  static std::size_t guarded_in_use();
  // guarded_cap() is the process-wide cap (RuntimeOptions::max_guarded_stacks).
  static std::size_t guarded_cap();

 private:
  void unmap(const StackRange& stack);

  std::size_t stack_size_;
  std::size_t cache_limit_;
  std::vector<StackRange> cache_;
};

// thread_stack_range() is the calling OS thread's own stack (for the main
// greenlet), from pthread_getattr_np.
StackRange thread_stack_range();

}  // namespace gs::detail
