// synthetic_traces.h: format 2.0 traces written with tests/traceio's
// TraceBuilder, with stalls, waits, blocking calls, loop lag, a crash and
// run-info dumps whose every number is known, for the CLI's stall commands.
// (Real stalls from real programs are for end-to-end tests.)
#pragma once

#include <string>

namespace gs::cli_test {

// write_stall_trace() writes the trace below to a fresh file and returns
// its path. Times in ms since the trace started; it ends at 1000 ms.
//
// Thread 0 "main" (hub 2, main 1, greenlets worker-a#10 and worker-b#11):
//   waits: worker-a 11..31 and worker-b 21..41 at wait stack 3 (Queue.get(),
//   "main_loop;consume;pop_[i]"); worker-a 40..50 (sleep), worker-b 45..end
//   (event) and main 1..end (yield) recorded no stack.
//   blocking calls: fsync() fd 5 3 ms and 5 ms at stack 6; read() 2 ms at
//   stack 4 (a libc address with no SymbolEntry and no file: libc.so.6+0x1000).
//   loop lag: 25 ms and 15 ms. Crash at 999 ms: SIGSEGV in worker-a, stack
//   overflow, frames spin <- handle.
// Thread 1 "monitor": stalls
//   1 worker-a 100..300 cpu-bound, samples 8 at stack 1 (spin), 2 at stack 2
//   2 worker-b 400..450 cpu-bound, samples 5 at stack 5 (stack 1's frames)
//   3 a run_callback() callback 500..520 blocked in syscall 1, 4 samples at stack 2
//   4 worker-a 600..(never ended: 1000) 3 samples at stack 1
//   5 the hub 700..705 cpu-bound, no samples
// Stacks (innermost first): 1 spin<-handle<-main_loop, 2 write_all<a;b><-handle<-main_loop,
//   3 [pop inlined in consume]<-main_loop, 4 libc+0x1000, 5 = 1, 6 flush<-main_loop.
// Run-info dumps at 500 ms ("signal SIGUSR1") and 900 ms ("api").
std::string write_stall_trace();

// write_quiet_trace() is a 2.0 trace (major 2) or a 1.0 trace (major 1)
// with a hub thread and no stall, wait stack or dump.
std::string write_quiet_trace(int major);

}  // namespace gs::cli_test
