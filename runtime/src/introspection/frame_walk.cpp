// frame_walk.cpp: the frame-pointer walk and the verdicts it trusts (see
// frame_walk.h for why a walk needs them).
#include "frame_walk.h"

#include <libunwind.h>

#include <atomic>

#include "hidden_frames.h"

namespace gs::detail {
namespace {

// The verdicts: an open-addressed table of (return address << 2) | Verdict,
// 0 for a free slot, never emptied. 16,384 slots (128 KiB, touched as used)
// hold far more call sites than the waits of a program have; an address
// with no room left within kProbes slots counts as unframed, so that it
// is never learned again and its walks go to unw_backtrace() as before.
enum Verdict : std::uintptr_t { kUnknown = 0, kFramed = 1, kUnframed = 2 };
constexpr unsigned kSlotBits = 14;
constexpr std::size_t kSlots = std::size_t{1} << kSlotBits;
constexpr std::size_t kProbes = 8;
std::atomic<std::uintptr_t> g_verdicts[kSlots];

// A framed function's frame is at most this big (its locals); a bigger
// step between two frame pointers is taken for a stale verdict (code
// unloaded and other code mapped at its address) and walked by libunwind.
constexpr std::uintptr_t kMaxFrameBytes = std::uintptr_t{1} << 20;

std::size_t home_slot(std::uintptr_t address) noexcept {
  return static_cast<std::size_t>((address * 0x9E3779B97F4A7C15ull) >> (64 - kSlotBits));
}

Verdict verdict_of(std::uintptr_t address) noexcept {
  const std::size_t home = home_slot(address);
  for (std::size_t i = 0; i < kProbes; ++i) {
    const std::uintptr_t e = g_verdicts[(home + i) & (kSlots - 1)].load(std::memory_order_relaxed);
    if (e == 0) return kUnknown;
    if (e >> 2 == address) return static_cast<Verdict>(e & 3);
  }
  return kUnframed;
}

void record_verdict(std::uintptr_t address, Verdict v) noexcept {
  if (address == 0 || address >> 61 != 0) return;
  const std::uintptr_t entry = address << 2 | v;
  const std::size_t home = home_slot(address);
  for (std::size_t i = 0; i < kProbes; ++i) {
    std::atomic<std::uintptr_t>& slot = g_verdicts[(home + i) & (kSlots - 1)];
    std::uintptr_t e = slot.load(std::memory_order_relaxed);
    if (e == 0 && slot.compare_exchange_strong(e, entry, std::memory_order_relaxed)) return;
    if (e >> 2 == address) return;  // another walk judged it (the same way: code does not change)
  }
}

// CursorFrame is what learn_backtrace() reads of one frame.
struct CursorFrame {
  unw_word_t ip = 0, sp = 0, rbp = 0;
  bool signal = false;      // a signal's trampoline frame (__restore_rt)
  bool exact_ip = false;    // interrupted by a signal: ip is no return address
};

bool read_frame(unw_cursor_t& cursor, bool after_signal, CursorFrame& f) noexcept {
  if (unw_get_reg(&cursor, UNW_REG_IP, &f.ip) != 0 || unw_get_reg(&cursor, UNW_REG_SP, &f.sp) != 0 ||
      unw_get_reg(&cursor, UNW_X86_64_RBP, &f.rbp) != 0) {
    return false;
  }
  f.signal = unw_is_signal_frame(&cursor) > 0;
  f.exact_ip = after_signal;
  return true;
}

// judge() records whether `f`'s function is framed at f.ip, seen from its
// caller's frame: %rbp + 16 is the CFA (the caller's sp), and below it sit
// the return address and the caller's %rbp. The loads follow the first
// check, so they read the two words under the CFA: the callee's own frame.
__attribute__((no_sanitize("address", "thread", "undefined"))) void judge(const CursorFrame& f,
                                                                  const CursorFrame& caller) noexcept {
  if (f.exact_ip) return;
  if (f.signal) {
    record_verdict(f.ip, kUnframed);
    return;
  }
  bool framed = f.rbp + 16 == caller.sp;
  if (framed) {
    const auto* words = reinterpret_cast<const unw_word_t*>(f.rbp);
    framed = words[0] == caller.rbp && words[1] == caller.ip;
  }
  record_verdict(f.ip, framed ? kFramed : kUnframed);
}

// step_to_caller() moves `fp` (a frame whose function is framed) to its
// caller's frame, if that steps up the stack: a stale verdict (code
// unloaded, other code at its address) can leave anything in the word.
[[gnu::always_inline]] inline bool step_to_caller(std::uintptr_t& fp) noexcept {
  const std::uintptr_t next = reinterpret_cast<const std::uintptr_t*>(fp)[0];
  if (next <= fp || next - fp > kMaxFrameBytes || (next & 7) != 0) return false;
  fp = next;
  return true;
}

}  // namespace

__attribute__((no_sanitize("address", "thread", "undefined"))) FrameWalk walk_frame_pointers(
    std::uintptr_t frame, std::uintptr_t finish, void** out, std::size_t want, std::size_t& n) noexcept {
  n = 0;
  if (want == 0) return FrameWalk::Done;
  out[n++] = nullptr;
  std::uintptr_t fp = frame;
  while (n < want) {
    const auto* words = reinterpret_cast<const std::uintptr_t*>(fp);
    const std::uintptr_t ra = words[1];
    if (ra == 0) return FrameWalk::Done;
    out[n++] = reinterpret_cast<void*>(ra);
    if (ra == finish || n == want) return FrameWalk::Done;
    // words[0] is the next frame only if ra's function is framed at ra.
    const Verdict v = verdict_of(ra);
    if (v != kFramed) return v == kUnknown ? FrameWalk::Unknown : FrameWalk::Unframed;
    if (!step_to_caller(fp)) return FrameWalk::Unframed;
  }
  return FrameWalk::Done;
}

namespace {

// kMaxUserWalk bounds walk_user_frames()'s steps: as deep as the slow
// path's walk (stacks.cpp's kRaw), for a stack that loops or never ends.
constexpr std::size_t kMaxUserWalk = 128;

// tls_last_framed holds, per step of this thread's last walk_user_frames(),
// the return address it stepped past with a framed verdict: a wait site's
// walks meet the same addresses at the same steps, and comparing with the
// last one costs less than looking its verdict up. Only framed verdicts are
// kept (they never change: verdict_of() is never emptied). The default TLS
// model (one lookup per walk): 1 KiB of initial-exec TLS could keep a
// program from dlopen()ing the runtime; in a dlopen()ed runtime that lookup
// may allocate, so this walk is not for signal handlers.
constinit thread_local std::uintptr_t tls_last_framed[kMaxUserWalk] = {};

// step_up() moves `fp` to the caller's frame, if `ra`'s function is known
// to be framed at `ra` (`last_framed`: what the thread's last walk stepped
// past at this step) and the step goes up the stack; else it says why not.
[[gnu::always_inline]] inline FrameWalk step_up(std::uintptr_t& fp, std::uintptr_t ra,
                                                std::uintptr_t& last_framed) noexcept {
  if (last_framed != ra) {
    const Verdict v = verdict_of(ra);
    if (v != kFramed) return v == kUnknown ? FrameWalk::Unknown : FrameWalk::Unframed;
    last_framed = ra;
  }
  return step_to_caller(fp) ? FrameWalk::Done : FrameWalk::Unframed;
}

}  // namespace

__attribute__((no_sanitize("address", "thread", "undefined"))) FrameWalk walk_user_frames(
    std::uintptr_t frame, std::uintptr_t finish, std::uintptr_t* out, std::size_t max, std::size_t skip,
    std::size_t& n) noexcept {
  const std::size_t modules = own_module_count();
  std::uintptr_t* const last_framed = tls_last_framed;
  std::uintptr_t fp = frame;
  bool on_top = true;       // still in greenscope's frames above the user's
  std::size_t skipped = 0;
  std::size_t count = 0;    // written so far (n is set as the walk ends)
  FrameWalk result = FrameWalk::Done;
  for (std::size_t step = 0; step < kMaxUserWalk; ++step) {
    const std::uintptr_t ra = reinterpret_cast<const std::uintptr_t*>(fp)[1];
    if (ra == 0 || ra == finish) {  // the bottom: greenscope's frames there go too
      while (count > 0 && own_frame(out[count - 1], modules)) --count;
      break;
    }
    const std::uintptr_t pc = ra - 1;
    if (on_top && !own_frame(pc, modules)) on_top = false;
    if (!on_top) {
      if (skipped < skip) {
        ++skipped;
      } else if (count < max) {
        out[count++] = pc;
      } else if (!own_frame(pc, modules)) {
        break;  // full, and a user's frame follows: nothing to drop at the bottom
      }
    }
    if (result = step_up(fp, ra, last_framed[step]); result != FrameWalk::Done) break;
  }
  n = count;
  return result;
}

[[gnu::noinline]] int learn_backtrace(void** out, int size) noexcept {
  unw_context_t context;
  unw_cursor_t cursor;
  if (size <= 0 || unw_getcontext(&context) != 0 || unw_init_local(&cursor, &context) != 0) return 0;
  // Frame 0 is this function; out[0] is frame 1, the pc in the caller.
  CursorFrame prev;
  bool have_prev = false;
  int n = 0;
  while (unw_step(&cursor) > 0) {
    CursorFrame f;
    if (!read_frame(cursor, have_prev && prev.signal, f)) break;
    if (have_prev) judge(prev, f);
    if (n == size) break;  // one frame past the last, only to judge it
    out[n++] = reinterpret_cast<void*>(f.ip);
    prev = f;
    have_prev = true;
  }
  return n;
}

}  // namespace gs::detail
