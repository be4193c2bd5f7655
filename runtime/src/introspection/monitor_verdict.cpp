// monitor_verdict.cpp: the stall monitor's verdict on a stall, by where
// its time went (stall_verdict.h): CPU time, run-queue wait and the
// samples' calls over the window the monitor watched.
#include "greenscope/stall_verdict.h"
#include "monitor_internal.h"
#include "stall_text.h"

namespace gs::detail::mon {

// set_verdict() judges the report by where its time went (stall_verdict.h):
// CPU time, run-queue wait and the samples' calls over the measured window.
// kind is the two-way kind older readers know; syscall the call that kept
// it asleep longest.
void set_verdict(StallReport& r) {
  const verdict::Verdict v = verdict::judge(measured(r), r.samples);
  r.kind = v.kind == verdict::VerdictKind::CpuBound || v.kind == verdict::VerdictKind::Unknown ? StallKind::CpuBound
                                                                                                : StallKind::Blocked;
  r.syscall = -1;
  if (r.kind == StallKind::Blocked && !v.syscalls.empty() && v.syscalls.front().syscall >= 0)
    r.syscall = v.syscalls.front().syscall;
  r.verdict = verdict::text(v);
}

// classify() measures the window from detection to `end_ticks` (CPU time,
// run-queue wait) and sets the verdict. A thread that wants the CPU but
// waits for one (an overloaded machine) uses little CPU time yet is not
// asleep in the kernel: schedstat's run delay counts that time apart.
// A stall detected late (a loaded machine kept the monitor away) would be
// judged over its last moments only ("29 % CPU over 0.1 ms" of a 13.9 ms
// stall: seen in the hunt suite); when detection leaves less than half of
// it, the window starts at the monitor's last reading before the stall,
// as a stall the hub found itself is judged (measure_missed()).
void classify(ActiveStall& st, std::uint64_t end_ticks, std::int64_t end_cpu_ns, std::int64_t end_run_delay_ns) {
  StallReport& r = st.report;
  std::uint64_t from_ticks = st.detected_ticks;
  std::int64_t from_cpu_ns = st.detected_cpu_ns;
  std::int64_t from_run_delay_ns = st.detected_run_delay_ns;
  const std::uint64_t start = r.start_ticks;
  const bool late = end_ticks > start && from_ticks > start && end_ticks - from_ticks < (end_ticks - start) / 2;
  if (late && st.before.ticks != 0 && st.before.cpu_ns >= 0 && end_cpu_ns >= st.before.cpu_ns) {
    from_ticks = st.before.ticks;
    from_cpu_ns = st.before.cpu_ns;
    from_run_delay_ns = st.before.run_delay_ns;
  }
  const std::int64_t window = ticks_to_ns(end_ticks - from_ticks);
  if (from_cpu_ns >= 0 && end_cpu_ns >= from_cpu_ns) {
    r.cpu_time = std::chrono::nanoseconds(end_cpu_ns - from_cpu_ns);
    r.cpu_window = std::chrono::nanoseconds(window);
    if (from_run_delay_ns >= 0 && end_run_delay_ns >= from_run_delay_ns)
      r.run_delay = std::chrono::nanoseconds(end_run_delay_ns - from_run_delay_ns);
  }
  set_verdict(r);
}

}  // namespace gs::detail::mon
