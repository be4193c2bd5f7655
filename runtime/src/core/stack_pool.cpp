#include "stack_pool.h"

#include "cache_decay.h"

#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <fstream>
#include <string>
#include <vector>
#include "greenscope/config.h"
#include "greenscope/errors.h"

#if defined(GS_SANITIZE_ADDRESS)
#include <sanitizer/asan_interface.h>
#endif

namespace gs::detail {

// StackSlab is one mapping that stacks are carved from, lowest first: stack
// i's guard page is at base + i * stride, the stack just above it.
struct StackSlab {
  std::uintptr_t base = 0;     // ro
  std::size_t capacity = 0;    // ro: stacks it has room for
  std::size_t carved = 0;      // rw: stacks handed out at least once
  std::size_t in_use = 0;      // rw: stacks held by greenlets
  std::size_t cold = 0;        // rw: its free stacks in the pool's cold list
  std::size_t guarded = 0;     // rw: carved stacks with a guard (for the cap)
  bool guards_installed = false;  // ro: every guard put in place when mapped
  bool unmapping = false;      // rw: set while the pool gives it back
  StackSlab* next = nullptr;   // rw: the pool's list of slabs
  StackSlab* prev = nullptr;
};

namespace {

// MADV_GUARD_INSTALL (Linux 6.13): the page faults on access, like a
// PROT_NONE page, but is a page-table marker: it does not split the mapping.
constexpr int kMadvGuardInstall = 102;
// PIDFD_SELF_THREAD (Linux 6.15): process_madvise() on the caller's own
// memory, with no pidfd to keep (a pidfd of our own would name the parent
// in a forked child).
constexpr int kPidfdSelfThread = -10000;
constexpr std::size_t kMaxIov = 1024;  // IOV_MAX
constexpr std::size_t kFirstSlabStacks = 8;
constexpr std::size_t kMaxSlabStacks = 256;
constexpr std::size_t kMaxSlabBytes = std::size_t{64} << 20;

std::atomic<std::size_t> g_guarded_in_use{0};
std::atomic<int> g_guard_regions{-1};  // -1 not probed yet, 0 no, 1 yes
std::atomic<bool> g_batched_guards{true};  // process_madvise() takes them

std::size_t page_size() {
  static const std::size_t size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

// probe_guard_regions() asks the kernel once: does a guard install work?
bool probe_guard_regions() {
  const std::size_t page = page_size();
  void* p = ::mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return false;
  const bool ok = ::madvise(p, page, kMadvGuardInstall) == 0;
  ::munmap(p, 2 * page);
  return ok;
}

// default_guarded_cap() leaves most of vm.max_map_count to the rest of the
// program: each mprotect()ed guard costs a mapping (it splits its slab).
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

// install_guards() puts a guard region on each of `count` pages, `stride`
// apart from `first`: in calls of up to 1,024 pages where process_madvise()
// takes them, else one madvise() each. False if any could not be installed.
bool install_guards(std::uintptr_t first, std::size_t stride, std::size_t count) {
  const std::size_t page = page_size();
  std::size_t done = 0;
  if (g_batched_guards.load(std::memory_order_relaxed)) {
    // On the heap: this runs on the hub's stack, which may be 16 KiB.
    std::vector<iovec> iov(std::min(kMaxIov, count));
    while (done < count) {
      const std::size_t n = std::min(iov.size(), count - done);
      for (std::size_t i = 0; i < n; ++i) {
        iov[i].iov_base = reinterpret_cast<void*>(first + (done + i) * stride);
        iov[i].iov_len = page;
      }
      const long advised = ::syscall(SYS_process_madvise, kPidfdSelfThread, iov.data(), n, kMadvGuardInstall, 0);
      if (advised < 0) {
        if (errno == EBADF || errno == EINVAL || errno == ENOSYS || errno == EPERM) {
          g_batched_guards.store(false, std::memory_order_relaxed);  // an older kernel: one call each
          break;
        }
        return false;
      }
      done += static_cast<std::size_t>(advised) / page;  // a short count: go on from there
    }
  }
  for (; done < count; ++done) {
    if (::madvise(reinterpret_cast<void*>(first + done * stride), page, kMadvGuardInstall) != 0) return false;
  }
  return true;
}

}  // namespace

std::size_t StackPool::guarded_in_use() { return g_guarded_in_use.load(std::memory_order_relaxed); }

bool StackPool::guard_regions() {
  int known = g_guard_regions.load(std::memory_order_relaxed);
  if (known < 0) {
    known = probe_guard_regions() ? 1 : 0;
    g_guard_regions.store(known, std::memory_order_relaxed);
  }
  return known == 1;
}

void StackPool::set_guard_regions_for_testing(bool use) {
  g_guard_regions.store(use && probe_guard_regions() ? 1 : 0, std::memory_order_relaxed);
}

std::size_t StackPool::guarded_cap() {
  const std::size_t configured = options().max_guarded_stacks;
  if (configured != 0) return configured;
  if (guard_regions()) return SIZE_MAX;
  static const std::size_t derived = default_guarded_cap();
  return derived;
}

StackPool::StackPool(std::size_t stack_size, std::size_t cache_limit)
    : stack_size_(round_to_pages(stack_size < 16384 ? 16384 : stack_size)),
      stride_(stack_size_ + page_size()),
      max_per_slab_(std::clamp<std::size_t>(kMaxSlabBytes / stride_, 1, kMaxSlabStacks)),
      next_per_slab_(std::min(kFirstSlabStacks, max_per_slab_)),
      decay_(cache_limit) {}

StackPool::~StackPool() {
  // Slabs with a stack in use stay: exit() inside a greenlet destroys the
  // hub while that greenlet's stack is still the one running.
  for (StackSlab* s = slabs_; s != nullptr;) {
    StackSlab* next = s->next;
    if (s->in_use == 0) unmap_slab(s);
    s = next;
  }
}

StackSlab* StackPool::slab_of(const StackRange& stack) const { return static_cast<StackSlab*>(stack.slab); }

// map_slab() maps the next slab and makes it the one stacks are carved
// from. Where the kernel refuses a slab (an address-space limit near), it
// maps one stack, not the largest slab that still fits: what is left of the
// address space stays for the rest of the program (malloc, a sanitizer's
// runtime), and slabs grow again from one.
StackSlab* StackPool::map_slab() {
  constexpr int kFlags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK;
  std::size_t count = next_per_slab_;
  void* base = ::mmap(nullptr, count * stride_, PROT_READ | PROT_WRITE, kFlags, -1, 0);
  if (base == MAP_FAILED && count > 1) {
    count = 1;
    next_per_slab_ = 1;
    base = ::mmap(nullptr, stride_, PROT_READ | PROT_WRITE, kFlags, -1, 0);
  }
  if (base == MAP_FAILED) throw_map_error(errno, stride_);
  auto* slab = new StackSlab;
  slab->base = reinterpret_cast<std::uintptr_t>(base);
  slab->capacity = count;
  // With no cap of the user's, a slab's guards go in with one call.
  if (guard_regions() && options().max_guarded_stacks == 0) {
    slab->guards_installed = install_guards(slab->base, stride_, count);
  }
  slab->next = slabs_;
  if (slabs_ != nullptr) slabs_->prev = slab;
  slabs_ = slab;
  ++slab_count_;
  carving_ = slab;
  next_per_slab_ = std::min(next_per_slab_ * 2, max_per_slab_);
  return slab;
}

// guard_one() gives a newly carved stack its guard page, or else a canary.
void StackPool::guard_one(StackSlab& slab, StackRange& stack) {
  const std::uintptr_t guard = stack.lo - page_size();
  if (slab.guards_installed) {
    g_guarded_in_use.fetch_add(1, std::memory_order_relaxed);
    stack.guarded = true;
  } else if (try_reserve_guarded()) {
    const bool ok = guard_regions() ? install_guards(guard, 0, 1)
                                    : ::mprotect(reinterpret_cast<void*>(guard), page_size(), PROT_NONE) == 0;
    if (ok) {
      stack.guarded = true;
    } else {
      g_guarded_in_use.fetch_sub(1, std::memory_order_relaxed);  // no guard after all: a canary
    }
  }
  if (stack.guarded) ++slab.guarded;
}

StackRange StackPool::carve(StackSlab& slab) {
  StackRange s;
  s.lo = slab.base + slab.carved * stride_ + page_size();
  s.hi = s.lo + stack_size_;
  s.slab = &slab;
  ++slab.carved;
  guard_one(slab, s);
  return s;
}

void StackPool::take_from(StackSlab& slab, StackRange& stack) {
  ++slab.in_use;
  if (!stack.guarded) *reinterpret_cast<std::uint64_t*>(stack.lo) = kStackCanary;
}

StackRange StackPool::acquire() {
  StackRange s;
  if (!warm_.empty()) {
    s = warm_.back();
    warm_.pop_back();
    decay_.taken(warm_.size());
    note_activity();
  } else if (!cold_.empty()) {
    s = cold_.back();
    cold_.pop_back();
    --slab_of(s)->cold;
  } else {
    StackSlab* slab = carving_ != nullptr && carving_->carved < carving_->capacity ? carving_ : map_slab();
    s = carve(*slab);
  }
  take_from(*slab_of(s), s);
  return s;
}

void StackPool::reserve() {
  if (warm_.empty() && cold_.empty() && (carving_ == nullptr || carving_->carved == carving_->capacity)) {
    map_slab();
  }
}

void StackPool::release(const StackRange& stack) {
#if defined(GS_SANITIZE_ADDRESS)
  // A dead greenlet's last frames (its final switch) never returned: their
  // redzones stay poisoned, and the next greenlet given this stack met them
  // as a stack-buffer-underflow (a GreenletExit copied on it, seen running
  // Kill.KillingTheCurrentGreenletThrowsHere twice in one process).
  __asan_unpoison_memory_region(reinterpret_cast<void*>(stack.lo), stack.hi - stack.lo);
#endif
  --slab_of(stack)->in_use;
  warm_.push_back(stack);
  note_activity();
}

// note_activity() runs the decay as stacks come and go: once a second at
// most, the warm stacks that stayed unused all that time, beyond the
// cache's limit, are given back.
void StackPool::note_activity() {
  if (const std::size_t due = decay_.due(warm_.size()); due > 0) trim(due);
}

void StackPool::trim_now() {
  if (warm_.size() > decay_.floor()) trim(warm_.size() - decay_.floor());
  decay_.restart();
}

// trim() gives back the `count` warm stacks freed longest ago: a slab that
// ends up with every stack free and cold is unmapped, other stacks lose
// their pages and become cold.
void StackPool::trim(std::size_t count) {
  count = std::min(count, warm_.size());
  if (count == 0) return;
  const auto oldest = warm_.begin();
  const auto end = oldest + static_cast<std::ptrdiff_t>(count);
  for (auto it = oldest; it != end; ++it) ++slab_of(*it)->cold;
  bool unmapping = false;
  for (auto it = oldest; it != end; ++it) {
    StackSlab* slab = slab_of(*it);
    if (slab->in_use == 0 && slab->cold == slab->carved && slab != carving_) {
      slab->unmapping = unmapping = true;
      continue;
    }
    // The guard region survives MADV_DONTNEED; the canary does not, and is
    // written again when the stack is next taken.
    ::madvise(reinterpret_cast<void*>(it->lo), it->hi - it->lo, MADV_DONTNEED);
    cold_.push_back(*it);
  }
  warm_.erase(oldest, end);
  // The decay trims a slab's worth at a time: the whole cold list and slab
  // list are walked only when a slab goes.
  if (!unmapping) return;
  std::erase_if(cold_, [this](const StackRange& s) { return slab_of(s)->unmapping; });
  for (StackSlab* s = slabs_; s != nullptr;) {
    StackSlab* next = s->next;
    if (s->unmapping) unmap_slab(s);
    s = next;
  }
}

void StackPool::unmap_slab(StackSlab* slab) {
  const std::size_t bytes = slab->capacity * stride_;
#if defined(GS_SANITIZE_ADDRESS)
  // ASan's shadow of a greenlet stack keeps the redzones of frames that
  // never returned (a greenlet abandoned at teardown). munmap() does not
  // clear it, so a later mapping at the same address (libelf reading a
  // module) was reported as a stack-buffer-underflow.
  __asan_unpoison_memory_region(reinterpret_cast<void*>(slab->base), bytes);
#endif
  ::munmap(reinterpret_cast<void*>(slab->base), bytes);
  g_guarded_in_use.fetch_sub(slab->guarded, std::memory_order_relaxed);
  if (slab->prev != nullptr) slab->prev->next = slab->next;
  if (slab->next != nullptr) slab->next->prev = slab->prev;
  if (slabs_ == slab) slabs_ = slab->next;
  if (carving_ == slab) carving_ = nullptr;
  --slab_count_;
  delete slab;
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
