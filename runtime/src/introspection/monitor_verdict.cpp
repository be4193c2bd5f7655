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
void classify(ActiveStall& st, std::uint64_t end_ticks, std::int64_t end_cpu_ns, std::int64_t end_run_delay_ns) {
  StallReport& r = st.report;
  const std::int64_t window = ticks_to_ns(end_ticks - st.detected_ticks);
  if (st.detected_cpu_ns >= 0 && end_cpu_ns >= st.detected_cpu_ns) {
    r.cpu_time = std::chrono::nanoseconds(end_cpu_ns - st.detected_cpu_ns);
    r.cpu_window = std::chrono::nanoseconds(window);
    if (st.detected_run_delay_ns >= 0 && end_run_delay_ns >= st.detected_run_delay_ns)
      r.run_delay = std::chrono::nanoseconds(end_run_delay_ns - st.detected_run_delay_ns);
  }
  set_verdict(r);
}

}  // namespace gs::detail::mon
