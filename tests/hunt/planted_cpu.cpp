// planted_cpu.cpp: the kinds that keep the thread on the CPU: a loop in our
// own code, zlib's compress2() of a large buffer, the first touch of a
// large buffer (page faults: CPU time in the kernel), and greenlets that
// yield too rarely (many 5 ms runs: loop lag, no stall).
#include <sys/mman.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "greenscope/runtime.h"
#include "planted.h"

namespace hunt {
namespace {

// --- cpu-loop ---------------------------------------------------------------

// hunt_spin() is the bug: a computation that never yields. Its size is
// fixed (g_spin_rounds, for the planted length of CPU time), as a real
// computation's is: a loaded machine makes it take longer, not do less.
[[gnu::noinline]] void hunt_spin(std::uint64_t rounds) {
  double x = 1;
  for (std::uint64_t r = 0; r < rounds; ++r)
    for (int i = 0; i < 2'000; ++i) x = __builtin_sqrt(x + i);
  g_sink = x;
}

std::uint64_t g_spin_rounds = 0;

// prepare_cpu_loop() sizes the computation by the thread's CPU clock,
// before the runtime starts: rounds for the planted length of CPU time
// however loaded the machine is.
void prepare_cpu_loop(const Options& o) {
  std::uint64_t rounds = 64;
  std::int64_t took = 0;
  for (;;) {
    const std::int64_t before = thread_cpu_ns();
    hunt_spin(rounds);
    took = thread_cpu_ns() - before;
    if (took >= 20'000'000) break;
    rounds *= 2;
  }
  const auto length_ns = static_cast<double>(std::chrono::nanoseconds(o.length).count());
  g_spin_rounds = static_cast<std::uint64_t>(static_cast<double>(rounds) * length_ns / static_cast<double>(took));
}

void prepare_nothing(const Options&) {}

Truth plant_cpu_loop(const Options&) {
  Truth t = in_planted_greenlet([](Truth& x) {
    Measure m;
    hunt_spin(g_spin_rounds);
    m.stop(x);
  });
  t.function = "hunt_spin";
  t.expect = "cpu-bound";
  return t;
}

// --- zlib -------------------------------------------------------------------

// The archive's input: text-like bytes made before the runtime starts, so
// that only the compression runs in the greenlet. kZlibBytesPer100Ms is
// about 100 ms of compress2() at level 9 on this kind of machine.
std::vector<unsigned char> g_archive;
std::vector<unsigned char> g_compressed;
constexpr std::size_t kZlibBytesPer100Ms = 512u << 10;

void prepare_zlib(const Options& o) {
  const std::size_t n = kZlibBytesPer100Ms * static_cast<std::size_t>(o.length.count()) / 100;
  g_archive.resize(n);
  std::uint32_t x = 12345;
  static const char* const kWords[] = {"stall ", "greenlet ", "hub ", "loop ", "yield ", "trace ", "sample ",
                                       "switch ", "callback ", "watcher ", "timer ", "socket "};
  std::size_t at = 0;
  while (at < n) {
    x = x * 1664525u + 1013904223u;
    const char* w = kWords[(x >> 16) % 12];
    for (const char* p = w; *p != 0 && at < n; ++p) g_archive[at++] = static_cast<unsigned char>(*p);
    if ((x & 0xff) < 40 && at < n) g_archive[at++] = static_cast<unsigned char>('0' + (x >> 8) % 10);
  }
  g_compressed.resize(compressBound(static_cast<uLong>(n)));
}

// hunt_compress_archive() is the bug: zlib at level 9 over megabytes, in
// a greenlet.
[[gnu::noinline]] std::size_t hunt_compress_archive() {
  uLongf size = static_cast<uLongf>(g_compressed.size());
  if (compress2(g_compressed.data(), &size, g_archive.data(), static_cast<uLong>(g_archive.size()), 9) != Z_OK) {
    std::fprintf(stderr, "hunt_planted: compress2 failed\n");
    std::exit(1);
  }
  return size;
}

Truth plant_zlib(const Options&) {
  Truth t = in_planted_greenlet([](Truth& x) {
    Measure m;
    const std::size_t size = hunt_compress_archive();
    m.stop(x);
    if (size == 0) std::exit(1);
  });
  t.function = "hunt_compress_archive";
  t.expect = "cpu-bound";
  return t;
}

// --- page-faults --------------------------------------------------------------

// A large anonymous mapping, not yet touched, without transparent huge
// pages: the first write to each 4 KiB page faults. kFaultBytesPer100Ms is
// about 100 ms of first touches here.
unsigned char* g_buffer = nullptr;
std::size_t g_buffer_size = 0;
constexpr std::size_t kFaultBytesPer100Ms = 256u << 20;

void prepare_page_faults(const Options& o) {
  g_buffer_size = kFaultBytesPer100Ms * static_cast<std::size_t>(o.length.count()) / 100;
  void* p = ::mmap(nullptr, g_buffer_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    std::perror("hunt_planted: mmap");
    std::exit(1);
  }
  ::madvise(p, g_buffer_size, MADV_NOHUGEPAGE);
  g_buffer = static_cast<unsigned char*>(p);
}

// hunt_first_touch() is the bug: it writes one byte in each page of a
// fresh buffer, and the kernel maps and clears every page on the way.
[[gnu::noinline]] void hunt_first_touch() {
  for (std::size_t at = 0; at < g_buffer_size; at += 4096) g_buffer[at] = static_cast<unsigned char>(at >> 12);
}

Truth plant_page_faults(const Options&) {
  Truth t = in_planted_greenlet([](Truth& x) {
    Measure m;
    hunt_first_touch();
    m.stop(x);
  });
  t.function = "hunt_first_touch";
  t.expect = "cpu-bound";
  // Not unmapped: munmap() of it takes tens of ms, a stall of its own;
  // the process's exit frees it.
  return t;
}

// --- rare-yields ----------------------------------------------------------------

// hunt_render_chunk() is one run: 5 ms of CPU, then the greenlet yields.
// Four renderers taking turns keep the loop from polling for 20 ms at a
// time: loop lag, with no run long enough to be a stall.
[[gnu::noinline]] void hunt_render_chunk() {
  const auto end = Clock::now() + 5ms;
  double x = 0;
  while (Clock::now() < end)
    for (int i = 1; i < 2'000; ++i) x += 1.0 / i;
  g_sink = x;
}

// Run is one renderer's run as its greenlet timed it.
struct Run {
  Clock::time_point start, end;
  std::size_t renderer = 0;
};

// hold_bounds() is, for each run (in the order they ran), the most its
// greenlet's hold of the thread can have been: from the end of the run
// before (or `before`, the joiner's last reading) to the start of the run
// after (or `after`). Only the hub's switches and a renderer's start lie
// between two runs; the renderers' exits all come after the last run.
std::vector<std::int64_t> hold_bounds(const std::vector<Run>& runs, Clock::time_point before,
                                      Clock::time_point after) {
  std::vector<std::int64_t> out;
  for (std::size_t k = 0; k < runs.size(); ++k) {
    const Clock::time_point from = k > 0 ? runs[k - 1].end : before;
    const Clock::time_point to = k + 1 < runs.size() ? runs[k + 1].start : after;
    out.push_back((to - from).count());
  }
  return out;
}

Truth plant_rare_yields(const Options& o) {
  constexpr int kRenderers = 4;
  const int runs = std::max<int>(1, static_cast<int>(o.length.count()) * 2 / (5 * kRenderers));
  Truth t;
  std::vector<Run> ran;
  ran.reserve(static_cast<std::size_t>(kRenderers * runs));  // no allocation between a run and its yield
  std::vector<gs::GreenletRef> renderers;
  for (int r = 0; r < kRenderers; ++r) {
    auto g = gs::spawn([&ran, r, runs] {
      for (int i = 0; i < runs; ++i) {
        const auto start = Clock::now();
        hunt_render_chunk();
        ran.push_back({start, Clock::now(), static_cast<std::size_t>(r)});
        gs::yield();
      }
    });
    g.set_name("renderer-" + std::to_string(r));
    renderers.push_back(g);
  }
  Measure m;
  const auto before = Clock::now();
  gs::joinall(renderers);
  const auto after = Clock::now();
  m.stop(t);
  t.run_bounds_ns = hold_bounds(ran, before, after);
  for (const Run& run : ran) {
    t.runs_ns.push_back((run.end - run.start).count());
    t.run_greenlets.push_back(renderers[run.renderer].id());
  }
  // Each renderer's exit is a hold of its own with no run in it, between
  // the last run's end and the joiner's wake-up.
  for (const gs::GreenletRef& g : renderers) {
    t.runs_ns.push_back(0);
    t.run_bounds_ns.push_back((after - (ran.empty() ? before : ran.back().end)).count());
    t.run_greenlets.push_back(g.id());
  }
  t.owner = "none";
  t.function = "hunt_render_chunk";
  t.greenlet = "renderer-*";
  t.expect = "lag";
  return t;
}

}  // namespace

void add_cpu_kinds(std::vector<Kind>& out) {
  out.push_back({"cpu-loop", prepare_cpu_loop, plant_cpu_loop});
  out.push_back({"zlib", prepare_zlib, plant_zlib});
  out.push_back({"page-faults", prepare_page_faults, plant_page_faults});
  out.push_back({"rare-yields", prepare_nothing, plant_rare_yields});
}

}  // namespace hunt
