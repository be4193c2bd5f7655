// stack_bench.cpp: what reading a stack costs (greenscope/stacks.h and the
// walkers in runtime/src/introspection/unwind.h). Every benchmark builds a stack 16
// noinline calls deep, then measures one operation there:
//   BM_CaptureCurrent16       detail::capture_current() of 16 frames: unw_backtrace
//                             and the return address - 1 conversion, no trimming
//   BM_CaptureStack16         gs::capture_stack() of 16 frames (max 16) on the main
//                             thread: the above plus trimming greenscope's frames
//   BM_CaptureStackGreenlet   gs::capture_stack() inside a greenlet, the whole stack
//                             (16 + the greenlet's function), trimmed at both ends:
//                             a wait stack as the tracer takes it
//   BM_GreenletStackSuspended gs::greenlet_stack() of a greenlet suspended in
//                             gs::sleep at depth 16: snapshot_suspended() (a
//                             process_vm_readv of its live stack) + unwind_snapshot()
//   BM_SnapshotFromSignal     snapshot_from_signal() given a getcontext() ucontext:
//                             the signal handler's whole work (registers + copy)
//   BM_UnwindSnapshot16       unwind_snapshot() of a copy taken at depth 16 (the
//                             stall monitor's walk of a sample)
//   BM_ThrowCatch             a C++ throw caught one frame up: about 1 us while
//                             exceptions stay on libgcc_s, 24 us if libunwind took
//                             them over (runtime/CMakeLists.txt, link order)
#include <benchmark/benchmark.h>
#include <pthread.h>
#include <ucontext.h>

#include <cstdint>
#include <functional>
#include <vector>

#include <greenscope/runtime.h>
#include <greenscope/stacks.h>

#include "unwind.h"  // private: the walkers themselves

namespace {

constexpr int kDepth = 16;

// at_depth() calls `leaf` from `depth` nested noinline frames.
[[gnu::noinline]] void at_depth(int depth, const std::function<void()>& leaf) {
  if (depth <= 1) {
    leaf();
  } else {
    at_depth(depth - 1, leaf);
  }
  asm volatile("" ::: "memory");  // keeps the call out of tail position
}

void BM_CaptureCurrent16(benchmark::State& state) {
  std::uintptr_t pcs[gs::kMaxStackDepth];
  std::size_t n = 0;
  at_depth(kDepth, [&] {
    for (auto _ : state) benchmark::DoNotOptimize(n = gs::detail::capture_current(pcs, kDepth, 0));
  });
  state.counters["frames"] = static_cast<double>(n);
}
BENCHMARK(BM_CaptureCurrent16);

void BM_CaptureStack16(benchmark::State& state) {
  std::uintptr_t pcs[gs::kMaxStackDepth];
  std::size_t n = 0;
  at_depth(kDepth, [&] {
    for (auto _ : state) benchmark::DoNotOptimize(n = gs::capture_stack(pcs, kDepth));
  });
  state.counters["frames"] = static_cast<double>(n);
}
BENCHMARK(BM_CaptureStack16);

void BM_CaptureStackGreenlet(benchmark::State& state) {
  std::uintptr_t pcs[gs::kMaxStackDepth];
  std::size_t n = 0;
  gs::spawn([&] {
    at_depth(kDepth, [&] {
      for (auto _ : state) benchmark::DoNotOptimize(n = gs::capture_stack(pcs, gs::kMaxStackDepth));
    });
  }).join();
  state.counters["frames"] = static_cast<double>(n);
}
BENCHMARK(BM_CaptureStackGreenlet);

void BM_GreenletStackSuspended(benchmark::State& state) {
  auto g = gs::spawn([] { at_depth(kDepth, [] { gs::sleep(std::chrono::hours(1)); }); });
  gs::yield();
  std::size_t n = 0;
  for (auto _ : state) {
    const gs::StackTrace st = gs::greenlet_stack(g.info());
    n = st.size();
    benchmark::DoNotOptimize(st.data());
  }
  state.counters["frames"] = static_cast<double>(n);
  g.kill();
}
BENCHMARK(BM_GreenletStackSuspended);

// ThreadStack is the calling thread's stack range.
struct ThreadStack {
  std::uintptr_t lo = 0, hi = 0;
  ThreadStack() {
    pthread_attr_t attr;
    void* addr = nullptr;
    std::size_t size = 0;
    if (::pthread_getattr_np(::pthread_self(), &attr) == 0) {
      ::pthread_attr_getstack(&attr, &addr, &size);
      ::pthread_attr_destroy(&attr);
    }
    lo = reinterpret_cast<std::uintptr_t>(addr);
    hi = lo + size;
  }
};

// SnapshotBuffer is a Snapshot with its preallocated copy buffer.
struct SnapshotBuffer {
  std::vector<std::uint8_t> bytes = std::vector<std::uint8_t>(gs::detail::kSnapshotBytes);
  gs::detail::Snapshot snap;
  SnapshotBuffer() {
    snap.bytes = bytes.data();
    snap.capacity = bytes.size();
  }
};

void BM_SnapshotFromSignal(benchmark::State& state) {
  gs::detail::init_unwinding();
  const ThreadStack stack;
  SnapshotBuffer buffer;
  gs::detail::Snapshot& snap = buffer.snap;
  at_depth(kDepth, [&] {
    ucontext_t uc;
    ::getcontext(&uc);
    for (auto _ : state) benchmark::DoNotOptimize(gs::detail::snapshot_from_signal(uc, stack.lo, stack.hi, snap));
  });
  state.counters["bytes"] = static_cast<double>(snap.copy_len);
}
BENCHMARK(BM_SnapshotFromSignal);

void BM_UnwindSnapshot16(benchmark::State& state) {
  gs::detail::init_unwinding();
  const ThreadStack stack;
  SnapshotBuffer buffer;
  gs::detail::Snapshot& snap = buffer.snap;
  at_depth(kDepth, [&] {
    ucontext_t uc;
    ::getcontext(&uc);
    (void)gs::detail::snapshot_from_signal(uc, stack.lo, stack.hi, snap);
  });
  std::uintptr_t pcs[gs::kMaxStackDepth];
  std::size_t n = 0;
  // The walk stops after 16 + the few frames of std::function in between.
  for (auto _ : state) benchmark::DoNotOptimize(n = gs::detail::unwind_snapshot(snap, pcs, kDepth));
  state.counters["frames"] = static_cast<double>(n);
}
BENCHMARK(BM_UnwindSnapshot16);

[[gnu::noinline]] void throw_one(int v) { throw v; }

void BM_ThrowCatch(benchmark::State& state) {
  for (auto _ : state) {
    try {
      throw_one(1);
    } catch (int v) {
      benchmark::DoNotOptimize(v);
    }
  }
}
BENCHMARK(BM_ThrowCatch);

}  // namespace

BENCHMARK_MAIN();
