#include "stack_pool.h"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <string>
#include "greenscope/config.h"
#include "greenscope/errors.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

namespace gs::detail {
namespace {

std::atomic<std::size_t> g_guarded_in_use{0};

std::size_t page_size() {
  static const std::size_t size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

// default_guarded_cap() leaves most of vm.max_map_count to the rest of the
// program: each guarded stack costs two mappings (the guard splits it).
std::size_t default_guarded_cap() {
  std::size_t max_maps = 65530;
  std::ifstream in("/proc/sys/vm/max_map_count");
  if (in) in >> max_maps;
  return max_maps * 2 / 5 / 2;
}

std::size_t round_to_pages(std::size_t bytes) {
  const std::size_t page = page_size();
  return (bytes + page - 1) / page * page;
}

// try_reserve_guarded() claims one guarded slot if the cap allows.
bool try_reserve_guarded() {
  const std::size_t cap = StackPool::guarded_cap();
  std::size_t used = g_guarded_in_use.load(std::memory_order_relaxed);
  while (used < cap) {
    if (g_guarded_in_use.compare_exchange_weak(used, used + 1, std::memory_order_relaxed)) return true;
  }
  return false;
}

[[noreturn]] void throw_map_error(int err, std::size_t bytes) {
  throw ResourceError(err, "greenscope: cannot map a " + std::to_string(bytes) +
                               "-byte greenlet stack (the address space limit RLIMIT_AS, the machine's memory or "
                               "vm.max_map_count is reached). Spawn fewer greenlets at once, give them smaller "
                               "stacks (gs::RuntimeOptions::stack_size, max_guarded_stacks), or raise the limit "
                               "(ulimit -v, sysctl vm.max_map_count)");
}

}  // namespace

std::size_t StackPool::guarded_in_use() { return g_guarded_in_use.load(std::memory_order_relaxed); }

std::size_t StackPool::guarded_cap() {
  const std::size_t configured = options().max_guarded_stacks;
  static const std::size_t derived = default_guarded_cap();
  return configured != 0 ? configured : derived;
}

StackPool::StackPool(std::size_t stack_size, std::size_t cache_limit)
    : stack_size_(round_to_pages(stack_size < 16384 ? 16384 : stack_size)), cache_limit_(cache_limit) {}

StackPool::~StackPool() {
  for (const StackRange& s : cache_) unmap(s);
}

StackRange StackPool::acquire() {
  if (!cache_.empty()) {
    StackRange s = cache_.back();
    cache_.pop_back();
    return s;
  }
  const std::size_t page = page_size();
  const bool guarded = try_reserve_guarded();
  const std::size_t bytes = stack_size_ + (guarded ? page : 0);
  void* base = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (base == MAP_FAILED) {
    const int err = errno;
    if (guarded) g_guarded_in_use.fetch_sub(1, std::memory_order_relaxed);
    throw_map_error(err, bytes);
  }
  StackRange s;
  s.lo = reinterpret_cast<std::uintptr_t>(base) + (guarded ? page : 0);
  s.hi = reinterpret_cast<std::uintptr_t>(base) + bytes;
  s.guarded = guarded;
  if (guarded && ::mprotect(base, page, PROT_NONE) != 0) {
    const int err = errno;
    ::munmap(base, bytes);
    g_guarded_in_use.fetch_sub(1, std::memory_order_relaxed);
    throw_map_error(err, bytes);
  }
  if (!guarded) *reinterpret_cast<std::uint64_t*>(s.lo) = kStackCanary;
  return s;
}

void StackPool::reserve() {
  if (cache_.empty()) cache_.push_back(acquire());
}

void StackPool::release(const StackRange& stack) {
  if (cache_.size() < cache_limit_ && canary_intact(stack)) {
    cache_.push_back(stack);
    return;
  }
  unmap(stack);
}

void StackPool::unmap(const StackRange& stack) {
  const std::uintptr_t base = stack.lo - (stack.guarded ? page_size() : 0);
#if defined(__SANITIZE_ADDRESS__)
  // ASan's shadow of a greenlet stack keeps the redzones of frames that
  // never returned (a greenlet abandoned at teardown). munmap() does not
  // clear it, so a later mapping at the same address (libelf reading a
  // module) was reported as a stack-buffer-underflow.
  __asan_unpoison_memory_region(reinterpret_cast<void*>(stack.lo), stack.hi - stack.lo);
#endif
  ::munmap(reinterpret_cast<void*>(base), stack.hi - base);
  if (stack.guarded) g_guarded_in_use.fetch_sub(1, std::memory_order_relaxed);
}

StackRange thread_stack_range() {
  StackRange range;
  pthread_attr_t attr;
  if (::pthread_getattr_np(::pthread_self(), &attr) != 0) return range;
  void* addr = nullptr;
  std::size_t size = 0;
  if (::pthread_attr_getstack(&attr, &addr, &size) == 0) {
    range.lo = reinterpret_cast<std::uintptr_t>(addr);
    range.hi = range.lo + size;
    range.guarded = true;  // the kernel / pthread guard below thread stacks
  }
  ::pthread_attr_destroy(&attr);
  return range;
}

}  // namespace gs::detail
