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
namespace {

constexpr std::size_t kMaxHidden = 8;
struct HiddenRange {
  std::atomic<std::uintptr_t> lo{0};
  std::atomic<std::uintptr_t> hi{0};
};
HiddenRange g_hidden[kMaxHidden];
std::atomic<std::size_t> g_hidden_count{0};
std::mutex g_hide_mutex;  // serializes hide_frames_of()

bool hidden(std::uintptr_t pc, std::size_t count) noexcept {
  for (std::size_t i = 0; i < count; ++i) {
    const std::uintptr_t lo = g_hidden[i].lo.load(std::memory_order_relaxed);
    if (pc - lo < g_hidden[i].hi.load(std::memory_order_relaxed) - lo) return true;
  }
  return false;
}

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

// hide_frames_of(): idempotent; past kMaxHidden modules it does nothing.
void hide_frames_of(const void* code_address) {
  ModuleExtent e;
  e.address = reinterpret_cast<std::uintptr_t>(code_address);
  if (::dl_iterate_phdr(&find_extent, &e) == 0 || e.hi == 0) return;
  std::lock_guard<std::mutex> lock(g_hide_mutex);
  const std::size_t n = g_hidden_count.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < n; ++i) {
    if (g_hidden[i].lo.load(std::memory_order_relaxed) == e.lo) return;
  }
  if (n == kMaxHidden) return;
  g_hidden[n].lo.store(e.lo, std::memory_order_relaxed);
  g_hidden[n].hi.store(e.hi, std::memory_order_relaxed);
  g_hidden_count.store(n + 1, std::memory_order_release);
}

OwnFrames trim_own_frames(const std::uintptr_t* pcs, std::size_t n, std::size_t skip,
                          bool reached_bottom) noexcept {
  const std::size_t count = g_hidden_count.load(std::memory_order_acquire);
  OwnFrames t;
  while (t.top_hidden < n && hidden(pcs[t.top_hidden], count)) ++t.top_hidden;
  t.first = std::min(n, t.top_hidden + skip);
  t.last = n;
  if (reached_bottom) {
    while (t.last > t.first && hidden(pcs[t.last - 1], count)) --t.last;
  }
  return t;
}

}  // namespace gs::detail
