// hidden_frames.cpp: the table of greenscope's own modules. A small fixed
// array read without a lock: a writer fills an entry, then publishes it by
// raising the count (release); readers load the count (acquire) and look
// only below it. A module unloaded later keeps its entry (the tracer stays
// loaded once loaded).
#include "hidden_frames.h"

#include <link.h>

#include <algorithm>
#include <atomic>
#include <mutex>

#include "greenscope/stacks.h"

namespace gs::detail {

OwnModule g_own_modules[kMaxOwnModules];
std::atomic<std::size_t> g_own_module_count{0};

namespace {

std::mutex g_hide_mutex;  // serializes hide_frames_of()

// ModuleExtent is the span of the PT_LOAD segments of the module holding
// `address` (find_extent(), dl_iterate_phdr's callback, fills it).
struct ModuleExtent {
  std::uintptr_t address = 0;
  std::uintptr_t lo = 0, hi = 0;
};

int find_extent(dl_phdr_info* info, std::size_t, void* data) {
  auto* e = static_cast<ModuleExtent*>(data);
  std::uintptr_t lo = ~std::uintptr_t{0}, hi = 0;
  bool holds = false;
  for (unsigned i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    const std::uintptr_t start = info->dlpi_addr + ph.p_vaddr;
    lo = std::min(lo, start);
    hi = std::max(hi, start + ph.p_memsz);
    holds = holds || (e->address >= start && e->address < start + ph.p_memsz);
  }
  if (!holds) return 0;
  e->lo = lo;
  e->hi = hi;
  return 1;
}

// The runtime hides itself as it is loaded.
[[maybe_unused]] const bool g_runtime_hidden = [] {
  hide_frames_of(reinterpret_cast<const void*>(&trim_own_frames));
  return true;
}();

}  // namespace

// hide_frames_of(): idempotent; past kMaxOwnModules modules it does nothing.
void hide_frames_of(const void* code_address) {
  ModuleExtent e;
  e.address = reinterpret_cast<std::uintptr_t>(code_address);
  if (::dl_iterate_phdr(&find_extent, &e) == 0 || e.hi == 0) return;
  std::lock_guard<std::mutex> lock(g_hide_mutex);
  const std::size_t n = g_own_module_count.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < n; ++i) {
    if (g_own_modules[i].lo.load(std::memory_order_relaxed) == e.lo) return;
  }
  if (n == kMaxOwnModules) return;
  g_own_modules[n].lo.store(e.lo, std::memory_order_relaxed);
  g_own_modules[n].hi.store(e.hi, std::memory_order_relaxed);
  g_own_module_count.store(n + 1, std::memory_order_release);
}

OwnFrames trim_own_frames(const std::uintptr_t* pcs, std::size_t n, std::size_t skip,
                          bool reached_bottom) noexcept {
  const std::size_t count = g_own_module_count.load(std::memory_order_acquire);
  OwnFrames t;
  while (t.top_hidden < n && own_frame(pcs[t.top_hidden], count)) ++t.top_hidden;
  t.first = std::min(n, t.top_hidden + skip);
  t.last = n;
  if (reached_bottom) {
    while (t.last > t.first && own_frame(pcs[t.last - 1], count)) --t.last;
  }
  return t;
}

}  // namespace gs::detail
