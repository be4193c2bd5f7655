// frame_walk.cpp: the frame-pointer walk and the verdicts it trusts (see
// frame_walk.h for why a walk needs them).
#include "frame_walk.h"

#include <libunwind.h>

#include <algorithm>
#include <atomic>
#include <bit>

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
// Precondition: `fp` is 8-byte aligned (so is the next one, then). One
// compare: rotating the step right by 3 makes a misaligned one huge, and
// subtracting 1 makes a step of 0 (or down the stack) huge.
[[gnu::always_inline]] inline bool step_to_caller(std::uintptr_t& fp) noexcept {
  const std::uintptr_t next = reinterpret_cast<const std::uintptr_t*>(fp)[0];
  if (std::rotr(next - fp, 3) - 1 >= kMaxFrameBytes / 8) return false;
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

// A WalkMemo is one walk this thread made that ended Done: its parameters,
// the return addresses it read, step by step (it stepped past each but the
// last, which ended it: the bottom, or the first user frame past a full
// `out`), and the frames it gave. A walk that reads the same addresses with
// the same parameters gives the same frames: each address's verdict
// (framed) never changes, own_frame() depends on the address and the
// number of own modules, and where the walk ends on the addresses and the
// counts they led to. So it need not look anything up: a wait site's walks
// (every connection's greenlet waiting in the same recv()) meet the same
// addresses on different stacks, and cost a load and a compare a frame.
// kMemos walks are kept, so that a program's few wait sites in turn keep
// theirs; walks deeper than kMemoSteps or asking for more than kMemoFrames
// are not kept (default-model TLS, about 3 KiB a thread).
constexpr std::size_t kMemos = 4;
constexpr std::size_t kMemoSteps = 64;
constexpr std::size_t kMemoFrames = 32;

struct WalkMemo {
  std::size_t max, skip, modules;  // the walk's parameters
  std::uint32_t steps;             // addresses read; 0 for no walk
  std::uint32_t n;                 // frames given
  std::uintptr_t ra[kMemoSteps];
  std::uintptr_t out[kMemoFrames];
};

struct WalkMemos {
  WalkMemo memo[kMemos];
  std::uint32_t last;    // the memo the last walk gave or made
  std::uint32_t victim;  // the next memo a new walk replaces (never `last`)
};

// tls_memos: default TLS model (one lookup per walk): 3 KiB of initial-exec
// TLS could keep a program from dlopen()ing the runtime; in a dlopen()ed
// runtime that lookup may allocate, so this walk is not for signal handlers.
constinit thread_local WalkMemos tls_memos = {};

bool same_walk(const WalkMemo& m, std::size_t max, std::size_t skip, std::size_t modules) noexcept {
  return m.steps != 0 && m.max == max && m.skip == skip && m.modules == modules;
}

// next_candidate() is a memo of the same walk that read, at steps
// [0, step), what `from` read (and so what this walk read so far), and
// `ra` at `step`: the walk goes on along it. Null if none.
const WalkMemo* next_candidate(const WalkMemos& memos, const WalkMemo& from, std::uint32_t step,
                               std::uintptr_t ra) noexcept {
  for (const WalkMemo& m : memos.memo) {
    if (&m == &from || m.max != from.max || m.skip != from.skip || m.modules != from.modules) continue;
    if (m.steps <= step || m.ra[step] != ra) continue;
    bool same_prefix = true;
    for (std::uint32_t i = 0; i < step && same_prefix; ++i) same_prefix = m.ra[i] == from.ra[i];
    if (same_prefix) return &m;
  }
  return nullptr;
}

// replay() walks from `frame` for as long as the addresses it reads are
// those a memo read, and gives that memo's frames if they are to its end.
// False if none matches (the walk then goes the long way).
__attribute__((no_sanitize("address", "thread", "undefined"))) bool replay(
    WalkMemos& memos, std::uintptr_t frame, std::size_t max, std::size_t skip, std::size_t modules,
    std::uintptr_t* out, std::size_t& n) noexcept {
  const WalkMemo* m = &memos.memo[memos.last];
  if (!same_walk(*m, max, skip, modules)) {
    m = nullptr;
    for (const WalkMemo& c : memos.memo) {
      if (same_walk(c, max, skip, modules)) {
        m = &c;
        break;
      }
    }
    if (m == nullptr) return false;
  }
  if ((frame & 7) != 0) return false;
  std::uintptr_t fp = frame;
  std::uint32_t step = 0;
  for (;;) {
    // Along `m` for as long as it goes; the address at its last step ended
    // that walk and ends this one.
    const std::uintptr_t* expected = m->ra;
    const std::uint32_t last = m->steps - 1;
    std::uintptr_t ra = 0;
    for (;; ++step) {
      ra = reinterpret_cast<const std::uintptr_t*>(fp)[1];
      if (ra != expected[step]) break;
      if (step == last) {
        std::copy(m->out, m->out + m->n, out);
        n = m->n;
        memos.last = static_cast<std::uint32_t>(m - memos.memo);
        if (memos.victim == memos.last) memos.victim = (memos.last + 1) % kMemos;
        return true;
      }
      if (!step_to_caller(fp)) return false;
    }
    if ((m = next_candidate(memos, *m, step, ra)) == nullptr) return false;
  }
}

// MemoWriter records a long walk into the victim memo as it goes, and
// keeps it if the walk ends Done within the memo's bounds.
class MemoWriter {
 public:
  MemoWriter(WalkMemos& memos, std::size_t max, std::size_t skip, std::size_t modules) noexcept
      : memos_(memos), m_(memos.memo[memos.victim]), keep_(max <= kMemoFrames) {
    m_.steps = 0;  // not a walk until finished
    m_.max = max;
    m_.skip = skip;
    m_.modules = modules;
  }
  // read() notes the address read at `step`.
  void read(std::size_t step, std::uintptr_t ra) noexcept {
    if (step < kMemoSteps) m_.ra[step] = ra;
    else keep_ = false;
  }
  // framed() says whether the last walk stepped past `ra` at `step` (so its
  // verdict is framed): a wait site's walks meet the same addresses at the
  // same steps, and comparing costs less than a lookup.
  bool framed(std::size_t step, std::uintptr_t ra) const noexcept {
    const WalkMemo& last = memos_.memo[memos_.last];
    return step + 1 < last.steps && last.ra[step] == ra;
  }
  // finish() keeps the walk, ended by the address read at `step`.
  void finish(std::size_t step, const std::uintptr_t* out, std::size_t n) noexcept {
    if (!keep_ || step >= kMemoSteps) return;
    std::copy(out, out + n, m_.out);
    m_.n = static_cast<std::uint32_t>(n);
    m_.steps = static_cast<std::uint32_t>(step + 1);
    const auto index = static_cast<std::uint32_t>(&m_ - memos_.memo);
    memos_.last = index;
    memos_.victim = (index + 1) % kMemos;
  }

 private:
  WalkMemos& memos_;
  WalkMemo& m_;
  bool keep_;
};

// step_up() moves `fp` to the caller's frame, if `ra`'s function is known
// to be framed at `ra` and the step goes up the stack; else it says why not.
[[gnu::always_inline]] inline FrameWalk step_up(std::uintptr_t& fp, std::uintptr_t ra, bool known_framed) noexcept {
  if (!known_framed) {
    const Verdict v = verdict_of(ra);
    if (v != kFramed) return v == kUnknown ? FrameWalk::Unknown : FrameWalk::Unframed;
  }
  return step_to_caller(fp) ? FrameWalk::Done : FrameWalk::Unframed;
}

}  // namespace

__attribute__((no_sanitize("address", "thread", "undefined"))) FrameWalk walk_user_frames(
    std::uintptr_t frame, std::uintptr_t finish, std::uintptr_t* out, std::size_t max, std::size_t skip,
    std::size_t& n) noexcept {
  const std::size_t modules = own_module_count();
  WalkMemos& memos = tls_memos;
  if (replay(memos, frame, max, skip, modules, out, n)) return FrameWalk::Done;
  MemoWriter memo(memos, max, skip, modules);
  std::uintptr_t fp = frame;
  bool on_top = true;       // still in greenscope's frames above the user's
  std::size_t skipped = 0;
  std::size_t count = 0;    // written so far (n is set as the walk ends)
  for (std::size_t step = 0; step < kMaxUserWalk; ++step) {
    const std::uintptr_t ra = reinterpret_cast<const std::uintptr_t*>(fp)[1];
    memo.read(step, ra);
    if (ra == 0 || ra == finish) {  // the bottom: greenscope's frames there go too
      while (count > 0 && own_frame(out[count - 1], modules)) --count;
      memo.finish(step, out, count);
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
        memo.finish(step, out, count);
        break;  // full, and a user's frame follows: nothing to drop at the bottom
      }
    }
    if (const FrameWalk r = step_up(fp, ra, memo.framed(step, ra)); r != FrameWalk::Done) {
      n = count;
      return r;
    }
  }
  n = count;
  return FrameWalk::Done;
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
