// stacks_test.cpp: native stacks (greenscope/stacks.h) and the walkers
// under them (runtime/src/introspection/unwind.h): a suspended greenlet's stack, the
// running code's, a thread interrupted by a signal, damaged input, and the
// link order that keeps C++ exceptions on libgcc_s.
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "greenscope/stacks.h"
#include "greenscope/symbols.h"
#include "test_support.h"
#include "unwind_binding.h"
#include "unwind.h"

namespace gs::test {
namespace {

// function_at() is the name of the function holding `pc` (the outermost
// scope, where inlining put several), "" if unknown.
std::string function_at(std::uintptr_t pc) {
  const symbols::Location loc = symbols::for_this_process()->lookup(pc);
  return loc.scopes.empty() ? std::string() : loc.scopes.back().function;
}

// describe_all() is every scope at `pc`, for matching and for messages.
std::string describe_all(std::uintptr_t pc) {
  const symbols::Location loc = symbols::for_this_process()->lookup(pc);
  std::string text;
  for (const auto& s : loc.scopes) text += s.function + " | ";
  return text;
}

std::string module_of(std::uintptr_t pc) {
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(pc), &info) == 0 || info.dli_fname == nullptr) return {};
  return info.dli_fname;
}

bool in_runtime_library(std::uintptr_t pc) {
  return module_of(pc).find("libgreenscope_runtime") != std::string::npos;
}

std::string dump(const StackTrace& st) { return "\n" + format_stack(st); }

// index_of() is the first frame whose function name contains `name`, or -1.
int index_of(const StackTrace& st, const std::string& name) {
  for (std::size_t i = 0; i < st.size(); ++i) {
    if (function_at(st[i]).find(name) != std::string::npos) return static_cast<int>(i);
  }
  return -1;
}

// The asm statements after each call keep it out of tail position, so that
// every function keeps its frame.
[[gnu::noinline]] void inner_wait() {
  gs::sleep(std::chrono::seconds(30));
  asm volatile("" ::: "memory");
}
[[gnu::noinline]] void outer_wait() {
  inner_wait();
  asm volatile("" ::: "memory");
}
[[gnu::noinline]] void greenlet_body() {
  outer_wait();
  asm volatile("" ::: "memory");
}

// expect_ends_at_body() checks the frames below the greenlet's function:
// only the spawn plumbing from greenscope's headers (GreenletImpl::run and
// the std::apply that calls the function: one frame in an optimized build,
// the function inlined into it, six in a debug build), compiled into the
// test itself; nothing from the runtime library (the hub's entry).
void expect_ends_at_body(const StackTrace& st, int body) {
  ASSERT_GE(body, 0) << dump(st);
  for (std::size_t i = static_cast<std::size_t>(body) + 1; i < st.size(); ++i) {
    const std::string f = function_at(st[i]);
    const bool plumbing = f.find("gs::detail::") != std::string::npos || f.find("std::__invoke") != std::string::npos ||
                          f.find("std::apply") != std::string::npos || f.find("std::__apply_impl") != std::string::npos;
    EXPECT_TRUE(plumbing)
        << "frame " << i << " below the greenlet's function: " << f << dump(st);
  }
  EXPECT_FALSE(in_runtime_library(st.front())) << dump(st);
  EXPECT_FALSE(in_runtime_library(st.back())) << dump(st);
}

using StacksTest = RuntimeTest;

TEST_F(StacksTest, SuspendedGreenletStackStartsAtTheUsersCallAndEndsAtItsFunction) {
  auto g = gs::spawn(&greenlet_body);
  gs::yield();
  ASSERT_EQ(g.state(), GreenletState::Waiting);
  const StackTrace st = greenlet_stack(g.info());
  ASSERT_GE(st.size(), 3u) << dump(st);
  EXPECT_NE(function_at(st[0]).find("inner_wait"), std::string::npos) << dump(st);
  EXPECT_NE(function_at(st[1]).find("outer_wait"), std::string::npos) << dump(st);
  EXPECT_NE(function_at(st[2]).find("greenlet_body"), std::string::npos) << dump(st);
  expect_ends_at_body(st, index_of(st, "greenlet_body"));
  g.kill();
}

TEST_F(StacksTest, GreenletNotStartedOrDeadHasNoStack) {
  auto later = gs::spawn_later(std::chrono::seconds(30), [] {});
  auto queued = gs::spawn([] {});
  EXPECT_TRUE(greenlet_stack(later.info()).empty());
  EXPECT_TRUE(greenlet_stack(queued.info()).empty());
  queued.join();
  EXPECT_TRUE(greenlet_stack(queued.info()).empty());
  later.kill();
  EXPECT_TRUE(greenlet_stack(later.info()).empty());
}

[[gnu::noinline]] StackTrace capture_here() {
  StackTrace st = current_stack();
  asm volatile("" ::: "memory");
  return st;
}
[[gnu::noinline]] void capture_in_greenlet(StackTrace* out) {
  *out = capture_here();
  asm volatile("" ::: "memory");
}

TEST_F(StacksTest, CaptureInGreenletStartsAtCallerAndEndsAtItsFunction) {
  StackTrace st;
  gs::spawn(&capture_in_greenlet, &st).join();
  ASSERT_GE(st.size(), 2u) << dump(st);
  EXPECT_NE(function_at(st[0]).find("capture_here"), std::string::npos) << dump(st);
  EXPECT_NE(function_at(st[1]).find("capture_in_greenlet"), std::string::npos) << dump(st);
  expect_ends_at_body(st, 1);
}

TEST_F(StacksTest, CaptureOnMainThreadStartsAtCaller) {
  const StackTrace st = capture_here();
  ASSERT_GE(st.size(), 2u) << dump(st);
  EXPECT_NE(function_at(st[0]).find("capture_here"), std::string::npos) << dump(st);
  EXPECT_GE(index_of(st, "CaptureOnMainThreadStartsAtCaller"), 1) << dump(st);
  for (std::uintptr_t pc : st) EXPECT_FALSE(in_runtime_library(pc)) << dump(st);
}

[[gnu::noinline]] std::size_t capture_skipping_one(std::uintptr_t* out, std::size_t max) {
  const std::size_t n = capture_stack(out, max, 1);
  asm volatile("" ::: "memory");
  return n;
}

TEST_F(StacksTest, CaptureSkipsFramesAndStopsAtMax) {
  std::uintptr_t pcs[3];
  const std::size_t n = capture_skipping_one(pcs, 3);
  ASSERT_EQ(n, 3u);
  EXPECT_NE(function_at(pcs[0]).find("CaptureSkipsFramesAndStopsAtMax"), std::string::npos)
      << describe_all(pcs[0]);
}

[[gnu::noinline]] std::size_t walk_here(std::uintptr_t* out, std::size_t max) {
  const std::size_t n = detail::capture_current(out, max, 0);
  asm volatile("" ::: "memory");
  return n;
}

[[gnu::noinline]] std::size_t walk_to_bottom(std::uintptr_t* out, std::size_t max, bool* bottom) {
  const std::size_t n = detail::capture_current(out, max, 0, *bottom);
  asm volatile("" ::: "memory");
  return n;
}

TEST_F(StacksTest, CaptureCurrentStartsAtItsCaller) {
  std::uintptr_t pcs[4];
  ASSERT_EQ(walk_here(pcs, 4), 4u);
  EXPECT_NE(function_at(pcs[0]).find("walk_here"), std::string::npos) << describe_all(pcs[0]);
  EXPECT_NE(function_at(pcs[1]).find("CaptureCurrentStartsAtItsCaller"), std::string::npos) << describe_all(pcs[1]);
  bool bottom = true;
  ASSERT_EQ(walk_to_bottom(pcs, 4, &bottom), 4u);
  EXPECT_NE(function_at(pcs[0]).find("walk_to_bottom"), std::string::npos) << describe_all(pcs[0]);
  EXPECT_FALSE(bottom);
}

TEST_F(StacksTest, CaptureCurrentInGreenletStopsAtItsEntry) {
  StackTrace st(kMaxStackDepth);
  bool bottom = false;
  gs::spawn([&] {
    st.resize(walk_to_bottom(st.data(), st.size(), &bottom));
    asm volatile("" ::: "memory");
  }).join();
  ASSERT_FALSE(st.empty());
  EXPECT_TRUE(bottom);
  EXPECT_NE(function_at(st.front()).find("walk_to_bottom"), std::string::npos) << dump(st);
  // The raw walk keeps the runtime's frames; the last is the hub's entry,
  // whose return address (make_fcontext's `finish`) ended it.
  EXPECT_TRUE(in_runtime_library(st.back())) << dump(st);
  EXPECT_NE(function_at(st.back()).find("entry"), std::string::npos) << dump(st);
}

TEST_F(StacksTest, GreenletStackOfTheRunningGreenletIsItsCurrentStack) {
  StackTrace st;
  gs::spawn([&st] {
    st = greenlet_stack(gs::current().info());
    asm volatile("" ::: "memory");
  }).join();
  ASSERT_FALSE(st.empty());
  EXPECT_NE(describe_all(st[0]).find("GreenletStackOfTheRunningGreenletIsItsCurrentStack"), std::string::npos)
      << dump(st);
}

TEST_F(StacksTest, GreenletStackFromAnotherThreadIsAUsageError) {
  auto g = gs::spawn(&greenlet_body);
  gs::yield();
  const GreenletInfo& info = g.info();
  std::string message;
  std::thread([&] {
    try {
      (void)greenlet_stack(info);
    } catch (const UsageError& e) {
      message = e.what();
    }
  }).join();
  EXPECT_NE(message.find("own hub's thread"), std::string::npos) << message;
  g.kill();
}

TEST(StacksSwitchCode, JumpAndOntopFcontextAreSwitchCode) {
  detail::init_unwinding();
  const auto jump = reinterpret_cast<std::uintptr_t>(::dlsym(RTLD_DEFAULT, "jump_fcontext"));
  const auto ontop = reinterpret_cast<std::uintptr_t>(::dlsym(RTLD_DEFAULT, "ontop_fcontext"));
  ASSERT_NE(jump, 0u);
  EXPECT_TRUE(detail::in_switch_code(jump));
  EXPECT_TRUE(detail::in_switch_code(jump + 0x30));
  EXPECT_TRUE(detail::in_switch_code(ontop + 1));
  EXPECT_FALSE(detail::in_switch_code(reinterpret_cast<std::uintptr_t>(&inner_wait)));
  EXPECT_NE(detail::finish_address(), 0u);
}

// --- A thread interrupted by a signal -------------------------------------

std::atomic<bool> g_spin_stop{false};
std::atomic<bool> g_spinning{false};
std::atomic<bool> g_sampled{false};
std::atomic<bool> g_sample_ok{false};
std::uintptr_t g_spin_lo = 0, g_spin_hi = 0;  // written before g_spinning
detail::Snapshot g_signal_snap;

[[gnu::noinline]] void spin_here() {
  g_spinning.store(true, std::memory_order_release);
  while (!g_spin_stop.load(std::memory_order_relaxed)) asm volatile("pause" ::: "memory");
  asm volatile("" ::: "memory");
}

void on_sample(int, siginfo_t*, void* context) {
  const int saved = errno;
  const bool ok = detail::snapshot_from_signal(*static_cast<const ucontext_t*>(context), g_spin_lo, g_spin_hi,
                                               g_signal_snap);
  g_sample_ok.store(ok, std::memory_order_relaxed);
  g_sampled.store(true, std::memory_order_release);
  errno = saved;
}

TEST(StacksSignal, SnapshotFromSignalUnwindsToTheInterruptedFunction) {
  detail::init_unwinding();
  std::vector<std::uint8_t> bytes(detail::kSnapshotBytes);
  g_signal_snap.bytes = bytes.data();
  g_signal_snap.capacity = bytes.size();
  struct sigaction sa {};
  sa.sa_sigaction = &on_sample;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  const int sig = SIGRTMIN + 3;
  ASSERT_EQ(::sigaction(sig, &sa, nullptr), 0);

  std::thread spinner([] {
    pthread_attr_t attr;
    ASSERT_EQ(::pthread_getattr_np(::pthread_self(), &attr), 0);
    void* addr = nullptr;
    std::size_t size = 0;
    ::pthread_attr_getstack(&attr, &addr, &size);
    ::pthread_attr_destroy(&attr);
    g_spin_lo = reinterpret_cast<std::uintptr_t>(addr);
    g_spin_hi = g_spin_lo + size;
    spin_here();
  });
  while (!g_spinning.load(std::memory_order_acquire)) std::this_thread::yield();
  ASSERT_EQ(::pthread_kill(spinner.native_handle(), sig), 0);
  while (!g_sampled.load(std::memory_order_acquire)) std::this_thread::yield();
  g_spin_stop.store(true);
  spinner.join();
  ASSERT_TRUE(g_sample_ok.load()) << "the handler refused the sample";
  EXPECT_TRUE(g_signal_snap.interrupted);

  std::uintptr_t pcs[kMaxStackDepth];
  const std::size_t n = detail::unwind_snapshot(g_signal_snap, pcs, kMaxStackDepth);
  const StackTrace st(pcs, pcs + n);
  ASSERT_GE(n, 1u);
  const int at = index_of(st, "spin_here");
  EXPECT_TRUE(at >= 0 && at <= 2) << dump(st);
  // Below it, the thread's own start: the walk went on past the user code.
  EXPECT_GT(n, static_cast<std::size_t>(at) + 1) << dump(st);
}

// --- Damaged input -----------------------------------------------------------

TEST(StacksDamage, UnwindOfGarbageReturnsWithoutCrashing) {
  detail::init_unwinding();
  std::mt19937_64 rng(12345);
  std::vector<std::uint8_t> bytes(16 * 1024);
  // Code addresses make the walker find real CFI and apply it to garbage.
  const std::uintptr_t code[] = {reinterpret_cast<std::uintptr_t>(&inner_wait),
                                 reinterpret_cast<std::uintptr_t>(&::strlen),
                                 reinterpret_cast<std::uintptr_t>(&::dlsym)};
  // A range nothing is mapped at: only the copy can be read there.
  const std::uintptr_t fake_lo = 0x100000000000ull;
  for (int round = 0; round < 2000; ++round) {
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
    if (round % 2 == 1) {  // plant plausible return addresses
      for (std::size_t i = 0; i + 8 <= bytes.size(); i += 64) {
        const std::uint64_t v = code[rng() % 3] + rng() % 256;
        std::memcpy(&bytes[i], &v, 8);
      }
    }
    detail::Snapshot s;
    s.bytes = bytes.data();
    s.capacity = bytes.size();
    s.copy_lo = fake_lo;
    s.copy_len = bytes.size();
    s.stack_lo = fake_lo;
    s.stack_hi = fake_lo + bytes.size() + (round % 3) * 4096;
    s.interrupted = round % 4 < 2;
    s.regs.rip = round % 5 == 0 ? rng() : code[rng() % 3] + rng() % 64;
    s.regs.rsp = fake_lo + rng() % bytes.size();
    s.regs.rbp = round % 7 == 0 ? rng() : fake_lo + rng() % bytes.size();
    if (round % 11 == 0) {  // addresses at the top of the address space
      s.regs.rbp = ~0ull - rng() % 64;
      for (std::size_t i = 0; i + 8 <= bytes.size(); i += 24) std::memset(&bytes[i], 0xff, 8);
    }
    s.regs.rbx = rng();
    s.regs.scratch_known = round % 2 == 0;
    std::uintptr_t pcs[kMaxStackDepth];
    EXPECT_LE(detail::unwind_snapshot(s, pcs, kMaxStackDepth), kMaxStackDepth);
  }
}

TEST(StacksDamage, SnapshotOfUnmappedStackIsRefused) {
  detail::init_unwinding();
  const std::size_t size = 64 * 1024;
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  ::munmap(p, size);
  const auto lo = reinterpret_cast<std::uintptr_t>(p);
  const StackRange range{lo, lo + size, false};
  std::vector<std::uint8_t> bytes(detail::kSnapshotBytes);
  detail::Snapshot s;
  s.bytes = bytes.data();
  s.capacity = bytes.size();
  EXPECT_FALSE(detail::snapshot_suspended(reinterpret_cast<void*>(lo + size - 256), range, s));
}

// --- Link order ---------------------------------------------------------------

TEST(StacksLinkOrder, CxxExceptionsStayOnLibgccS) { EXPECT_EQ(unwind_binding_problem(), ""); }

// A program with no exception handling of its own, linked --as-needed: the
// case where the runtime's link order alone decides (see the probe).
TEST(StacksLinkOrder, ProgramWithoutExceptionsOfItsOwnStaysOnLibgccS) {
  const int status = std::system(GS_UNWIND_BINDING_PROBE);
  EXPECT_EQ(status, 0) << "the probe found _Unwind_RaiseException outside libgcc_s (see its output)";
}

}  // namespace
}  // namespace gs::test
