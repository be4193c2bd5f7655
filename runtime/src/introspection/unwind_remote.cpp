// unwind_remote.cpp: unwind_snapshot(), libunwind's remote API over a copied
// stack. The walker reads only two kinds of memory: the copy, and the loaded
// modules' segments (for their .eh_frame), the latter through
// process_vm_readv. A snapshot of a running, freed or garbage stack can
// therefore give wrong frames but never a fault.
//
// The address space is libunwind-generic's (libunwind-x86_64.so.8: the
// remote API; libunwind.so.8 is built local-only). Finding unwind info is
// borrowed from its local address space: dl_iterate_phdr to find the module,
// then reads of its .eh_frame_hdr table and FDEs through our access_mem. The
// register-state cache (UNW_CACHE_GLOBAL) makes a frame seen before cost a
// cache lookup, no reads of module memory at all: about 6 us for 16 frames.
#include <libunwind.h>
#include <link.h>
#include <pthread.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <mutex>
#include <vector>

#include "unwind.h"

namespace gs::detail {
namespace {

struct Segment {
  std::uintptr_t lo = 0, hi = 0;
};

// ModuleMap is every loaded module's PT_LOAD segments, sorted; rebuilt when
// the dynamic loader's adds/subs counters change.
class ModuleMap {
 public:
  // refresh() re-reads the segments if objects were (un)loaded.
  void refresh() {
    Counters now;
    ::dl_iterate_phdr(&read_counters, &now);
    if (now.adds == counters_.adds && now.subs == counters_.subs && !segments_.empty()) return;
    counters_ = now;
    segments_.clear();
    ::dl_iterate_phdr(&add_segments, &segments_);
    std::sort(segments_.begin(), segments_.end(), [](const Segment& a, const Segment& b) { return a.lo < b.lo; });
  }
  // find() is the segment holding [addr, addr + len), or null.
  const Segment* find(std::uintptr_t addr, std::size_t len) const {
    auto it = std::upper_bound(segments_.begin(), segments_.end(), addr,
                               [](std::uintptr_t a, const Segment& s) { return a < s.lo; });
    if (it == segments_.begin()) return nullptr;
    --it;
    return addr + len <= it->hi && addr + len > addr ? &*it : nullptr;
  }

 private:
  struct Counters {
    unsigned long long adds = 0, subs = 0;
  };
  static int read_counters(dl_phdr_info* info, std::size_t size, void* data) {
    auto* c = static_cast<Counters*>(data);
    if (size >= offsetof(dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
      c->adds = info->dlpi_adds;
      c->subs = info->dlpi_subs;
    }
    return 1;  // the counters are the same in every entry: stop at the first
  }
  static int add_segments(dl_phdr_info* info, std::size_t, void* data) {
    auto* out = static_cast<std::vector<Segment>*>(data);
    for (unsigned i = 0; i < info->dlpi_phnum; ++i) {
      const ElfW(Phdr)& ph = info->dlpi_phdr[i];
      if (ph.p_type != PT_LOAD || ph.p_memsz == 0) continue;
      const std::uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
      out->push_back({lo, lo + ph.p_memsz});
    }
    return 0;
  }

  Counters counters_;
  std::vector<Segment> segments_;
};

// Walk is the accessors' argument: one walk's snapshot, the module map, and
// a few lines of module memory already read (a lookup reads words close to
// each other: the search table, then one FDE and its CIE).
struct Walk {
  static constexpr std::size_t kLineBytes = 256;
  static constexpr std::size_t kLines = 8;
  struct Line {
    std::uintptr_t base = 0;
    std::size_t len = 0;
    unsigned char bytes[kLineBytes];
    // holds() is true if the word at `addr` is inside; no sum that could
    // wrap around (garbage frames ask for addresses like 2^64 - 1).
    bool holds(std::uintptr_t addr) const {
      return len >= sizeof(unw_word_t) && addr >= base && addr - base <= len - sizeof(unw_word_t);
    }
  };

  const Snapshot* snap = nullptr;
  const ModuleMap* modules = nullptr;
  std::uint64_t seed_rip = 0;
  Line lines[kLines];
  std::size_t victim = 0;

  // read_module() reads a word of a loaded module, or returns false.
  bool read_module(std::uintptr_t addr, unw_word_t* val) {
    constexpr std::size_t kWord = sizeof(unw_word_t);
    for (const Line& l : lines) {
      if (l.holds(addr)) {
        std::memcpy(val, l.bytes + (addr - l.base), kWord);
        return true;
      }
    }
    const Segment* seg = modules->find(addr, kWord);
    if (seg == nullptr) return false;
    Line& l = lines[victim];
    victim = (victim + 1) % kLines;
    l.base = std::max(seg->lo, addr & ~(kLineBytes - 1));
    const std::size_t len = std::min<std::uintptr_t>(seg->hi, l.base + kLineBytes) - l.base;
    iovec local{l.bytes, len};
    iovec remote{reinterpret_cast<void*>(l.base), len};
    const ssize_t got = ::process_vm_readv(::getpid(), &local, 1, &remote, 1, 0);
    l.len = got > 0 ? static_cast<std::size_t>(got) : 0;
    if (!l.holds(addr)) return false;
    std::memcpy(val, l.bytes + (addr - l.base), kWord);
    return true;
  }
};

// access_mem(): the copy first; the rest of the sampled stack is off limits
// (it may be running or gone); module memory through read_module().
int access_mem(unw_addr_space_t, unw_word_t addr, unw_word_t* val, int write, void* arg) {
  if (write != 0) return -UNW_EINVAL;
  Walk& w = *static_cast<Walk*>(arg);
  const Snapshot& s = *w.snap;
  if (s.copy_len >= sizeof(unw_word_t) && addr >= s.copy_lo && addr - s.copy_lo <= s.copy_len - sizeof(unw_word_t)) {
    std::memcpy(val, s.bytes + (addr - s.copy_lo), sizeof(unw_word_t));
    return 0;
  }
  if (addr >= s.stack_lo && addr < s.stack_hi) return -UNW_EINVAL;
  return w.read_module(addr, val) ? 0 : -UNW_EINVAL;
}

// access_reg(): the snapshot's registers. rip is the seed (see
// unwind_snapshot); unknown registers are errors, so that a CFI rule needing
// one stops the walk rather than computing from a made-up value.
int access_reg(unw_addr_space_t, unw_regnum_t reg, unw_word_t* val, int write, void* arg) {
  if (write != 0) return -UNW_EREADONLYREG;
  const Walk& w = *static_cast<const Walk*>(arg);
  const Registers& r = w.snap->regs;
  switch (reg) {
    case UNW_X86_64_RIP: *val = w.seed_rip; return 0;
    case UNW_X86_64_RSP: *val = r.rsp; return 0;
    case UNW_X86_64_RBP: *val = r.rbp; return 0;
    case UNW_X86_64_RBX: *val = r.rbx; return 0;
    case UNW_X86_64_R12: *val = r.r12; return 0;
    case UNW_X86_64_R13: *val = r.r13; return 0;
    case UNW_X86_64_R14: *val = r.r14; return 0;
    case UNW_X86_64_R15: *val = r.r15; return 0;
    default: break;
  }
  if (!r.scratch_known) return -UNW_EBADREG;
  switch (reg) {
    case UNW_X86_64_RAX: *val = r.rax; return 0;
    case UNW_X86_64_RDX: *val = r.rdx; return 0;
    case UNW_X86_64_RCX: *val = r.rcx; return 0;
    case UNW_X86_64_RSI: *val = r.rsi; return 0;
    case UNW_X86_64_RDI: *val = r.rdi; return 0;
    case UNW_X86_64_R8: *val = r.r8; return 0;
    case UNW_X86_64_R9: *val = r.r9; return 0;
    case UNW_X86_64_R10: *val = r.r10; return 0;
    case UNW_X86_64_R11: *val = r.r11; return 0;
    default: return -UNW_EBADREG;
  }
}

int access_fpreg(unw_addr_space_t, unw_regnum_t, unw_fpreg_t*, int, void*) { return -UNW_EBADREG; }
int resume(unw_addr_space_t, unw_cursor_t*, void*) { return -UNW_EINVAL; }
int get_proc_name(unw_addr_space_t, unw_word_t, char*, std::size_t, unw_word_t*, void*) { return -UNW_ENOINFO; }

// One address space for the process; g_walk_mutex guards it and g_modules.
// libunwind's own cache has its own lock, but the module map is ours, and
// walks are rare and short enough that one at a time costs nothing.
std::mutex g_walk_mutex;
unw_addr_space_t g_as = nullptr;
ModuleMap g_modules;

// make_address_space() needs g_walk_mutex held.
void make_address_space() {
  if (g_as != nullptr) return;
  // An unw_init_local of libunwind-generic runs its one-time init, which
  // fills in its local address space's accessors that we borrow.
  unw_context_t uc;
  unw_cursor_t cursor;
  if (unw_getcontext(&uc) != 0 || unw_init_local(&cursor, &uc) != 0) return;
  const unw_accessors_t* local = unw_get_accessors(unw_local_addr_space);
  if (local == nullptr || local->find_proc_info == nullptr) return;
  unw_accessors_t acc{};
  acc.find_proc_info = local->find_proc_info;
  acc.put_unwind_info = local->put_unwind_info;
  acc.get_dyn_info_list_addr = local->get_dyn_info_list_addr;
  acc.access_mem = &access_mem;
  acc.access_reg = &access_reg;
  acc.access_fpreg = &access_fpreg;
  acc.resume = &resume;
  acc.get_proc_name = &get_proc_name;
  g_as = unw_create_addr_space(&acc, 0);
  if (g_as == nullptr) return;
  unw_set_caching_policy(g_as, UNW_CACHE_GLOBAL);
  unw_set_cache_size(g_as, 1024, 0);  // a stall monitor sees many distinct PCs
}

// hold_walks_across_fork() makes fork() wait for a walk in progress: a
// child made while the monitor thread walked a sample inherited
// g_walk_mutex locked (and libunwind's cache mid-change), and its own
// monitor blocked on it for good at its first stall (seen under load: a
// greenlet forking right after a stall of its parent's, 1 run in about 50).
void hold_walks_across_fork() {
  static std::once_flag once;
  std::call_once(once, [] {
    ::pthread_atfork([] { g_walk_mutex.lock(); }, [] { g_walk_mutex.unlock(); }, [] { g_walk_mutex.unlock(); });
  });
}

}  // namespace

void init_remote_unwinding() {
  hold_walks_across_fork();
  std::lock_guard<std::mutex> lock(g_walk_mutex);
  make_address_space();
  g_modules.refresh();
}

// unwind_snapshot(): frame 0 of a suspended context is a return address, so
// the walk is seeded with rip - 1 (the call), as libunwind does for every
// caller; an interrupted frame 0 is exact. The walk stops at make_fcontext's
// `finish`, when sp leaves the stack or stops growing, or at libunwind's end.
std::size_t unwind_snapshot(const Snapshot& snap, std::uintptr_t* out, std::size_t max) {
  if (max == 0 || snap.bytes == nullptr || snap.copy_len == 0 || snap.regs.rip == 0) return 0;
  init_unwinding();
  std::lock_guard<std::mutex> lock(g_walk_mutex);
  if (g_as == nullptr) return 0;
  g_modules.refresh();
  Walk walk;
  walk.snap = &snap;
  walk.modules = &g_modules;
  walk.seed_rip = snap.interrupted ? snap.regs.rip : snap.regs.rip - 1;
  unw_cursor_t cursor;
  if (unw_init_remote(&cursor, g_as, &walk) != 0) return 0;
  const std::uintptr_t finish = finish_address();
  std::size_t n = 0;
  unw_word_t prev_sp = 0;
  while (n < max) {
    unw_word_t ip = 0, sp = 0;
    if (unw_get_reg(&cursor, UNW_REG_IP, &ip) != 0 || unw_get_reg(&cursor, UNW_REG_SP, &sp) != 0) break;
    const unw_word_t raw = n == 0 ? snap.regs.rip : ip;
    if (raw == 0 || raw == finish) break;
    if (sp < snap.stack_lo || sp >= snap.stack_hi || (n > 0 && sp <= prev_sp)) break;
    out[n] = n == 0 ? ip : ip - 1;
    ++n;
    prev_sp = sp;
    if (unw_step(&cursor) <= 0) break;
  }
  return n;
}

}  // namespace gs::detail
