// planted.h: the planted-bug programs of tests/hunt (issue 13). Each kind
// of non-cooperative code is one function pair: prepare() runs before the
// program touches the runtime (no hub yet, so nothing it does can stall
// one), plant() runs in the main greenlet and plants the bug. The program
// measures the bad code itself and prints the truth on stdout, one line:
//
//   truth kind=read owner=greenlet greenlet_id=7 greenlet=planted
//         function=hunt_read_reply expect=blocked calls=read duration_ns=...
//
// which hunt_test.cpp checks the trace's stall report against.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace hunt {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Options {
  std::chrono::milliseconds length{120};  // how long each planted bug holds the thread
  std::string dir = "/tmp";               // for files (sqlite's database)
};

// Truth is what the program knows by construction and measured itself.
struct Truth {
  std::string kind;
  std::string owner = "greenlet";  // greenlet, callback, none (rare-yields: no stall)
  std::uint64_t greenlet_id = 0;   // owner greenlet: who held the thread
  std::string greenlet;            // its name
  std::string function;            // the first frame of the program's own code
  std::string expect;              // cpu-bound, blocked, or lag
  std::string calls;               // blocked: the syscalls it may block in, comma-separated
  std::int64_t duration_ns = 0;    // wall time of the bad code, measured around it
  std::int64_t cpu_ns = 0;         // the thread's CPU time over it
  std::int64_t call_count = -1;    // sqlite: transactions committed (each synced)
  // rare-yields: every run's wall time, and the ids of the greenlets that
  // made them. A run is timed inside its greenlet's hold of the thread,
  // which also holds the switches around it: run_bounds_ns is the most that
  // hold can have been, from the run before's end to the run after's start
  // (a loaded machine can take the thread away between a switch and the
  // clock read: seen, a 5.0 ms run in a 12.2 ms hold). Each renderer's exit
  // is one more hold, a run of 0 ns bounded by the last run's end and the
  // joiner's wake-up.
  std::vector<std::int64_t> runs_ns;
  std::vector<std::int64_t> run_bounds_ns;
  std::vector<std::uint64_t> run_greenlets;
  long long monitor_wait_ms = 0;  // waited for the stall monitor to be on before planting
  bool monitor_on = false;        // it was on once the bug had run
};

// Measure times the code between its construction and stop(): wall and
// thread CPU.
class Measure {
 public:
  Measure();
  void stop(Truth& t);

 private:
  Clock::time_point wall_;
  std::int64_t cpu_;
};

std::int64_t thread_cpu_ns();
void print_truth(const Truth& t);
// g_sink keeps the CPU loops' results alive. Each planted loop is written
// out in its own function, so that the planted function is the innermost
// frame of the program's own code in every sample (a shared helper, even
// inlined, would be that frame instead).
extern volatile double g_sink;

// in_planted_greenlet() runs `fn` in a new greenlet named "planted" and
// waits for it; the truth names that greenlet.
Truth in_planted_greenlet(const std::function<void(Truth&)>& fn);

struct Kind {
  const char* name;
  void (*prepare)(const Options&);
  Truth (*plant)(const Options&);
};

// kinds() lists every planted kind, in the order of the issue.
const std::vector<Kind>& kinds();

// Each planted_*.cpp adds its kinds.
void add_cpu_kinds(std::vector<Kind>& out);       // cpu-loop, zlib, page-faults, rare-yields
void add_blocking_kinds(std::vector<Kind>& out);  // read, mutex, nanosleep, sqlite
void add_dns_kind(std::vector<Kind>& out);        // dns
void add_hub_kinds(std::vector<Kind>& out);       // callback, signal

}  // namespace hunt
