// config.h: process-wide runtime settings.
#pragma once

#include <cstddef>

#include "greenscope/types.h"

namespace gs {

// kMaxStackSize: the largest RuntimeOptions::stack_size (1 GiB).
inline constexpr std::size_t kMaxStackSize = std::size_t{1} << 30;

// RuntimeOptions tunes stacks and scheduling. Apply with configure() before
// the threads that should use them create their hubs.
struct RuntimeOptions {
  // stack_size is each greenlet's stack, rounded up to whole pages; less
  // than 16 KiB is raised to 16 KiB, more than kMaxStackSize (1 GiB) is a
  // UsageError. Only the pages a greenlet touches cost memory.
  std::size_t stack_size = 128 * 1024;
  // max_guarded_stacks caps how many stacks get a guard page. 0 means no cap
  // where the kernel has guard regions (Linux 6.13), which cost no memory
  // mapping; elsewhere each guard is a PROT_NONE page costing two of the
  // vm.max_map_count mappings (65530 by default), and 0 means about 40 % of
  // that. Past the cap stacks are unguarded and protected by a canary
  // checked at every switch instead.
  std::size_t max_guarded_stacks = 0;
  // stack_cache is how many freed stacks each hub keeps for reuse at least;
  // beyond it, freed stacks stay while they were needed within the last
  // second (docs/runtime.md, "Stacks and vm.max_map_count").
  std::size_t stack_cache = 1024;
  // callback_budget bounds how long the hub runs ready greenlets and
  // callbacks before it polls for I/O again (gevent's switch interval):
  // 0 to 60 s.
  Duration callback_budget = std::chrono::milliseconds(1);
  // threadpool_size is how many native threads each hub's default
  // ThreadPool (run_in_thread(), getaddrinfo) may start: at least 1.
  std::size_t threadpool_size = 10;
};

// configure() replaces the options for hubs created afterwards. An option
// out of range (see each one; NaN included) is a UsageError naming it, and
// then no option changes.
void configure(const RuntimeOptions& options);
const RuntimeOptions& options();

}  // namespace gs
