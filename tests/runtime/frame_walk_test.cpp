// frame_walk_test.cpp: the running stack's walk by frame pointers
// (runtime/src/introspection/frame_walk.h) gives exactly what libunwind
// gives, on chains of framed and unframed functions (frame_walk_steps.h),
// on greenlets, threads and in a signal handler; and it walks framed code
// by itself once libunwind has vouched for it.
#include <signal.h>

#include <alloca.h>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "frame_walk.h"
#include "frame_walk_steps.h"
#include "greenscope/stacks.h"
#include "hidden_frames.h"
#include "greenscope/symbols.h"
#include "test_support.h"
#include "unwind.h"

namespace gs::test {

// The framed steps (this file keeps its frame pointers).
namespace {

[[gnu::noinline]] void framed_step(std::size_t depth, Chain& chain) {
  volatile std::uint64_t local = depth;
  walk_step(depth + 1, chain);
  chain.sink += local;
}

[[gnu::noinline]] void framed_alloca_step(std::size_t depth, Chain& chain) {
  auto* bytes = static_cast<volatile std::uint8_t*>(alloca(16 + depth % 7 * 40));
  bytes[0] = static_cast<std::uint8_t>(depth);
  walk_step(depth + 1, chain);
  chain.sink += bytes[0];
}

[[gnu::noinline]] void framed_aligned_step(std::size_t depth, Chain& chain) {
  alignas(64) volatile std::uint64_t aligned[8] = {depth};
  walk_step(depth + 1, chain);
  chain.sink += aligned[0];
}

}  // namespace

[[gnu::noinline]] void walk_step(std::size_t depth, Chain& chain) {
  if (depth == chain.plan.size()) {
    chain.leaf(chain);
  } else {
    switch (chain.plan[depth]) {
      case Step::Framed: framed_step(depth, chain); break;
      case Step::FramedAlloca: framed_alloca_step(depth, chain); break;
      case Step::FramedAligned: framed_aligned_step(depth, chain); break;
      case Step::Unframed: unframed_step(depth, chain); break;
      case Step::UnframedPressure: unframed_pressure_step(depth, chain); break;
      case Step::AlignedOmitFp: aligned_omit_fp_step(depth, chain); break;
      case Step::kCount: break;
    }
  }
  asm volatile("" ::: "memory");  // not a tail call: every step keeps its frame
}

namespace {

constexpr std::size_t kMax = 200;

std::string function_at(std::uintptr_t pc) {
  const symbols::Location loc = symbols::for_this_process()->lookup(pc);
  return loc.scopes.empty() ? std::string("?") : loc.scopes.back().function;
}

// Walks is one capture by each walker from the same function.
struct Walks {
  std::vector<std::uintptr_t> fast, reference;
  bool fast_bottom = false, reference_bottom = false;
};

[[gnu::noinline]] Walks capture_both(std::size_t max) {
  std::uintptr_t a[kMax], b[kMax];
  Walks w;
  const std::size_t n = detail::capture_current(a, max, 0, w.fast_bottom);
  const std::size_t m = detail::capture_current_by_libunwind(b, max, 0, w.reference_bottom);
  asm volatile("" ::: "memory");
  w.fast.assign(a, a + n);
  w.reference.assign(b, b + m);
  return w;
}

std::string dump(const std::vector<std::uintptr_t>& pcs) {
  std::string text;
  for (std::uintptr_t pc : pcs) text += "\n  " + function_at(pc);
  return text;
}

// expect_same() compares two captures from capture_both(): frame 0 is in
// capture_both() for both (two call sites), every other frame is equal.
void expect_same(const Walks& w, const std::string& what) {
  ASSERT_EQ(w.fast.size(), w.reference.size()) << what << "\nframe walk:" << dump(w.fast) << "\nlibunwind:"
                                               << dump(w.reference);
  EXPECT_EQ(w.fast_bottom, w.reference_bottom) << what;
  if (w.fast.empty()) return;
  EXPECT_NE(function_at(w.fast[0]).find("capture_both"), std::string::npos) << what << dump(w.fast);
  EXPECT_NE(function_at(w.reference[0]).find("capture_both"), std::string::npos) << what << dump(w.reference);
  for (std::size_t i = 1; i < w.fast.size(); ++i) {
    EXPECT_EQ(w.fast[i], w.reference[i]) << what << ": frame " << i << " is " << function_at(w.fast[i])
                                         << ", libunwind says " << function_at(w.reference[i]);
  }
}

// walk_here() walks by frame pointers alone from its own frame, after a
// learning walk if it met a new address. `walked` is the return addresses
// (out[1..]); `reference` is libunwind's from here, with the greenlet's
// bottom (`finish`) that the frame walk writes.
struct HereWalk {
  detail::FrameWalk first = detail::FrameWalk::Done, second = detail::FrameWalk::Done;
  std::vector<std::uintptr_t> walked, reference;
};

[[gnu::noinline]] HereWalk walk_here() {
  HereWalk h;
  void* raw[kMax];
  std::size_t n = 0;
  const auto frame = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  const std::uintptr_t finish = detail::finish_address();
  h.first = detail::walk_frame_pointers(frame, finish, raw, kMax, n);
  if (h.first == detail::FrameWalk::Unknown) (void)detail::learn_backtrace(raw, static_cast<int>(kMax));
  h.second = detail::walk_frame_pointers(frame, finish, raw, kMax, n);
  for (std::size_t i = 1; i < n; ++i) h.walked.push_back(reinterpret_cast<std::uintptr_t>(raw[i]));
  // libunwind's walk from here, as return addresses: its frame 0 is here,
  // and it stops before `finish` where the frame walk writes it.
  std::uintptr_t ref[kMax];
  bool bottom = false;
  const std::size_t m = detail::capture_current_by_libunwind(ref, kMax, 0, bottom);
  for (std::size_t i = 1; i < m; ++i) h.reference.push_back(ref[i] + 1);
  if (bottom && h.second == detail::FrameWalk::Done) h.reference.push_back(finish);
  return h;
}

bool has_unframed(const std::vector<Step>& plan) {
  for (Step s : plan) {
    if (s == Step::Unframed || s == Step::UnframedPressure) return true;
  }
  return false;
}

std::string describe(const std::vector<Step>& plan) {
  std::string text = "plan (outermost first):";
  for (Step s : plan) text += " " + std::to_string(static_cast<int>(s));
  return text;
}

// on_greenlet() runs `plan` with `leaf` at its end on a new greenlet.
template <class Leaf>
void on_greenlet(std::vector<Step> plan, Leaf leaf) {
  static Leaf* current = nullptr;
  current = &leaf;
  Chain chain;
  chain.plan = std::move(plan);
  chain.leaf = [](Chain& c) { (*current)(c); };
  gs::spawn([&] { walk_step(0, chain); }).join();
}

using FrameWalkTest = RuntimeTest;

TEST_F(FrameWalkTest, AFramedChainIsWalkedByFramePointersAloneToTheGreenletsBottom) {
  const std::vector<Step> plan(12, Step::Framed);
  HereWalk h;
  Walks w;
  on_greenlet(plan, [&](Chain&) {
    w = capture_both(kMax);
    h = walk_here();
  });
  expect_same(w, "framed chain");
  EXPECT_TRUE(w.fast_bottom) << "the walk should reach the greenlet's entry" << dump(w.fast);
  EXPECT_EQ(h.second, detail::FrameWalk::Done) << "a framed chain needs no libunwind once learned";
  EXPECT_EQ(h.walked, h.reference) << "frame walk:" << dump(h.walked) << "\nlibunwind:" << dump(h.reference);
  ASSERT_FALSE(h.walked.empty());
  EXPECT_EQ(h.walked.back(), detail::finish_address()) << "it ends at the greenlet's bottom";
}

TEST_F(FrameWalkTest, AllocaAndRealignedFramesWithFramePointersAreWalkedToo) {
  std::vector<Step> plan;
  for (int i = 0; i < 6; ++i) plan.insert(plan.end(), {Step::FramedAlloca, Step::Framed, Step::FramedAligned});
  HereWalk h;
  Walks w;
  on_greenlet(plan, [&](Chain&) {
    w = capture_both(kMax);
    h = walk_here();
  });
  expect_same(w, describe(plan));
  EXPECT_EQ(h.second, detail::FrameWalk::Done);
  EXPECT_EQ(h.walked, h.reference) << "frame walk:" << dump(h.walked) << "\nlibunwind:" << dump(h.reference);
}

TEST_F(FrameWalkTest, AnUnframedFunctionSendsTheWalkToLibunwind) {
  for (Step unframed : {Step::Unframed, Step::UnframedPressure}) {
    const std::vector<Step> plan = {Step::Framed, Step::Framed, unframed, Step::Framed, Step::Framed};
    HereWalk h;
    Walks first, again;
    on_greenlet(plan, [&](Chain&) {
      first = capture_both(kMax);
      again = capture_both(kMax);
      h = walk_here();
    });
    expect_same(first, describe(plan) + ", first walk");
    expect_same(again, describe(plan) + ", again");
    EXPECT_EQ(h.second, detail::FrameWalk::Unframed) << describe(plan);
    // What it did walk by frame pointers, before the unframed function, is
    // libunwind's too.
    ASSERT_LE(h.walked.size(), h.reference.size());
    for (std::size_t i = 0; i < h.walked.size(); ++i) EXPECT_EQ(h.walked[i], h.reference[i]) << i;
  }
}

// Random chains of every kind, captured at several depths (cut short and
// to the bottom), each twice: the learning walk, then the fast one.
TEST_F(FrameWalkTest, RandomChainsGiveLibunwindsFramesAtEveryDepth) {
  std::mt19937 random(20261205);
  std::uniform_int_distribution<int> kind(0, static_cast<int>(Step::kCount) - 1);
  std::uniform_int_distribution<int> length(0, 40);
  int walked_alone = 0;
  for (int round = 0; round < 150; ++round) {
    std::vector<Step> plan(static_cast<std::size_t>(length(random)));
    // Half the chains framed throughout (AlignedOmitFp is framed too), half
    // with any kind.
    for (Step& s : plan) {
      s = static_cast<Step>(kind(random));
      if (round % 2 == 0 && (s == Step::Unframed || s == Step::UnframedPressure)) s = Step::Framed;
    }
    std::vector<Walks> walks;
    HereWalk h;
    on_greenlet(plan, [&](Chain&) {
      for (std::size_t max : {std::size_t{1}, std::size_t{4}, std::size_t{16}, kMax}) {
        walks.push_back(capture_both(max));
        walks.push_back(capture_both(max));
      }
      h = walk_here();
    });
    for (const Walks& w : walks) expect_same(w, describe(plan));
    if (!has_unframed(plan)) {
      EXPECT_EQ(h.second, detail::FrameWalk::Done) << describe(plan);
      ++walked_alone;
    }
    if (HasFailure()) break;
  }
  EXPECT_GT(walked_alone, 50);
}

// Captures is gs::capture_stack()'s result twice (the second walk finds the
// verdicts the first learned: its one-pass walk, where every frame is
// framed) and the reference: libunwind's whole walk, trimmed as
// trim_own_frames() trims it, cut to `max`.
struct Captures {
  std::vector<std::uintptr_t> first, second, reference;
  // The one-pass walk alone, from this function's frame (so its first frame
  // is the caller's, as with one more skip), if it walked; and the reference
  // for it.
  std::vector<std::uintptr_t> one_pass, one_pass_reference;
  bool walked_in_one_pass = false;
};

[[gnu::noinline]] Captures capture_with_skip(std::size_t max, std::size_t skip) {
  std::uintptr_t a[kMax], b[kMax], raw[kMax];
  const std::size_t n1 = gs::capture_stack(a, max, skip);
  const std::size_t n2 = gs::capture_stack(b, max, skip);
  std::uintptr_t d[kMax];
  std::size_t n3 = 0;
  const auto frame = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  const bool one_pass =
      detail::walk_user_frames(frame, detail::finish_address(), d, max, skip, n3) == detail::FrameWalk::Done;
  bool bottom = false;
  const std::size_t m = detail::capture_current_by_libunwind(raw, kMax, 0, bottom);
  asm volatile("" ::: "memory");
  const detail::OwnFrames t = detail::trim_own_frames(raw, m, skip, bottom);
  Captures c;
  c.first.assign(a, a + n1);
  c.second.assign(b, b + n2);
  c.walked_in_one_pass = one_pass;
  if (one_pass) c.one_pass.assign(d, d + n3);
  const detail::OwnFrames u = detail::trim_own_frames(raw, m, skip + 1, bottom);
  c.one_pass_reference.assign(raw + u.first, raw + u.first + std::min(u.last - u.first, max));
  c.reference.assign(raw + t.first, raw + t.first + std::min(t.last - t.first, max));
  return c;
}

// expect_same_capture() compares a capture with the reference; with no
// skip, frame 0 is in capture_with_skip() at two call sites.
void expect_same_capture(const std::vector<std::uintptr_t>& got, const std::vector<std::uintptr_t>& want,
                         std::size_t skip, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what << "\ncapture_stack:" << dump(got) << "\nlibunwind:" << dump(want);
  for (std::size_t i = skip == 0 ? 1 : 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i], want[i]) << what << ": frame " << i << " is " << function_at(got[i]) << ", libunwind says "
                               << function_at(want[i]);
  }
}

// gs::capture_stack() walks by frame pointers in one pass, dropping
// greenscope's frames as it goes (its greenlet's entry at the bottom): the
// same frames as libunwind's walk trimmed afterwards, for every depth and
// skip, on framed and unframed chains.
TEST_F(FrameWalkTest, CaptureStackGivesLibunwindsTrimmedFramesAtEveryDepthAndSkip) {
  std::mt19937 random(20261206);
  std::uniform_int_distribution<int> kind(0, static_cast<int>(Step::kCount) - 1);
  std::uniform_int_distribution<int> length(0, 30);
  for (int round = 0; round < 100; ++round) {
    std::vector<Step> plan(static_cast<std::size_t>(length(random)));
    for (Step& s : plan) {
      s = static_cast<Step>(kind(random));
      if (round % 2 == 0 && (s == Step::Unframed || s == Step::UnframedPressure)) s = Step::Framed;
    }
    struct Case {
      std::size_t max, skip;
      Captures c;
    };
    std::vector<Case> cases;
    on_greenlet(plan, [&](Chain&) {
      for (std::size_t max : {std::size_t{1}, std::size_t{4}, std::size_t{16}, std::size_t{64}}) {
        for (std::size_t skip : {std::size_t{0}, std::size_t{1}, std::size_t{3}}) {
          cases.push_back({max, skip, capture_with_skip(max, skip)});
        }
      }
    });
    for (const Case& k : cases) {
      const std::string what = describe(plan) + ", max " + std::to_string(k.max) + ", skip " + std::to_string(k.skip);
      expect_same_capture(k.c.first, k.c.reference, k.skip, what + ", first capture");
      expect_same_capture(k.c.second, k.c.reference, k.skip, what + ", second capture");
      // Once the first capture learned the verdicts, a framed chain is
      // walked in one pass.
      if (!has_unframed(plan)) {
        EXPECT_TRUE(k.c.walked_in_one_pass) << what;
      }
      if (k.c.walked_in_one_pass) {
        EXPECT_EQ(k.c.one_pass, k.c.one_pass_reference) << what << ", one pass:" << dump(k.c.one_pass)
                                                        << "\nlibunwind:" << dump(k.c.one_pass_reference);
      }
    }
    if (HasFailure()) break;
  }
}

// A thread remembers a few of its walks (frame_walk.cpp's WalkMemo) and a
// walk that reads the same return addresses gives what the remembered one
// gave, without looking anything up. Here more greenlets than it remembers
// capture in turns, on chains that share their top and part ways deeper
// (the same functions to different depths, a different kind of frame
// halfway, an unframed one), at two depths and skips: every capture, the
// first and each one after, must be libunwind's.
struct TurnChain : Chain {
  struct Case {
    std::size_t max, skip;
    Captures c;
  };
  std::vector<Case> cases;
};

void capture_in_turns(Chain& chain) {
  auto& turn = static_cast<TurnChain&>(chain);
  for (int round = 0; round < 6; ++round) {
    for (const auto& [max, skip] : {std::pair<std::size_t, std::size_t>{16, 0}, {4, 1}, {64, 0}}) {
      turn.cases.push_back({max, skip, capture_with_skip(max, skip)});
      gs::yield();
    }
  }
}

TEST_F(FrameWalkTest, GreenletsCapturingInTurnsOnChainsThatPartWaysEachGetTheirOwnFrames) {
  using S = Step;
  const std::vector<std::vector<Step>> plans = {
      {S::Framed, S::Framed, S::Framed},
      {S::Framed, S::Framed, S::Framed, S::Framed, S::Framed},
      {S::Framed, S::Framed, S::Framed, S::Framed, S::Framed, S::Framed, S::Framed, S::Framed, S::Framed},
      {S::Framed, S::FramedAlloca, S::Framed, S::Framed, S::Framed},
      {S::Framed, S::Framed, S::FramedAligned, S::Framed, S::Framed},
      {S::FramedAlloca, S::Framed, S::Framed, S::Framed, S::Framed},
      {S::Framed, S::Unframed, S::Framed, S::Framed, S::Framed},
      {},
  };
  std::vector<TurnChain> chains(plans.size());
  std::vector<gs::GreenletRef> greenlets;
  for (std::size_t i = 0; i < plans.size(); ++i) {
    chains[i].plan = plans[i];
    chains[i].leaf = &capture_in_turns;
    greenlets.push_back(gs::spawn([&chain = chains[i]] { walk_step(0, chain); }));
  }
  for (const gs::GreenletRef& g : greenlets) ASSERT_TRUE(g.join());
  for (const TurnChain& chain : chains) {
    ASSERT_EQ(chain.cases.size(), 18u);
    for (std::size_t i = 0; i < chain.cases.size(); ++i) {
      const TurnChain::Case& k = chain.cases[i];
      const std::string what = describe(chain.plan) + ", capture " + std::to_string(i) + ", max " +
                               std::to_string(k.max) + ", skip " + std::to_string(k.skip);
      expect_same_capture(k.c.first, k.c.reference, k.skip, what + ", first capture");
      expect_same_capture(k.c.second, k.c.reference, k.skip, what + ", second capture");
      if (!has_unframed(chain.plan)) {
        EXPECT_TRUE(k.c.walked_in_one_pass) << what;
      }
      if (k.c.walked_in_one_pass) {
        EXPECT_EQ(k.c.one_pass, k.c.one_pass_reference) << what << ", one pass:" << dump(k.c.one_pass)
                                                        << "\nlibunwind:" << dump(k.c.one_pass_reference);
      }
    }
  }
}

// A capture from a signal handler: the frame walk must not follow the
// kernel's signal frame (__restore_rt) by frame pointers. The handler
// allocates nothing: it fills g_raw, read after.
struct RawWalks {
  std::uintptr_t fast[kMax], reference[kMax];
  std::size_t n = 0, m = 0;
  bool fast_bottom = false, reference_bottom = false;
};
RawWalks g_raw;

[[gnu::noinline]] void capture_both_into(RawWalks& r) {
  r.n = detail::capture_current(r.fast, kMax, 0, r.fast_bottom);
  r.m = detail::capture_current_by_libunwind(r.reference, kMax, 0, r.reference_bottom);
  asm volatile("" ::: "memory");
}
void capture_in_handler(int) { capture_both_into(g_raw); }

TEST_F(FrameWalkTest, ASignalFrameIsWalkedByLibunwind) {
  // Run alone, this test's first walk is in the handler: the walkers'
  // one-time set-up belongs in normal context (unwind.h), as the monitor does it.
  detail::init_unwinding();
  struct sigaction action {}, old {};
  action.sa_handler = &capture_in_handler;
  ASSERT_EQ(::sigaction(SIGUSR2, &action, &old), 0);
  for (int i = 0; i < 3; ++i) {
    g_raw.n = g_raw.m = 0;
    on_greenlet({Step::Framed, Step::Unframed, Step::Framed}, [](Chain&) { ::raise(SIGUSR2); });
    Walks w;
    w.fast.assign(g_raw.fast, g_raw.fast + g_raw.n);
    w.reference.assign(g_raw.reference, g_raw.reference + g_raw.m);
    w.fast_bottom = g_raw.fast_bottom;
    w.reference_bottom = g_raw.reference_bottom;
    expect_same(w, "in a signal handler");
    EXPECT_GE(w.fast.size(), 5u) << dump(w.fast);
  }
  ::sigaction(SIGUSR2, &old, nullptr);
}

// On a thread's own stack the bottom is glibc's (unframed): a walk to the
// bottom ends with libunwind's frames.
TEST_F(FrameWalkTest, AThreadsOwnStackToItsBottom) {
  Walks on_main, on_thread;
  Chain chain;
  chain.plan = {Step::Framed, Step::FramedAlloca, Step::Framed};
  static Walks* out = nullptr;
  chain.leaf = [](Chain&) { *out = capture_both(kMax); };
  out = &on_main;
  walk_step(0, chain);
  expect_same(on_main, "main thread");
  EXPECT_TRUE(on_main.fast_bottom);
  std::thread([&] {
    Chain c = chain;
    out = &on_thread;
    walk_step(0, c);
  }).join();
  expect_same(on_thread, "std::thread");
  EXPECT_TRUE(on_thread.fast_bottom);
}

}  // namespace
}  // namespace gs::test
