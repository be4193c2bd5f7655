// stall_verdict.h: what a stall's time went to, and the verdict that
// follows, computed the same way by the runtime (its printed report and the
// kind it records) and by the trace reader (the CLI, the analysis model,
// the viewer). Header-only and free of both, as trace_format.h is.
//
// The inputs are what the stall monitor measures over the part of the stall
// it watched (from detection to the end, `window_ns`):
//   - cpu_ns: the thread's CPU time (its CPU clock);
//   - run_delay_ns: the time it was runnable but waited for a CPU (the
//     second field of /proc/self/task/TID/schedstat: a loaded machine);
//     -1 when not measured (traces before format 2.2, no schedstat);
//   - the samples: "running" per /proc/self/task/TID/syscall (on a CPU or
//     waiting for one), or asleep in the kernel in syscall N (-1: in the
//     kernel outside a syscall, a page fault waiting for I/O).
// The time off the CPU is split between waiting for a CPU and asleep in the
// kernel by the samples: the share found asleep was asleep, the running
// share beyond the CPU time was waiting. schedstat's run delay decides only
// for a stall with fewer than kSamplesToShare samples, and never beyond the
// running samples' share: on Linux 6.18 (EEVDF's delayed dequeue) it counts
// much of a thread's time asleep in fdatasync() as waiting (measured here:
// 20 fdatasync() calls, 79 ms of wall time, 2.6 ms on the CPU and 75.5 ms
// of "run delay" while /proc showed the thread asleep in fdatasync).
// The asleep time is shared among the syscalls by their samples.
//
// A sample /proc found "running" whose innermost frame is a syscall's libc
// wrapper (fdatasync, unlink, read: syscall_of_function()) counts as in
// that call: the thread is inside the call, in the kernel, whatever the
// scheduler says of it. On this 6.18 VM a thread in fdatasync() is
// TASK_RUNNING most of the time (/proc says "running", schedstat counts
// it as waiting) though it waits for the disk: 20 calls, 79 ms, 2.6 ms of
// CPU and 75.5 ms of run delay. Who has the names passes `call_of`.
//
// The verdict (thresholds: kDominant, kStarved):
//   - starved: the machine, not the code, made this stall: at the pace it
//     went while it was watched, the time the thread was not waiting for a
//     CPU (on it, or asleep in the kernel) comes to less than the stall
//     threshold over the whole stall, so on a free CPU it would not have
//     been a stall at all (the hub's microseconds of work, stretched by a
//     loaded machine). Where the threshold is not known (traces before
//     2.3): 90 % of the window or more waiting for a CPU.
//   - otherwise the time the thread was not waiting for a CPU decides, so
//     that a CPU loop stays cpu-bound on a loaded machine (with the share it
//     waited said):
//     cpu-bound: at least 80 % of it on the CPU;
//     blocked: at least 80 % of it asleep in the kernel, "in X" when one
//     syscall X took 80 % alone, else the calls with their shares;
//     mixed: neither, with every share ("mixed: 18 % CPU, 74 % in
//     fdatasync, 8 % in unlink").
//   Waiting for a CPU over 10 % of the window is said in any case.
// With no time measured (a stall the hub found itself at its end) the
// samples alone decide, counting running samples as CPU; with neither,
// the verdict is unknown.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "greenscope/syscall_names.h"

namespace gs::verdict {

enum class VerdictKind : std::uint8_t { Unknown, CpuBound, Blocked, Mixed, Starved };

inline constexpr double kDominant = 0.8;          // a share this large decides alone
inline constexpr double kStarved = 0.9;           // waiting for a CPU this much: starved
inline constexpr double kWaitWorthSaying = 0.10;  // waiting for a CPU said past this
// Measured is what the monitor measured of one stall.
struct Measured {
  std::int64_t cpu_ns = 0;         // the thread's CPU time over the window
  std::int64_t window_ns = 0;      // from detection to the end; 0: not measured
  std::int64_t run_delay_ns = -1;  // schedstat's wait for a CPU over the window; -1: not measured
  std::int64_t duration_ns = 0;    // the whole stall
  std::int64_t threshold_ns = 0;   // the monitor's threshold; 0: not known (before 2.3)
};

// kSamplesToShare: with this many samples, they share the time off the CPU
// between waiting for one and asleep in the kernel; with fewer, schedstat's
// run delay does (see above).
inline constexpr std::uint64_t kSamplesToShare = 5;

// kKernelNoSyscall is the syscall number of a sample asleep in the kernel
// outside a syscall (a page fault waiting for the disk); kUnsampled stands
// for time asleep that no sample found (it ended between samples); kNoCall
// is a Blocked verdict's call when no one call took 80 %.
inline constexpr int kKernelNoSyscall = -1;
inline constexpr int kNoCall = -2;
inline constexpr int kUnsampled = -3;

// SyscallShare is the time one syscall kept the thread asleep.
struct SyscallShare {
  int syscall = kKernelNoSyscall;
  std::uint64_t samples = 0;  // samples found in it
  double share = 0;           // of the window
};

struct Verdict {
  VerdictKind kind = VerdictKind::Unknown;
  bool measured = false;     // from times; false: from the samples alone
  bool wait_measured = false;  // run_delay was measured (else estimated from the samples)
  double cpu = 0;            // shares of the window, summing to 1 when known
  double cpu_wait = 0;       // runnable, waiting for a CPU
  double blocked = 0;        // asleep in the kernel, all calls
  std::vector<SyscallShare> syscalls;  // the blocked time by call, most first
  // syscall is the call a Blocked verdict names (the dominant one), kNoCall
  // if none dominates (or the verdict is not Blocked).
  int syscall = kNoCall;
};

// call_name() is "read", "fdatasync"..., "the kernel (no syscall)".
inline std::string call_name(int nr) {
  if (nr == kKernelNoSyscall) return "the kernel (no syscall)";
  if (nr == kUnsampled) return "the kernel (between samples)";
  return trace_format::syscall_name(nr);
}

// percent() is "18 %" (a share rounded to a whole percent, "<1 %" for a
// share that rounds to 0 but is not).
inline std::string percent(double share) {
  const long p = static_cast<long>(share * 100.0 + 0.5);
  if (p == 0 && share > 0) return "<1 %";
  return std::to_string(p) + " %";
}

namespace detail {

inline void add_call(std::vector<SyscallShare>& calls, int nr) {
  for (SyscallShare& c : calls)
    if (c.syscall == nr) {
      ++c.samples;
      return;
    }
  calls.push_back(SyscallShare{nr, 1, 0});
}

// starved() is true when the machine made the stall (see the top).
inline bool starved(const Verdict& v, const Measured& m) {
  const double active = v.cpu + v.blocked;  // shares of the window not waiting for a CPU
  if (!v.measured || m.threshold_ns <= 0 || m.duration_ns <= 0) return v.cpu_wait >= kStarved || active <= 0;
  return active * static_cast<double>(m.duration_ns) < static_cast<double>(m.threshold_ns);
}

inline void decide(Verdict& v, const Measured& m) {
  const double active = v.cpu + v.blocked;  // not waiting for a CPU
  if (active <= 0 && v.cpu_wait <= 0) {
    v.kind = VerdictKind::Unknown;
    return;
  }
  if (starved(v, m)) {
    v.kind = VerdictKind::Starved;
    return;
  }
  if (v.cpu >= kDominant * active) {
    v.kind = VerdictKind::CpuBound;
  } else if (v.blocked >= kDominant * active) {
    v.kind = VerdictKind::Blocked;
    if (!v.syscalls.empty() && v.syscalls.front().share >= kDominant * active) v.syscall = v.syscalls.front().syscall;
  } else {
    v.kind = VerdictKind::Mixed;
  }
}

}  // namespace detail

// syscall_of_function() is the syscall whose libc wrapper `function` is
// ("fdatasync", "__libc_read", "__unlink"), or kNoCall; also kNoCall for
// the calls the vDSO serves in user space (clock_gettime...).
inline int syscall_of_function(std::string_view function) {
  if (function.starts_with("__libc_")) function.remove_prefix(7);
  while (function.starts_with('_')) function.remove_prefix(1);
  // The vDSO answers these without entering the kernel: on the CPU.
  for (std::string_view user_space : {"clock_gettime", "gettimeofday", "time", "getcpu", "clock_getres"})
    if (function == user_space) return kNoCall;
  if (function.empty()) return kNoCall;
  for (std::size_t nr = 0; nr < trace_format::kSyscallCountX86_64; ++nr)
    if (trace_format::kSyscallNamesX86_64[nr] == function) return static_cast<int>(nr);
  return kNoCall;
}

// NoNames is judge()'s default call_of: /proc's word alone.
struct NoNames {
  template <class Sample>
  int operator()(const Sample&) const {
    return kNoCall;
  }
};

// judge() is the verdict of one stall. Samples is a range of objects with
// `bool in_syscall` and `int syscall` (gs::StallSample,
// traceio::StallSampleInfo); call_of(sample) is the syscall its innermost
// frame's function wraps, or kNoCall.
template <class Samples, class CallOf = NoNames>
Verdict judge(const Measured& m, const Samples& samples, CallOf call_of = {}) {
  const std::int64_t cpu_ns = m.cpu_ns, window_ns = m.window_ns, run_delay_ns = m.run_delay_ns;
  Verdict v;
  std::uint64_t count = 0, running = 0;
  for (const auto& s : samples) {
    ++count;
    if (s.in_syscall) {
      detail::add_call(v.syscalls, s.syscall < 0 ? kKernelNoSyscall : s.syscall);
      continue;
    }
    if (const int call = call_of(s); call >= 0) detail::add_call(v.syscalls, call);
    else ++running;
  }
  std::stable_sort(v.syscalls.begin(), v.syscalls.end(),
                   [](const SyscallShare& a, const SyscallShare& b) { return a.samples > b.samples; });
  const std::uint64_t asleep = count - running;
  if (window_ns > 0) {
    v.measured = true;
    const double w = static_cast<double>(window_ns);
    v.cpu = std::clamp(static_cast<double>(cpu_ns) / w, 0.0, 1.0);
    // The running samples' share (on a CPU or waiting for one); no sample:
    // no evidence against waiting.
    const double running_share = count == 0 ? 1.0 : static_cast<double>(running) / static_cast<double>(count);
    if (run_delay_ns >= 0 && count < kSamplesToShare) {
      v.wait_measured = true;
      v.cpu_wait = std::clamp(static_cast<double>(run_delay_ns) / w, 0.0, std::min(running_share, 1.0 - v.cpu));
    } else {
      v.cpu_wait = std::clamp(running_share - v.cpu, 0.0, 1.0 - v.cpu);
    }
    v.blocked = std::max(0.0, 1.0 - v.cpu - v.cpu_wait);
  } else if (count > 0) {
    v.cpu = static_cast<double>(running) / static_cast<double>(count);
    v.blocked = static_cast<double>(asleep) / static_cast<double>(count);
  } else {
    return v;
  }
  // The asleep time, shared by the calls the samples found; none found:
  // one share, kUnsampled.
  if (v.blocked > 0 && asleep == 0) v.syscalls.push_back(SyscallShare{kUnsampled, 0, 0});
  for (SyscallShare& c : v.syscalls)
    c.share = asleep == 0 ? v.blocked : v.blocked * static_cast<double>(c.samples) / static_cast<double>(asleep);
  detail::decide(v, m);
  return v;
}

// kind_name() is "cpu-bound", "blocked", "mixed", "starved", "?".
inline const char* kind_name(VerdictKind k) {
  switch (k) {
    case VerdictKind::CpuBound: return "cpu-bound";
    case VerdictKind::Blocked: return "blocked";
    case VerdictKind::Mixed: return "mixed";
    case VerdictKind::Starved: return "starved";
    case VerdictKind::Unknown: break;
  }
  return "?";
}

// short_text() is the verdict in a few words: "cpu-bound", "blocked in
// read", "blocked", "mixed", "starved".
inline std::string short_text(const Verdict& v) {
  if (v.kind == VerdictKind::Blocked && v.syscall != kNoCall) return "blocked in " + call_name(v.syscall);
  return kind_name(v.kind);
}

// shares_text() lists every share: "18 % CPU, 74 % in fdatasync, 8 % in
// unlink, 12 % waiting for a CPU" (shares under 1 % left out).
inline std::string shares_text(const Verdict& v) {
  std::string out;
  auto add = [&out](double share, const std::string& what) {
    if (share < 0.005) return;
    if (!out.empty()) out += ", ";
    out += percent(share) + " " + what;
  };
  add(v.cpu, "CPU");
  for (const SyscallShare& c : v.syscalls) add(c.share, "in " + call_name(c.syscall));
  add(v.cpu_wait, "waiting for a CPU");
  return out;
}

// text() is the verdict for a report's line:
//   "cpu-bound", "cpu-bound; 35 % waiting for a CPU (a loaded machine)",
//   "blocked in read", "blocked: 50 % in fdatasync, 45 % in unlink, 5 % CPU",
//   "mixed: 18 % CPU, 74 % in fdatasync, 8 % in unlink",
//   "starved: 85 % waiting for a CPU (a loaded machine), 15 % CPU",
// with "(by samples)" when no time was measured.
inline std::string text(const Verdict& v) {
  std::string out;
  switch (v.kind) {
    case VerdictKind::Unknown: return "? (not measured: no sample, no CPU time)";
    case VerdictKind::CpuBound: out = "cpu-bound"; break;
    case VerdictKind::Blocked: out = v.syscall != kNoCall ? short_text(v) : "blocked: " + shares_text(v); break;
    case VerdictKind::Mixed: out = "mixed: " + shares_text(v); break;
    case VerdictKind::Starved: {
      out = "starved: " + percent(v.cpu_wait) + " waiting for a CPU (a loaded machine)";
      Verdict rest = v;
      rest.cpu_wait = 0;
      const std::string others = shares_text(rest);
      if (!others.empty()) out += ", " + others;
      return out;
    }
  }
  const bool listed = v.kind == VerdictKind::Mixed || (v.kind == VerdictKind::Blocked && v.syscall == kNoCall);
  if (!listed && v.cpu_wait >= kWaitWorthSaying)
    out += "; " + percent(v.cpu_wait) + " waiting for a CPU (a loaded machine)";
  if (!v.measured) out += " (by samples)";
  return out;
}

}  // namespace gs::verdict
