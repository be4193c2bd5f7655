// unwind.cpp: what every walker needs to know about Boost.Context's fcontext
// (make_fcontext's planted return address, where the switch code is), the
// fast walk of the running stack, and the two ways to snapshot a stack that
// is not running here. Walking a snapshot is unwind_remote.cpp's job.
//
// x86-64 only, like the fcontext layout it reads (Boost 1.74, SysV, ELF;
// docs/research/unwinding-for-stall-hunting.md, section a).
#include <dlfcn.h>
#include <libunwind.h>
#include <link.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>

#include "context.h"
#include "frame_walk.h"
#include "unwind.h"

namespace gs::detail {

// unwind_remote.cpp: builds the remote address space once (normal context).
void init_remote_unwinding();

namespace {

// Boost 1.74's sizes of the switch functions (objdump of
// libboost_context.so.1.74.0: jump_fcontext 0x6a, ontop_fcontext 0x68), used
// only if the dynamic symbol table does not give them.
constexpr std::uintptr_t kJumpSizeFallback = 0x6a;
constexpr std::uintptr_t kOntopSizeFallback = 0x68;
// make_fcontext's trampoline is `push %rbp; jmp *%rbx` (55 ff e3).
constexpr std::uintptr_t kTrampolineSize = 3;

// The facts init_unwinding() publishes. Atomics, because the sampling
// signal's handler reads them (lock-free loads are async-signal-safe).
std::atomic<std::uintptr_t> g_finish{0};
std::atomic<std::uintptr_t> g_jump_lo{0}, g_jump_hi{0};
std::atomic<std::uintptr_t> g_ontop_lo{0}, g_ontop_hi{0};
std::atomic<std::uintptr_t> g_tramp_lo{0}, g_tramp_hi{0};
std::atomic<bool> g_layout_ok{false};  // the saved-context layout is the one we read
std::atomic<bool> g_ready{false};
std::once_flag g_init_once;

void probe_entry(transfer_t) {}

// symbol_size() is the dynamic symbol table's size of the function at
// `address`, or `fallback` if the symbol is not found (a static Boost).
std::uintptr_t symbol_size(const void* address, std::uintptr_t fallback) {
  Dl_info info{};
  void* entry = nullptr;
  if (::dladdr1(address, &info, &entry, RTLD_DL_SYMENT) == 0 || entry == nullptr || info.dli_saddr != address) {
    return fallback;
  }
  const auto* sym = static_cast<const ElfW(Sym)*>(entry);
  return sym->st_size != 0 ? sym->st_size : fallback;
}

// is_trampoline() says whether the code at `at` is make_fcontext's
// trampoline. Exempt from ThreadSanitizer, whose check of a load from code
// can crash: TSan skips such loads by a marker that its start-up writes
// into a temporary file (/tmp/tsan.rodata.PID, 512 KiB) and maps read-only
// over the shadow of every r-x segment, 512 KiB of shadow (128 KiB of code)
// at a time. It does not check that write, which RLIMIT_FSIZE cuts short:
// under ulimit -f 1 only the first 256 bytes of each 128 KiB of code are
// marked, and a load past them (Boost 1.74 has the trampoline at 0x238)
// reads a zero, takes it for ordinary memory and stores into the read-only
// shadow: SEGV (a TSan program that reads a byte of its own code dies the
// same way). Code bytes never change: TSan has nothing to check here.
__attribute__((no_sanitize("thread"), noinline)) bool is_trampoline(std::uintptr_t at) {
  const auto* code = reinterpret_cast<const unsigned char*>(at);
  return code[0] == 0x55 && code[1] == 0xff && code[2] == 0xe3;
}

// read_fcontext_facts() makes a throw-away context on a small buffer: slot 5
// holds the entry function (checked, so a different layout is noticed),
// slot 6 `finish` (the entry's return address), slot 7 the trampoline.
void read_fcontext_facts() {
  alignas(16) static unsigned char buffer[512];
  const fcontext_t ctx = make_fcontext(buffer + sizeof buffer, sizeof buffer, &probe_entry);
  const auto* slots = static_cast<const std::uint64_t*>(ctx);
  const std::uintptr_t tramp = slots[7];
  const bool layout = slots[5] == reinterpret_cast<std::uintptr_t>(&probe_entry) && is_trampoline(tramp);
  g_finish.store(slots[6], std::memory_order_relaxed);
  g_tramp_lo.store(tramp, std::memory_order_relaxed);
  g_tramp_hi.store(tramp + kTrampolineSize, std::memory_order_relaxed);
  g_layout_ok.store(layout, std::memory_order_relaxed);

  const auto jump = reinterpret_cast<std::uintptr_t>(&jump_fcontext);
  const auto ontop = reinterpret_cast<std::uintptr_t>(&boost::context::detail::ontop_fcontext);
  g_jump_lo.store(jump, std::memory_order_relaxed);
  g_jump_hi.store(jump + symbol_size(reinterpret_cast<const void*>(jump), kJumpSizeFallback),
                  std::memory_order_relaxed);
  g_ontop_lo.store(ontop, std::memory_order_relaxed);
  g_ontop_hi.store(ontop + symbol_size(reinterpret_cast<const void*>(ontop), kOntopSizeFallback),
                   std::memory_order_relaxed);
}

bool in_range(std::uintptr_t pc, const std::atomic<std::uintptr_t>& lo, const std::atomic<std::uintptr_t>& hi) {
  const std::uintptr_t l = lo.load(std::memory_order_relaxed);
  return pc - l < hi.load(std::memory_order_relaxed) - l;
}

// kMaxLearnedFrames is how deep capture_user_frames() learns a new stack:
// as deep as walk_user_frames() goes (128 steps), and the frame past it.
constexpr std::size_t kMaxLearnedFrames = 130;

// backtrace_ips() is unw_backtrace(): the return addresses from its
// caller's frame up. Under ThreadSanitizer it is frame_walk.h's
// learn_backtrace(), the same walk done with unw_step(): unw_backtrace()
// keeps a per-thread trace cache whose thread-exit destructor locks a mutex
// after TSan has let the thread go, and every thread that took a stack then
// dies of SIGSEGV as it exits (Debian 12's libunwind 1.6 with GCC 12's
// TSan; a plain std::thread that calls unw_backtrace() once reproduces it).
// The walk without the cache is slower, which only a TSan build pays.
[[gnu::always_inline]] inline int backtrace_ips(void** buffer, int size) {
#if defined(GS_SANITIZE_THREAD)
  return learn_backtrace(buffer, size);
#else
  return unw_backtrace(buffer, size);
#endif
}

}  // namespace

void copy_stack_bytes(void* dst, const void* src, std::size_t n) noexcept {
  asm volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

void init_unwinding() {
  std::call_once(g_init_once, [] {
    read_fcontext_facts();
    void* warm[4];
    (void)backtrace_ips(warm, 4);  // maps libunwind's per-thread cache, reads our FDEs
    init_remote_unwinding();
    g_ready.store(true, std::memory_order_release);
  });
}

std::uintptr_t finish_address() noexcept { return g_finish.load(std::memory_order_relaxed); }

bool in_switch_code(std::uintptr_t pc) noexcept {
  return in_range(pc, g_jump_lo, g_jump_hi) || in_range(pc, g_ontop_lo, g_ontop_hi) ||
         in_range(pc, g_tramp_lo, g_tramp_hi);
}

namespace {

// walk_current() is both capture_current()s: always inlined, so that each
// has exactly one frame of its own. unw_backtrace's entry 0 is the return
// address into that frame: it goes, then `skip` more. Every entry is a
// return address (all are callers here), so each becomes ra - 1. The walk
// is by frame pointers as far as they are known to hold (frame_walk.h),
// else libunwind's: the same addresses either way (tests/runtime's
// FrameWalk tests compare them).
template <bool kFramePointers>
[[gnu::always_inline]] inline std::size_t walk_current(std::uintptr_t* out, std::size_t max, std::size_t skip,
                                                       bool& reached_bottom) noexcept {
  constexpr std::size_t kOwn = 1;
  constexpr std::size_t kRaw = 256;
  reached_bottom = false;
  if (!g_ready.load(std::memory_order_acquire)) init_unwinding();
  void* raw[kRaw];
  const std::size_t want = std::min(kRaw, std::min(max, kRaw) + std::min(skip, kRaw) + kOwn);
  const std::uintptr_t finish = g_finish.load(std::memory_order_relaxed);
  // raw[0] is our own pc (dropped below): the frame walk leaves it 0.
  std::size_t n = 0;
  const auto frame = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  const FrameWalk walk = kFramePointers ? walk_frame_pointers(frame, finish, raw, want, n) : FrameWalk::Unframed;
  switch (walk) {
    case FrameWalk::Done:
      break;
    case FrameWalk::Unframed:
      n = static_cast<std::size_t>(std::max(0, backtrace_ips(raw, static_cast<int>(want))));
      break;
    case FrameWalk::Unknown:
      n = static_cast<std::size_t>(std::max(0, learn_backtrace(raw, static_cast<int>(want))));
      break;
  }
  reached_bottom = n < want;
  std::size_t count = 0;
  for (std::size_t i = kOwn + skip; i < n && count < max; ++i) {
    const auto ra = reinterpret_cast<std::uintptr_t>(raw[i]);
    if (ra == finish || ra == 0) {
      reached_bottom = true;
      break;
    }
    out[count++] = ra - 1;
  }
  return count;
}

}  // namespace

// capture_current()s: not inlined, so that the count of own frames does not
// depend on the caller.
[[gnu::noinline]] std::size_t capture_current(std::uintptr_t* out, std::size_t max, std::size_t skip) noexcept {
  bool reached_bottom = false;
  return walk_current<true>(out, max, skip, reached_bottom);
}

[[gnu::noinline]] std::size_t capture_current(std::uintptr_t* out, std::size_t max, std::size_t skip,
                                              bool& reached_bottom) noexcept {
  return walk_current<true>(out, max, skip, reached_bottom);
}

[[gnu::noinline]] bool capture_user_frames(std::uintptr_t* out, std::size_t max, std::size_t skip,
                                           std::size_t& n) noexcept {
  if (!g_ready.load(std::memory_order_acquire)) init_unwinding();
  const auto frame = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  const std::uintptr_t finish = g_finish.load(std::memory_order_relaxed);
  FrameWalk w = walk_user_frames(frame, finish, out, max, skip, n);
  if (w == FrameWalk::Unknown) {
    // A stack not seen before: libunwind walks it from here once, learning
    // a verdict for each return address it passes (this call's in the
    // caller included), and the walk goes again.
    void* learned[kMaxLearnedFrames];
    (void)learn_backtrace(learned, static_cast<int>(kMaxLearnedFrames));
    w = walk_user_frames(frame, finish, out, max, skip, n);
  }
  return w == FrameWalk::Done;
}

[[gnu::noinline]] std::size_t capture_current_by_libunwind(std::uintptr_t* out, std::size_t max, std::size_t skip,
                                                           bool& reached_bottom) noexcept {
  return walk_current<false>(out, max, skip, reached_bottom);
}

bool snapshot_from_signal(const ucontext_t& uc, std::uintptr_t stack_lo, std::uintptr_t stack_hi,
                          Snapshot& snap) noexcept {
  if (!g_ready.load(std::memory_order_acquire) || snap.bytes == nullptr || snap.capacity == 0) return false;
  const greg_t* g = uc.uc_mcontext.gregs;
  const auto rsp = static_cast<std::uintptr_t>(g[REG_RSP]);
  const auto rip = static_cast<std::uintptr_t>(g[REG_RIP]);
  if (rsp < stack_lo || rsp >= stack_hi || in_switch_code(rip)) return false;
  Registers& r = snap.regs;
  r.rip = rip;
  r.rsp = rsp;
  r.rbp = static_cast<std::uint64_t>(g[REG_RBP]);
  r.rbx = static_cast<std::uint64_t>(g[REG_RBX]);
  r.r12 = static_cast<std::uint64_t>(g[REG_R12]);
  r.r13 = static_cast<std::uint64_t>(g[REG_R13]);
  r.r14 = static_cast<std::uint64_t>(g[REG_R14]);
  r.r15 = static_cast<std::uint64_t>(g[REG_R15]);
  r.rax = static_cast<std::uint64_t>(g[REG_RAX]);
  r.rdx = static_cast<std::uint64_t>(g[REG_RDX]);
  r.rcx = static_cast<std::uint64_t>(g[REG_RCX]);
  r.rsi = static_cast<std::uint64_t>(g[REG_RSI]);
  r.rdi = static_cast<std::uint64_t>(g[REG_RDI]);
  r.r8 = static_cast<std::uint64_t>(g[REG_R8]);
  r.r9 = static_cast<std::uint64_t>(g[REG_R9]);
  r.r10 = static_cast<std::uint64_t>(g[REG_R10]);
  r.r11 = static_cast<std::uint64_t>(g[REG_R11]);
  r.scratch_known = true;
  // The red zone below rsp may hold a leaf function's locals; never read
  // below stack_lo (the guard page).
  const std::uintptr_t lo = rsp - stack_lo >= 128 ? rsp - 128 : stack_lo;
  const std::size_t len = std::min<std::size_t>(stack_hi - lo, snap.capacity);
  copy_stack_bytes(snap.bytes, reinterpret_cast<const void*>(lo), len);
  snap.interrupted = true;
  snap.stack_lo = stack_lo;
  snap.stack_hi = stack_hi;
  snap.copy_lo = lo;
  snap.copy_len = len;
  return true;
}

bool snapshot_suspended(const void* fctx, const StackRange& stack, Snapshot& snap) noexcept {
  if (!g_ready.load(std::memory_order_acquire)) init_unwinding();
  if (!g_layout_ok.load(std::memory_order_relaxed) || snap.bytes == nullptr || snap.capacity < 64) return false;
  const auto ctx = reinterpret_cast<std::uintptr_t>(fctx);
  if (ctx < stack.lo || ctx >= stack.hi || stack.hi - ctx < 64) return false;
  const std::size_t len = std::min<std::size_t>(stack.hi - ctx, snap.capacity);
  iovec local{snap.bytes, len};
  iovec remote{const_cast<void*>(fctx), len};
  const ssize_t got = ::process_vm_readv(::getpid(), &local, 1, &remote, 1, 0);
  if (got < 64) return false;
  std::uint64_t slots[8];
  std::memcpy(slots, snap.bytes, sizeof slots);
  // A context made but never entered resumes at the trampoline: no frames.
  if (in_switch_code(slots[7])) return false;
  Registers& r = snap.regs;
  r = Registers{};
  r.r12 = slots[1];
  r.r13 = slots[2];
  r.r14 = slots[3];
  r.r15 = slots[4];
  r.rbx = slots[5];
  r.rbp = slots[6];
  r.rip = slots[7];
  r.rsp = ctx + 64;
  snap.interrupted = false;
  snap.stack_lo = stack.lo;
  snap.stack_hi = stack.hi;
  snap.copy_lo = ctx;
  snap.copy_len = static_cast<std::size_t>(got);
  return true;
}

}  // namespace gs::detail
