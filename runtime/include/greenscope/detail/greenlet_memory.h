// greenlet_memory.h: the memory spawn() puts a greenlet (and its shared_ptr
// control block) in: blocks the thread keeps for the greenlets to come, so
// that a server spawning and freeing greenlets does not go to the heap for
// each (greenlet_memory.cpp says why that matters).
#pragma once

#include <cstddef>
#include <memory>
#include <new>

namespace gs::detail {

// Blocks come in classes of kGreenletBlockGrain bytes, up to
// kGreenletBlockClasses of them; larger greenlets (a lambda capturing much)
// go to the heap each time.
inline constexpr std::size_t kGreenletBlockGrain = 32;
inline constexpr std::size_t kGreenletBlockClasses = 32;  // up to 1 KiB

// take_greenlet_block() returns a block of (size_class + 1) grains from the
// calling thread's cache, or from operator new when the cache has none;
// throws std::bad_alloc as operator new does.
void* take_greenlet_block(std::size_t size_class);
// give_greenlet_block() returns a block from take_greenlet_block() of the
// same class, on any thread: it goes to that thread's cache, which gives
// back to the heap what it has not needed for a second (beyond a few).
void give_greenlet_block(void* block, std::size_t size_class) noexcept;
// greenlet_blocks_cached() counts the blocks the calling thread's cache
// holds, all classes: for tests and benchmarks.
std::size_t greenlet_blocks_cached();

// GreenletAllocator is the allocator spawn() hands std::allocate_shared().
template <class T>
struct GreenletAllocator {
  using value_type = T;

  GreenletAllocator() = default;
  template <class U>
  GreenletAllocator(const GreenletAllocator<U>&) noexcept {}  // NOLINT: rebinding converts implicitly

  static constexpr std::size_t kClass = (sizeof(T) + kGreenletBlockGrain - 1) / kGreenletBlockGrain - 1;
  static constexpr bool kCached =
      kClass < kGreenletBlockClasses && alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__;

  T* allocate(std::size_t n) {
    if constexpr (kCached) {
      if (n == 1) return static_cast<T*>(take_greenlet_block(kClass));
    }
    return std::allocator<T>{}.allocate(n);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if constexpr (kCached) {
      if (n == 1) return give_greenlet_block(p, kClass);
    }
    std::allocator<T>{}.deallocate(p, n);
  }

  template <class U>
  bool operator==(const GreenletAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace gs::detail
