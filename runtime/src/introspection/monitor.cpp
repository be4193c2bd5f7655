// monitor.cpp: the stall monitor thread. Every period (a quarter of the
// threshold, at most the sample interval) it reads each hub's Beat. A
// segment (one greenlet run, one callback, the hub's own code) older than
// the threshold is a stall: the monitor flags it, notes the thread's CPU
// clock, samples the stack, and keeps sampling until the hub's next stamp
// publishes the exact end. Reports go to the observer (the tracer), to the
// on_stall() callback, and, when asked for, to stderr, rate-limited.
#include "monitor.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "greenscope/detail/env.h"
#include "crash_handler.h"
#include "hidden_frames.h"
#include "greenscope/detail/clock.h"
#include "greenscope/detail/quiet_thread.h"
#include "greenscope/errors.h"
#include "greenscope/observer.h"
#include "greenscope/stall_verdict.h"
#include "hub_impl.h"
#include "stall_text.h"
#include "syscalls.h"

namespace gs::detail {

std::atomic<bool> g_monitor_on [[gnu::visibility("hidden")]]{false};
std::atomic<std::int64_t> g_blocking_threshold_ns [[gnu::visibility("hidden")]]{-1};
std::atomic<std::uint8_t> g_hooks [[gnu::visibility("hidden")]]{0};
std::atomic<std::uint64_t> g_threshold_ticks [[gnu::visibility("hidden")]]{~0ull};

void set_hook(std::uint8_t bit, bool on) {
  if (on) g_hooks.fetch_or(bit);
  else g_hooks.fetch_and(static_cast<std::uint8_t>(~bit));
}
thread_local Beat* tls_beat __attribute__((tls_model("initial-exec"))) = nullptr;

namespace {

constexpr std::uint8_t kPollingOwner = 0xFF;  // Beat::owner while in the poll

// The state below with destructors is allocated once and never destroyed:
// the monitor may still run while the process exits (atexit() handlers
// registered from a library constructor run late under some runtimes, TSan's
// among them), and a destroyed std::thread that is still joinable would call
// std::terminate().

// --- Registry of hubs ----------------------------------------------------------
std::mutex g_registry_mutex;
std::vector<Beat*>& g_beats = *new std::vector<Beat*>();

// --- Configuration -------------------------------------------------------------
std::mutex g_config_mutex;
StallOptions g_options;          // guarded by g_config_mutex
StallCallback& g_callback = *new StallCallback();  // guarded by g_config_mutex
std::atomic<std::uint64_t> g_enabled_at_ticks{0};

// --- The thread ----------------------------------------------------------------
std::mutex g_thread_mutex;       // start/stop
std::thread& g_thread = *new std::thread();
std::atomic<bool> g_thread_running{false};
std::atomic<bool> g_stop{false};
// g_event_fd wakes the monitor. Atomic: a dump signal's handler writes to
// it on any thread, also while the first hub's thread creates it.
std::atomic<int> g_event_fd{-1};
std::atomic<int> g_dump_signal{0};
int g_sample_signal = 0;

// --- Greenlet names (set_name() is rare; the monitor reads them) -------------
std::mutex g_names_mutex;
std::unordered_map<std::uint64_t, std::string>& g_names = *new std::unordered_map<std::uint64_t, std::string>();

// Segment is one consistent read of a Beat's segment fields.
struct Segment {
  std::uint64_t seq = 0, since = 0, greenlet = 0;
  std::uint8_t owner = 0, watcher = 0;
};

bool read_segment(const Beat& b, Segment& out) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const std::uint64_t s1 = b.seq.load(std::memory_order_acquire);
    if (s1 & 1) continue;
    // Acquire loads: none may move below the second seq load.
    out.since = b.since.load(std::memory_order_acquire);
    out.greenlet = b.greenlet.load(std::memory_order_acquire);
    out.owner = b.owner.load(std::memory_order_acquire);
    out.watcher = b.watcher.load(std::memory_order_acquire);
    if (b.seq.load(std::memory_order_relaxed) == s1) {
      out.seq = s1;
      return true;
    }
  }
  return false;
}

std::int64_t ticks_to_ns(std::uint64_t ticks) {
  return static_cast<std::int64_t>(static_cast<double>(ticks) / ticks_per_ns());
}

std::int64_t thread_cpu_ns(clockid_t clock) {
  timespec ts{};
  if (::clock_gettime(clock, &ts) != 0) return -1;
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// run_delay_ns() is the time the thread has spent runnable, waiting for a
// CPU, since it started: the second field of its schedstat ("time on the
// CPU, time waiting on a run queue, timeslices", in ns). -1 when the kernel
// does not keep it (no CONFIG_SCHED_INFO). tid 0: the calling thread.
std::int64_t run_delay_ns(pid_t tid) {
  char path[64];
  if (tid == 0) std::snprintf(path, sizeof path, "/proc/thread-self/schedstat");
  else std::snprintf(path, sizeof path, "/proc/self/task/%d/schedstat", static_cast<int>(tid));
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char text[96] = {};
  const ssize_t n = ::read(fd, text, sizeof text - 1);
  ::close(fd);
  unsigned long long on_cpu = 0, waiting = 0;
  if (n <= 0 || std::sscanf(text, "%llu %llu", &on_cpu, &waiting) != 2) return -1;
  return static_cast<std::int64_t>(waiting);
}

// --- Rate-limited printing -------------------------------------------------------
struct PrintLimiter {
  std::int64_t window_start_ns = 0;
  int printed = 0;
  int suppressed = 0;

  // admit() says whether a report may be printed now; prints the count of
  // suppressed ones when a new window opens.
  bool admit(int per_minute) {
    const std::int64_t now = static_cast<std::int64_t>(mono_now_ns());
    if (now - window_start_ns >= 60'000'000'000) {
      if (suppressed > 0)
        std::fprintf(stderr, "greenscope: %d stall report(s) suppressed in the last minute (limit %d a minute)\n",
                     suppressed, per_minute);
      window_start_ns = now;
      printed = suppressed = 0;
    }
    if (printed < per_minute) {
      ++printed;
      return true;
    }
    ++suppressed;
    return false;
  }
};
PrintLimiter g_limiter;
std::mutex g_limiter_mutex;  // the monitor and hub threads (blocking calls) print

// flush_suppressed() prints the count of suppressed reports when the
// monitor stops, rather than losing it with the minute's window.
void flush_suppressed() {
  std::lock_guard<std::mutex> lock(g_limiter_mutex);
  if (g_limiter.suppressed > 0)
    std::fprintf(stderr, "greenscope: %d stall report(s) suppressed in the last minute (limit %d a minute)\n",
                 g_limiter.suppressed, g_limiter.printed);
  g_limiter.suppressed = 0;
}

bool admit_print(const StallOptions& options) {
  std::lock_guard<std::mutex> lock(g_limiter_mutex);
  return g_limiter.admit(options.prints_per_minute);
}

// --- One stall in progress -------------------------------------------------------
struct ActiveStall {
  StallReport report;
  std::uint64_t seq = 0;
  std::uint64_t detected_ticks = 0;
  std::int64_t detected_cpu_ns = -1;
  std::int64_t detected_run_delay_ns = -1;
  std::uint64_t last_sample_ticks = 0;
  std::int64_t next_unended_ns = 1'000'000'000;  // report an ongoing stall at 1 s, 2 s, 4 s...
  bool signaled_in_syscall = false;
  std::uintptr_t last_syscall_sp = 0;
};
// g_active: the stalls being watched, by hub. Guarded by g_registry_mutex:
// the monitor thread watches them, a leaving hub settles its own
// (settle_leaving_hub()).
std::map<const Beat*, ActiveStall>& g_active = *new std::map<const Beat*, ActiveStall>();

// Delivery: what to tell the observer/callback once the registry lock is
// released (the callback may call format_run_info(), which takes it).
struct Delivery {
  enum Kind { Begin, Sample, End, Ongoing } kind;
  StallReport report;
  StallSample sample;
};

// threshold_now() is the threshold stalls are found by.
std::chrono::nanoseconds threshold_now() {
  return std::chrono::nanoseconds(ticks_to_ns(g_threshold_ticks.load(std::memory_order_relaxed)));
}

std::uint64_t next_stall_id() {
  static std::atomic<std::uint64_t> id{0};
  return ++id;
}

std::string culprit_text(const Beat& b, const Segment& seg) {
  switch (static_cast<StallOwner>(seg.owner)) {
    case StallOwner::Greenlet: {
      std::string name = greenlet_name_of(seg.greenlet);
      if (name.empty()) {
        if (seg.greenlet == b.main_greenlet) name = "main";
        else if (seg.greenlet == b.hub_greenlet) name = "hub";
        else name = "Greenlet-" + std::to_string(seg.greenlet);
      }
      return "greenlet '" + name + "' (id " + std::to_string(seg.greenlet) + ")";
    }
    case StallOwner::Hub: return "the hub's own code";
    case StallOwner::Callback: return "a run_callback() callback";
    case StallOwner::Watcher:
      return std::string("a libev ") + std::string(to_string(static_cast<WatcherKind>(seg.watcher))) +
             " watcher's callback";
  }
  return "?";
}

// --- Sampling ---------------------------------------------------------------
constexpr int kSampleBusy = 4;  // SampleSlot state while the handler copies

void on_sample_signal(int, siginfo_t*, void* context) {
  const int saved_errno = errno;
  Beat* b = tls_beat;
  if (b != nullptr) {
    int expected = SampleSlot::kRequested;
    if (b->sample.state.compare_exchange_strong(expected, kSampleBusy, std::memory_order_acquire)) {
      bool ok = false;
      HubImpl* hub = b->hub;
      const GreenletBase* g = hub->running();
      // Mid-exception-unwind: the unwinder's state is in flux (Seastar #2697).
      const bool unwinding = hub->eh_globals()->uncaught_exceptions > 0;
      if (g != nullptr && !unwinding) {
        const StackRange& r = g->stack();
        ok = snapshot_from_signal(*static_cast<const ucontext_t*>(context), r.lo, r.hi, b->sample.snap);
      }
      b->sample.state.store(ok ? SampleSlot::kTaken : SampleSlot::kSkipped, std::memory_order_release);
    }
  }
  errno = saved_errno;
}

// pick_sample_signal() takes the highest real-time signal nobody handles.
int pick_sample_signal() {
  for (int sig = SIGRTMAX; sig > SIGRTMIN + 2; --sig) {
    struct sigaction old {};
    if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) return sig;
  }
  return 0;
}

void install_sample_handler() {
  if (g_sample_signal != 0) return;
  const int sig = pick_sample_signal();
  if (sig == 0) return;
  struct sigaction sa {};
  sa.sa_sigaction = &on_sample_signal;
  sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
  sigfillset(&sa.sa_mask);
  if (::sigaction(sig, &sa, nullptr) == 0) g_sample_signal = sig;
}

void sleep_us(long us) {
  timespec ts{0, us * 1000};
  ::nanosleep(&ts, nullptr);
}

// poll_until() naps 20 us at a time until `done()` or `timeout_ns` passed on
// the clock, and says which. The bound is the clock, not a count of naps: a
// 20 us nap lasts 60-100 us (timer slack, a busy machine, TSan), and a count
// of them kept the monitor away from every hub five times longer than meant.
template <typename Done>
bool poll_until(std::uint64_t timeout_ns, Done done) {
  const std::uint64_t give_up = mono_now_ns() + timeout_ns;
  for (;;) {
    if (done()) return true;
    if (mono_now_ns() >= give_up) return false;
    sleep_us(20);
  }
}

// ProcSyscall is /proc/self/task/TID/syscall: "running", or the syscall
// number, its six arguments, then the user stack pointer and pc.
struct ProcSyscall {
  bool known = false;
  bool running = true;
  long nr = -1;
  std::uintptr_t sp = 0, pc = 0;
};

ProcSyscall read_proc_syscall(pid_t tid) {
  ProcSyscall out;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/syscall", static_cast<int>(tid));
  FILE* f = std::fopen(path, "re");
  if (f == nullptr) return out;
  char line[256] = {};
  const bool got = std::fgets(line, sizeof line, f) != nullptr;
  std::fclose(f);
  if (!got) return out;
  out.known = true;
  if (std::strncmp(line, "running", 7) == 0) return out;
  unsigned long long a[6];
  unsigned long long sp = 0, pc = 0;
  long nr = -1;
  const int n = std::sscanf(line, "%ld %llx %llx %llx %llx %llx %llx %llx %llx", &nr, &a[0], &a[1], &a[2], &a[3],
                            &a[4], &a[5], &sp, &pc);
  out.running = false;
  out.nr = nr;
  if (n == 9) {
    out.sp = sp;
    out.pc = pc;
  } else if (n == 3) {  // "-1 sp pc": in the kernel, not in a syscall
    out.sp = a[0];
    out.pc = a[1];
  }
  return out;
}

// snapshot_from_registers() copies [rsp, rsp + capacity) (bounded by
// `stack_hi` if known) with process_vm_readv, so that a stack unmapped
// meanwhile is an error, not a fault.
bool snapshot_from_registers(const Registers& regs, std::uintptr_t stack_hi, bool interrupted, Snapshot& snap) {
  if (regs.rsp == 0 || regs.rip == 0) return false;
  std::size_t len = snap.capacity;
  if (stack_hi > regs.rsp) len = std::min<std::size_t>(len, stack_hi - regs.rsp);
  // Read page by page: the end of a thread's stack mapping may come first.
  std::size_t got = 0;
  while (got < len) {
    const std::uintptr_t at = regs.rsp + got;
    const std::size_t page_left = 4096 - (at & 4095);
    const std::size_t want = std::min(len - got, page_left);
    iovec local{snap.bytes + got, want};
    iovec remote{reinterpret_cast<void*>(at), want};
    const ssize_t r = ::process_vm_readv(::getpid(), &local, 1, &remote, 1, 0);
    if (r <= 0) break;
    got += static_cast<std::size_t>(r);
  }
  if (got == 0) return false;
  snap.regs = regs;
  snap.interrupted = interrupted;
  snap.copy_lo = regs.rsp;
  snap.copy_len = got;
  snap.stack_lo = regs.rsp;
  snap.stack_hi = stack_hi > regs.rsp ? stack_hi : regs.rsp + got;
  return true;
}

// take_sample() samples one stalled hub. Running: the signal handler copies
// the stack. Blocked in the kernel: a signal could make the call fail with
// EINTR (sleeps, poll, epoll_wait do, whatever SA_RESTART says), so the
// stack is read without one where possible: from the frame an interposed
// call published (patch.cpp), else with one signal for calls the kernel
// restarts, else from the user sp/pc the kernel shows in /proc. Where /proc
// found the thread (running, or asleep in which call) is the sample's
// in_syscall and syscall: the verdict's share of the asleep time by call.
//
// An interposed call's frame is read around /proc's word: a thread making
// many short calls (sqlite's fdatasync, 2 ms each) can leave the call
// between the two reads, and /proc's sp and pc, then stale and without the
// frame pointer the interposer's frame needs, unwind short of the program's
// code (seen: 3 to 5 of 25 samples on a loaded machine). So when /proc saw
// the thread in a syscall while a frame was published at one end only, the
// sample is read again, up to three times.
StallSample take_sample(Beat& b, ActiveStall& st, std::vector<std::uint8_t>& scratch) {
  StallSample s;
  s.mono_ns = static_cast<std::int64_t>(mono_now_ns());
  ProcSyscall sys;
  std::uintptr_t frame_rip = 0;
  for (int attempt = 0; attempt < 3; ++attempt) {
    const std::uintptr_t before = b.blocking.rip.load(std::memory_order_acquire);
    sys = read_proc_syscall(b.tid);
    frame_rip = b.blocking.rip.load(std::memory_order_acquire);
    const bool in_syscall = sys.known && !sys.running;
    if (!in_syscall || (before == 0 && frame_rip == 0) || (before != 0 && before == frame_rip)) break;
    frame_rip = 0;
  }
  s.in_syscall = sys.known && !sys.running;
  s.syscall = s.in_syscall ? static_cast<int>(sys.nr) : -1;
  std::uintptr_t pcs[kMaxStackDepth];
  std::size_t n = 0;
  if (!s.in_syscall) {
    if (sample_thread(b, 20)) {
      n = unwind_snapshot(b.sample.snap, pcs, kMaxStackDepth);
      release_sample(b);
    }
  } else {
    // The same syscall at the same stack pointer: the stack has not changed.
    for (auto it = st.report.samples.rbegin(); it != st.report.samples.rend(); ++it) {
      if (it->in_syscall && it->syscall == s.syscall && st.last_syscall_sp == sys.sp && !it->stack.empty()) {
        s.stack = it->stack;
        return s;
      }
      break;
    }
    st.last_syscall_sp = sys.sp;
    Snapshot snap;
    snap.bytes = scratch.data();
    snap.capacity = scratch.size();
    if (frame_rip != 0) {
      Registers regs;
      regs.rip = frame_rip;
      regs.rsp = b.blocking.rsp.load(std::memory_order_relaxed);
      regs.rbp = b.blocking.rbp.load(std::memory_order_relaxed);
      if (snapshot_from_registers(regs, b.blocking.stack_hi.load(std::memory_order_relaxed), false, snap))
        n = unwind_snapshot(snap, pcs, kMaxStackDepth);
    } else if (syscall_restarts(sys.nr) && !st.signaled_in_syscall) {
      st.signaled_in_syscall = true;
      if (sample_thread(b, 20)) {
        n = unwind_snapshot(b.sample.snap, pcs, kMaxStackDepth);
        release_sample(b);
      }
    } else if (sys.sp != 0) {
      Registers regs;
      regs.rip = sys.pc;
      regs.rsp = sys.sp;
      if (snapshot_from_registers(regs, 0, true, snap)) n = unwind_snapshot(snap, pcs, kMaxStackDepth);
    }
  }
  // Our own frames at the ends (the greenlet's entry below the user's
  // function) say nothing; a stack that is all ours (the hub's code) stays.
  const OwnFrames kept = trim_own_frames(pcs, n, 0, n < kMaxStackDepth);
  if (kept.last > kept.first) s.stack.assign(pcs + kept.first, pcs + kept.last);
  else s.stack.assign(pcs, pcs + n);
  return s;
}

// --- Stall life -------------------------------------------------------------------
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

void finish_stall(Beat& b, ActiveStall& st, std::uint64_t end_ticks, std::int64_t end_cpu_ns,
                  std::int64_t end_run_delay_ns, std::vector<Delivery>& out) {
  StallReport& r = st.report;
  r.end_ticks = end_ticks;
  r.end_mono_ns = ticks_to_mono_ns(end_ticks);
  r.duration = std::chrono::nanoseconds(ticks_to_ns(end_ticks - r.start_ticks));
  r.ended = true;
  classify(st, end_ticks, end_cpu_ns, end_run_delay_ns);
  b.flagged_seq.store(~0ull, std::memory_order_relaxed);
  out.push_back({Delivery::End, r, {}});
}

// ended_meanwhile() is true when the stall's segment is over after a sample
// was taken: the sample may show code that ran after it, so it is dropped.
// It asks for the segment itself, not for the published end: a hub that read
// the flag just before the monitor set it leaves without publishing one.
bool ended_meanwhile(const Beat& b, const ActiveStall& st) {
  return b.seq.load(std::memory_order_acquire) != st.seq ||
         b.ended_seq.load(std::memory_order_acquire) == st.seq;
}

void begin_stall(Beat& b, const Segment& seg, std::uint64_t since, std::uint64_t now,
                 std::vector<std::uint8_t>& scratch, std::vector<Delivery>& out) {
  b.flagged_seq.store(seg.seq, std::memory_order_seq_cst);
  // The hub may have moved on between the read and the flag. Which way it
  // went is known once its stamp is complete (an even seq): it saw the flag
  // (ended_seq) and the stall is reported here, or it did not and reports
  // the stall itself (publish_missed_stall()), or not at all when by its
  // own clock the segment stayed under the threshold. A stamp still under
  // way (the hub preempted in it) is waited for, up to 10 ms; after that
  // the stall is reported here and settled later either way (report_missed(),
  // settle_left_segment()).
  Segment again;
  const bool complete = poll_until(10'000'000, [&] { return read_segment(b, again); });
  if (complete && again.seq != seg.seq && b.ended_seq.load(std::memory_order_acquire) != seg.seq) {
    b.flagged_seq.store(~0ull, std::memory_order_relaxed);
    return;
  }
  ActiveStall& st = g_active[&b];
  st = ActiveStall{};
  st.seq = seg.seq;
  st.detected_ticks = now;
  st.detected_cpu_ns = thread_cpu_ns(b.cpu_clock);
  st.detected_run_delay_ns = run_delay_ns(b.tid);
  StallReport& r = st.report;
  r.id = next_stall_id();
  r.tid = b.tid;
  r.thread_name = thread_name_of(b.tid);
  r.threshold = threshold_now();
  r.owner = static_cast<StallOwner>(seg.owner);
  r.greenlet_id = r.owner == StallOwner::Greenlet ? seg.greenlet : 0;
  r.culprit = culprit_text(b, seg);
  r.start_ticks = since;
  r.start_mono_ns = ticks_to_mono_ns(since);
  r.duration = std::chrono::nanoseconds(ticks_to_ns(now - since));
  out.push_back({Delivery::Begin, r, {}});
  st.last_sample_ticks = ticks_now();
  StallSample s = take_sample(b, st, scratch);
  if (ended_meanwhile(b, st)) return;
  r.samples.push_back(s);
  out.push_back({Delivery::Sample, r, std::move(s)});
}

// report_missed() reports the stalls the hub found itself (see MissedStall).
// One the monitor is already reporting (flagged as the hub left it) ends
// that report with the hub's exact end time.
void report_missed(Beat& b, std::vector<Delivery>& out) {
  MissedRing& ring = b.missed;
  const std::uint64_t head = ring.head.load(std::memory_order_acquire);
  for (std::uint64_t i = ring.tail.load(std::memory_order_relaxed); i != head; ++i) {
    const MissedStall m = ring.slot[i % MissedRing::kSize];
    ring.last_reported_seq = std::max(ring.last_reported_seq, m.seq);
    const auto active = g_active.find(&b);
    if (active != g_active.end() && active->second.seq == m.seq) {
      finish_stall(b, active->second, m.end, -1, -1, out);
      g_active.erase(active);
      continue;
    }
    StallReport r;
    r.id = next_stall_id();
    r.tid = b.tid;
    r.thread_name = thread_name_of(b.tid);
    r.threshold = threshold_now();
    r.owner = static_cast<StallOwner>(m.owner);
    r.greenlet_id = r.owner == StallOwner::Greenlet ? m.greenlet : 0;
    r.culprit = culprit_text(b, Segment{0, m.since, m.greenlet, m.owner, m.watcher});
    r.start_ticks = m.since;
    r.start_mono_ns = ticks_to_mono_ns(m.since);
    r.end_ticks = m.end;
    r.end_mono_ns = ticks_to_mono_ns(m.end);
    r.duration = std::chrono::nanoseconds(ticks_to_ns(m.end - m.since));
    r.ended = true;
    set_verdict(r);
    out.push_back({Delivery::Begin, r, {}});
    out.push_back({Delivery::End, r, {}});
  }
  ring.tail.store(head, std::memory_order_release);
  const std::uint64_t lost = ring.lost.load(std::memory_order_relaxed);
  if (lost != ring.lost_told) {
    std::fprintf(stderr,
                 "greenscope: stall monitor: %llu stall(s) of thread %d went unreported: the monitor thread fell "
                 "behind the hub (a machine this loaded misses stalls; give the monitor a CPU)\n",
                 static_cast<unsigned long long>(lost - ring.lost_told), static_cast<int>(b.tid));
    ring.lost_told = lost;
  }
}

// settle_left_segment() ends an active stall whose segment the hub has left
// without publishing its end: the hub read the flag just before the monitor
// set it (no fence on the hub's side, by design), so it queued the stall as
// missed, which report_missed() now sees (the seq just read orders it). If
// the queue was full, the end is the next segment's start when that is
// known, else now.
// Precondition: check_hub() read `seg` and then found no published end for
// `seq` (the hub publishes one before it moves its seq on).
void settle_left_segment(Beat& b, std::uint64_t seq, const Segment& seg, std::vector<Delivery>& out) {
  report_missed(b, out);
  const auto active = g_active.find(&b);
  if (active == g_active.end() || active->second.seq != seq) return;
  const std::uint64_t end = seg.seq == seq + 2 ? seg.since : ticks_now();
  finish_stall(b, active->second, end, -1, -1, out);
  g_active.erase(active);
}

// settle_leaving_hub() reports what a hub that is going away still owes:
// the stalls it found itself and the one the monitor is watching, which
// ended when the hub left it (published end) or, failing that, now. Before,
// the monitor dropped both once the hub was gone, and a program that ended
// right after a stall (a loaded machine, a monitor that had not caught up)
// left a trace without it. Called by the hub's thread, with
// g_registry_mutex held and the hub already out of g_beats.
void settle_leaving_hub(Beat& b, std::vector<Delivery>& out) {
  report_missed(b, out);
  const auto active = g_active.find(&b);
  if (active == g_active.end()) return;
  if (b.ended_seq.load(std::memory_order_acquire) == active->second.seq)
    finish_stall(b, active->second, b.end_ticks.load(std::memory_order_relaxed),
                 b.end_cpu_ns.load(std::memory_order_relaxed), b.end_run_delay_ns.load(std::memory_order_relaxed), out);
  else
    finish_stall(b, active->second, ticks_now(), -1, -1, out);
  g_active.erase(active);
}

void check_hub(Beat& b, std::uint64_t sample_ticks, std::vector<std::uint8_t>& scratch, std::vector<Delivery>& out) {
  report_missed(b, out);
  Segment seg;
  if (!read_segment(b, seg)) return;
  const std::uint64_t now = ticks_now();
  const auto active = g_active.find(&b);
  if (active != g_active.end()) {
    ActiveStall& st = active->second;
    if (b.ended_seq.load(std::memory_order_acquire) == st.seq) {
      finish_stall(b, st, b.end_ticks.load(std::memory_order_relaxed), b.end_cpu_ns.load(std::memory_order_relaxed),
                   b.end_run_delay_ns.load(std::memory_order_relaxed), out);
      g_active.erase(active);
      return;
    }
    if (seg.seq != st.seq) {
      settle_left_segment(b, st.seq, seg, out);
      return;
    }
    st.report.duration = std::chrono::nanoseconds(ticks_to_ns(now - st.report.start_ticks));
    if (now - st.last_sample_ticks >= sample_ticks) {
      st.last_sample_ticks = now;
      StallSample s = take_sample(b, st, scratch);
      if (!ended_meanwhile(b, st)) {
        st.report.samples.push_back(s);
        out.push_back({Delivery::Sample, st.report, std::move(s)});
      }
    }
    if (st.report.duration.count() >= st.next_unended_ns) {
      st.next_unended_ns *= 2;
      classify(st, now, thread_cpu_ns(b.cpu_clock), run_delay_ns(b.tid));  // so far; the end classifies again
      out.push_back({Delivery::Ongoing, st.report, {}});
    }
    return;
  }
  if (seg.owner == kPollingOwner || seg.seq == 0) return;
  if (seg.seq <= b.missed.last_reported_seq) return;  // the hub reported it; its seq moves on next
  // A segment that began before the monitor was switched on counts from then.
  const std::uint64_t since = std::max(seg.since, g_enabled_at_ticks.load(std::memory_order_relaxed));
  if (now > since && now - since > g_threshold_ticks.load(std::memory_order_relaxed))
    begin_stall(b, seg, since, now, scratch, out);
}

void deliver(const std::vector<Delivery>& ds);
void report_now(const std::vector<Delivery>& ds);

// drain_missed() reports what the hubs found themselves, even while the
// monitor is stopping: those stalls happened while it was on.
void drain_missed() {
  std::vector<Delivery> out;
  {
    std::lock_guard<std::mutex> lock(g_registry_mutex);
    for (Beat* b : g_beats) report_missed(*b, out);
  }
  deliver(out);
}

void report_now(const std::vector<Delivery>& ds) {
  StallCallback callback;
  StallOptions options;
  {
    std::lock_guard<std::mutex> lock(g_config_mutex);
    callback = g_callback;
    options = g_options;
  }
  for (const Delivery& d : ds) {
    Observer* o = observer_if_any();
    switch (d.kind) {
      case Delivery::Begin:
        if (o) o->on_stall_begin(d.report);
        break;
      case Delivery::Sample:
        if (o) o->on_stall_sample(d.report, d.sample);
        break;
      case Delivery::End:
      case Delivery::Ongoing: {
        // Judged by /proc alone: naming frames here would symbolize for every
        // stall, and in a forked child the symbolizer's lock may be held by
        // a thread the fork left behind. format_stall() names them.
        const StallReport& r = d.report;
        if (o && d.kind == Delivery::End) o->on_stall_end(r);
        if (callback) {
          try {
            callback(r);
          } catch (const std::exception& e) {
            std::fprintf(stderr, "greenscope: the on_stall() callback threw: %s\n", e.what());
          }
        }
        if (options.print && admit_print(options)) {
          const std::string text = format_stall(r);
          std::fwrite(text.data(), 1, text.size(), stderr);
        }
        break;
      }
    }
  }
}


// The reporter thread ("gs-reporter") runs the observer, the on_stall()
// callback and the printed reports, which symbolize (a first lookup in a
// module can take tens of milliseconds): the monitor itself must stay free
// to notice and sample the next stall.
std::mutex g_report_mutex;
std::condition_variable& g_report_cv = *new std::condition_variable();
std::vector<Delivery>& g_report_queue = *new std::vector<Delivery>();  // guarded by g_report_mutex
bool g_report_stop = false;            // guarded by g_report_mutex
std::thread& g_reporter = *new std::thread();

void reporter_main() {
  ::pthread_setname_np(::pthread_self(), "gs-reporter");
  std::unique_lock<std::mutex> lock(g_report_mutex);
  for (;;) {
    g_report_cv.wait(lock, [] { return g_report_stop || !g_report_queue.empty(); });
    if (g_report_queue.empty() && g_report_stop) return;
    std::vector<Delivery> batch;
    batch.swap(g_report_queue);
    lock.unlock();
    report_now(batch);
    lock.lock();
  }
}

void deliver(const std::vector<Delivery>& ds) {
  if (ds.empty()) return;
  std::lock_guard<std::mutex> lock(g_report_mutex);
  g_report_queue.insert(g_report_queue.end(), ds.begin(), ds.end());
  g_report_cv.notify_one();
}

// report_unfinished() settles the stalls in progress when detection stops:
// those whose end the hub has published end normally; the others are
// reported as still going (ended false).
void report_unfinished() {
  std::vector<Delivery> out;
  {
    std::lock_guard<std::mutex> lock(g_registry_mutex);
    for (auto& [beat, st] : g_active) {
      Beat* b = const_cast<Beat*>(beat);
      const bool alive = std::find(g_beats.begin(), g_beats.end(), b) != g_beats.end();
      if (alive && b->ended_seq.load(std::memory_order_acquire) == st.seq) {
        finish_stall(*b, st, b->end_ticks.load(std::memory_order_relaxed),
                     b->end_cpu_ns.load(std::memory_order_relaxed), b->end_run_delay_ns.load(std::memory_order_relaxed),
                     out);
        continue;
      }
      st.report.duration = std::chrono::nanoseconds(ticks_to_ns(ticks_now() - st.report.start_ticks));
      if (alive) classify(st, ticks_now(), thread_cpu_ns(b->cpu_clock), run_delay_ns(b->tid));  // so far
      out.push_back({Delivery::End, st.report, {}});
    }
    g_active.clear();
  }
  deliver(out);
}

// The dumper thread ("gs-dumper") writes the run-info dumps asked for by
// GREENSCOPE_DUMP_SIGNAL. A dump waits for each hub's own account, seconds
// for a busy one: on the monitor thread that wait held up stall detection
// and a crash report, whose handler waits 5 s for the monitor to unwind its
// stack and then dies without one. Started at the first dump. Signals that
// come while one is being written coalesce into one more.
std::mutex g_dump_mutex;
std::condition_variable& g_dump_cv = *new std::condition_variable();
int g_dump_pending = 0;    // guarded by g_dump_mutex: the signal of the next dump, 0 if none
bool g_dump_stop = false;  // guarded by g_dump_mutex
std::thread& g_dumper = *new std::thread();  // (mon) started; joined by stop_thread()

void write_dump(int sig) {
  const std::string text = format_run_info();
  std::fwrite(text.data(), 1, text.size(), stderr);
  const char* name = sigabbrev_np(sig);
  const std::string trigger = std::string("signal SIG") + (name ? name : std::to_string(sig).c_str());
  if (Observer* o = observer_if_any()) o->on_run_info(trigger, text);
}

void dumper_main() {
  ::pthread_setname_np(::pthread_self(), "gs-dumper");
  std::unique_lock<std::mutex> lock(g_dump_mutex);
  for (;;) {
    g_dump_cv.wait(lock, [] { return g_dump_stop || g_dump_pending != 0; });
    if (g_dump_pending == 0) return;  // stopping, nothing asked
    const int sig = std::exchange(g_dump_pending, 0);
    lock.unlock();
    write_dump(sig);
    lock.lock();
  }
}

// serve_dump() hands a signalled dump to the dumper. Monitor thread.
void serve_dump() {
  const int sig = g_dump_signal.exchange(0);
  if (sig == 0) return;
  std::lock_guard<std::mutex> lock(g_dump_mutex);
  g_dump_pending = sig;
  if (!g_dumper.joinable()) g_dumper = quiet_thread(dumper_main);
  g_dump_cv.notify_one();
}

// stop_dumper() lets the dumper finish what it was asked, then joins it.
// After the monitor thread, the only one that starts it, has stopped.
void stop_dumper() {
  if (!g_dumper.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(g_dump_mutex);
    g_dump_stop = true;
    g_dump_cv.notify_one();
  }
  g_dumper.join();
  std::lock_guard<std::mutex> lock(g_dump_mutex);
  g_dump_stop = false;
}

void monitor_main() {
  ::pthread_setname_np(::pthread_self(), "gs-monitor");
  init_unwinding();
  std::vector<std::uint8_t> scratch(kSnapshotBytes);
  while (!g_stop.load(std::memory_order_acquire)) {
    StallOptions options;
    {
      std::lock_guard<std::mutex> lock(g_config_mutex);
      options = g_options;
    }
    const bool detecting = g_monitor_on.load(std::memory_order_relaxed);
    // A quarter of the threshold, at most the sample interval, at least 250 us.
    std::int64_t period_us = std::min<std::int64_t>(options.threshold.count() * 250,
                                                    options.sample_interval.count() * 1000);
    period_us = std::max<std::int64_t>(period_us, 250);
    if (!detecting) period_us = 100'000;
    const int event_fd = g_event_fd.load();
    pollfd p{event_fd, POLLIN, 0};
    timespec timeout{period_us / 1'000'000, (period_us % 1'000'000) * 1000};
    if (::ppoll(&p, 1, &timeout, nullptr) > 0) {
      std::uint64_t drained;
      [[maybe_unused]] ssize_t r = ::read(event_fd, &drained, sizeof drained);
    }
    serve_crash();
    serve_dump();
    if (!detecting) {
      drain_missed();
      if (!g_active.empty()) report_unfinished();
      continue;
    }
    const std::uint64_t sample_ticks =
        static_cast<std::uint64_t>(static_cast<double>(options.sample_interval.count()) * 1e6 * ticks_per_ns());
    std::vector<Delivery> out;
    {
      std::lock_guard<std::mutex> lock(g_registry_mutex);
      for (Beat* b : g_beats) check_hub(*b, sample_ticks, scratch, out);
      // A hub that went away settled its stalls (settle_leaving_hub()); none is left here.
      for (auto it = g_active.begin(); it != g_active.end();) {
        if (std::find(g_beats.begin(), g_beats.end(), it->first) == g_beats.end()) it = g_active.erase(it);
        else ++it;
      }
    }
    deliver(out);
  }
  drain_missed();
  report_unfinished();
}

void stop_thread() {
  std::lock_guard<std::mutex> lock(g_thread_mutex);
  if (!g_thread_running.load()) return;
  g_stop.store(true, std::memory_order_release);
  wake_monitor();
  g_thread.join();
  stop_dumper();
  {
    std::lock_guard<std::mutex> report_lock(g_report_mutex);
    g_report_stop = true;
    g_report_cv.notify_one();
  }
  g_reporter.join();  // after everything queued was reported
  flush_suppressed();
  g_thread_running.store(false);
}

// kMaxEnvMs: an hour, the longest threshold a variable may set.
constexpr long kMaxEnvMs = 3'600'000;

// apply_environment() lets GREENSCOPE_STALL_MS, GREENSCOPE_STALL_PRINT and
// GREENSCOPE_BLOCKING_MS override options (a value that cannot be used says
// so once and leaves the option as it was); false if GREENSCOPE_STALL_MS=0
// turns the monitor off.
bool apply_environment(StallOptions& o) {
  const std::string stall_default = "using " + std::to_string(o.threshold.count()) + " ms";
  if (const auto ms = env_number("GREENSCOPE_STALL_MS", 0, kMaxEnvMs,
                                 "a number of milliseconds (1 to 3600000, or 0 for off)", stall_default.c_str())) {
    if (*ms == 0) return false;
    o.threshold = std::chrono::milliseconds(*ms);
  }
  if (const auto print = env_flag("GREENSCOPE_STALL_PRINT", o.print ? "printing stalls" : "not printing stalls"))
    o.print = *print;
  const std::string blocking_default = "using " + std::to_string(o.blocking_threshold.count()) + " ms";
  if (const auto ms = env_number("GREENSCOPE_BLOCKING_MS", 0, kMaxEnvMs, "a number of milliseconds (0 to 3600000)",
                                 blocking_default.c_str()))
    o.blocking_threshold = std::chrono::milliseconds(*ms);
  return true;
}

}  // namespace

// --- Hub side ----------------------------------------------------------------------

namespace {
// note_stall_in_poll_gap() keeps the longest stall since the loop last
// polled: loop lag is what no single stall explains (beat_poll_begin()).
void note_stall_in_poll_gap(Beat& b, std::uint64_t stall_ticks) {
  b.longest_stall_in_poll_gap = std::max(b.longest_stall_in_poll_gap, stall_ticks);
}

// note_loop_lag() records loop lag for the gap from the last poll's end to
// `now` (a poll's begin, or the hub's end): the loop did not poll for
// longer than the threshold, and no single stall explains it (the gap less
// its longest stall is still over the threshold). One greenlet's long run
// is its stall alone; many short runs, or runs a loaded machine stretched
// into stalls of their own, are the loop's lag, all of the gap: the hub
// polls only between rounds of its ready queue, and every greenlet waiting
// for I/O waited for all of it. Hub thread only.
void note_loop_lag(Beat& b, std::uint64_t now) {
  const std::uint64_t threshold = g_threshold_ticks.load(std::memory_order_relaxed);
  if (b.last_poll_end == 0 || now <= b.last_poll_end) return;
  const std::uint64_t lag = now - b.last_poll_end;
  if (lag > threshold && lag - std::min(lag, b.longest_stall_in_poll_gap) > threshold) {
    if (Observer* o = observer_if_any()) o->on_loop_lag(*b.hub, ticks_to_ns(lag));
  }
}
}  // namespace

void publish_stall_end(Beat& b, std::uint64_t seq, std::uint64_t ticks) {
  b.end_ticks.store(ticks, std::memory_order_relaxed);
  b.end_cpu_ns.store(thread_cpu_ns(CLOCK_THREAD_CPUTIME_ID), std::memory_order_relaxed);
  b.end_run_delay_ns.store(run_delay_ns(0), std::memory_order_relaxed);
  note_stall_in_poll_gap(b, ticks - b.since.load(std::memory_order_relaxed));
  b.ended_seq.store(seq, std::memory_order_release);
}

void publish_missed_stall(Beat& b, std::uint64_t seq, std::uint64_t ticks) {
  const std::uint8_t owner = b.owner.load(std::memory_order_relaxed);
  const std::uint64_t since = b.since.load(std::memory_order_relaxed);
  if (owner == kPollingOwner || since < g_enabled_at_ticks.load(std::memory_order_relaxed)) return;
  MissedRing& ring = b.missed;
  const std::uint64_t head = ring.head.load(std::memory_order_relaxed);
  if (head - ring.tail.load(std::memory_order_acquire) >= MissedRing::kSize) {
    ring.lost.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  MissedStall& m = ring.slot[head % MissedRing::kSize];
  m = {seq, since, ticks, b.greenlet.load(std::memory_order_relaxed), owner,
       b.watcher.load(std::memory_order_relaxed)};
  ring.head.store(head + 1, std::memory_order_release);
  note_stall_in_poll_gap(b, ticks - since);
}

// beat_poll_begin() stamps the poll and closes the gap since the last one
// (note_loop_lag()).
void beat_poll_begin(Beat& b) {
  stamp(b, static_cast<StallOwner>(kPollingOwner), 0);
  note_loop_lag(b, b.since.load(std::memory_order_relaxed));
}

void beat_poll_end(Beat& b) {
  stamp(b, StallOwner::Hub, 0);
  b.last_poll_end = b.since.load(std::memory_order_relaxed);
  b.longest_stall_in_poll_gap = 0;
}

namespace {
// ensure_alt_stack() gives the thread an alternate signal stack if it has
// none: a signal frame is about 3.4 KB here, too much for a small greenlet
// stack, and a stack overflow needs somewhere else to run its report.
void* ensure_alt_stack() {
  stack_t old{};
  if (::sigaltstack(nullptr, &old) != 0 || !(old.ss_flags & SS_DISABLE)) return nullptr;
  constexpr std::size_t kSize = 64 * 1024;
  void* mem = ::mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (mem == MAP_FAILED) return nullptr;
  stack_t ss{};
  ss.ss_sp = mem;
  ss.ss_size = kSize;
  if (::sigaltstack(&ss, nullptr) != 0) {
    ::munmap(mem, kSize);
    return nullptr;
  }
  return mem;
}

thread_local void* tl_alt_stack = nullptr;

// after_fork_in_child() runs in a forked child, where only the thread that
// forked exists: the monitor and reporter threads are gone, and so are the
// other threads' hubs. The child starts with the monitor off and no thread
// (start_stall_monitor() starts one of its own; before, joining the
// parent's at exit, or "starting" the one that ran, was all there was).
// Locks another thread may have held are made anew; the eventfd, shared
// with the parent, is let go of (a dump signal to the child woke the
// parent's monitor).
void after_fork_in_child() {
  new (&g_registry_mutex) std::mutex();
  g_beats.erase(std::remove_if(g_beats.begin(), g_beats.end(), [](const Beat* b) { return b != tls_beat; }),
                g_beats.end());
  if (tls_beat != nullptr) tls_beat->sample.state.store(SampleSlot::kIdle);
  new (&g_config_mutex) std::mutex();
  new (&g_thread_mutex) std::mutex();
  new (&g_thread) std::thread();  // not destroyed: the parent's handle means nothing here
  new (&g_reporter) std::thread();
  g_thread_running.store(false);
  g_stop.store(false);
  set_hook(kHookMonitor, false);
  g_monitor_on.store(false);
  g_blocking_threshold_ns.store(-1);
  if (const int fd = g_event_fd.exchange(-1); fd >= 0) ::close(fd);
  new (&g_names_mutex) std::mutex();
  new (&g_limiter_mutex) std::mutex();
  new (&g_report_mutex) std::mutex();
  new (&g_report_cv) std::condition_variable();
  g_report_queue.clear();
  new (&g_dump_mutex) std::mutex();
  new (&g_dump_cv) std::condition_variable();
  new (&g_dumper) std::thread();
  g_dump_pending = 0;
  g_dump_stop = false;
  g_report_stop = false;
  g_active.clear();
}

}  // namespace

std::shared_ptr<Beat> register_hub(HubImpl& hub) {
  static std::once_flag at_fork;
  std::call_once(at_fork, [] { ::pthread_atfork(nullptr, nullptr, &after_fork_in_child); });
  auto b = std::make_shared<Beat>();
  b->hub = &hub;
  b->tid = static_cast<pid_t>(::syscall(SYS_gettid));
  b->thread = ::pthread_self();
  if (::pthread_getcpuclockid(b->thread, &b->cpu_clock) != 0) b->cpu_clock = CLOCK_THREAD_CPUTIME_ID;
  b->hub_greenlet = hub.hub_greenlet_base().id();
  b->main_greenlet = hub.main().id();
  b->sample.bytes = std::make_unique<std::uint8_t[]>(kSnapshotBytes);
  b->sample.snap.bytes = b->sample.bytes.get();
  b->sample.snap.capacity = kSnapshotBytes;
  tl_alt_stack = ensure_alt_stack();
  tls_beat = b.get();
  stamp(*b, StallOwner::Greenlet, b->main_greenlet);
  b->last_poll_end = b->since.load(std::memory_order_relaxed);  // lag counts from the hub's start
  remember_greenlet_name(b->main_greenlet, "main");
  remember_greenlet_name(b->hub_greenlet, "hub");
  {
    std::lock_guard<std::mutex> lock(g_registry_mutex);
    g_beats.push_back(b.get());
  }
  start_monitor_from_environment();
  return b;
}

void unregister_hub(Beat& beat) {
  // The gap since the last poll ends with the hub: a program that ends
  // right after many short runs has its loop lag too.
  if (monitor_on()) note_loop_lag(beat, ticks_now());
  std::vector<Delivery> out;
  {
    std::lock_guard<std::mutex> lock(g_registry_mutex);
    g_beats.erase(std::remove(g_beats.begin(), g_beats.end(), &beat), g_beats.end());
    settle_leaving_hub(beat, out);
  }
  deliver(out);
  if (tls_beat == &beat) tls_beat = nullptr;
  forget_greenlet_name(beat.main_greenlet);
  forget_greenlet_name(beat.hub_greenlet);
  // The alternate stack stays: a crash during the thread's exit still needs it.
}

std::vector<std::shared_ptr<Beat>> live_beats() {
  std::lock_guard<std::mutex> lock(g_registry_mutex);
  std::vector<std::shared_ptr<Beat>> out;
  out.reserve(g_beats.size());
  for (Beat* b : g_beats) out.push_back(b->shared_from_this());
  return out;
}

// --- Monitor thread control ----------------------------------------------------------

// stop_at_exit() joins the monitor before static destructors run (our
// globals were constructed before the atexit() registration, so they are
// destroyed after it): a monitor still reading them would race their end.
void stop_at_exit() { stop_thread(); }

void ensure_monitor_thread() {
  static std::once_flag at_exit_once;
  std::call_once(at_exit_once, [] { std::atexit(stop_at_exit); });
  std::lock_guard<std::mutex> lock(g_thread_mutex);
  if (g_thread_running.load()) return;
  if (g_event_fd.load() < 0) g_event_fd.store(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  init_unwinding();
  install_sample_handler();
  install_crash_handler();
  g_stop.store(false);
  {
    std::lock_guard<std::mutex> report_lock(g_report_mutex);
    g_report_stop = false;
  }
  g_reporter = quiet_thread(reporter_main);
  g_thread = quiet_thread(monitor_main);
  g_thread_running.store(true);
}

bool monitor_thread_running() { return g_thread_running.load(); }

void wake_monitor() {
  const int fd = g_event_fd.load();
  if (fd < 0) return;
  const std::uint64_t one = 1;
  [[maybe_unused]] ssize_t r = ::write(fd, &one, sizeof one);
}

void request_dump(int signal_number) {
  g_dump_signal.store(signal_number);
  wake_monitor();
}

bool sample_thread(Beat& b, int timeout_ms) {
  if (g_sample_signal == 0) return false;
  int expected = SampleSlot::kIdle;
  if (!b.sample.state.compare_exchange_strong(expected, SampleSlot::kRequested)) return false;
  if (::pthread_kill(b.thread, g_sample_signal) != 0) {
    b.sample.state.store(SampleSlot::kIdle);
    return false;
  }
  // Withdrawn at the time limit, unless the handler is copying right now
  // (kSampleBusy: then it is waited for).
  int state = SampleSlot::kRequested;
  const auto answered = [&] {
    state = b.sample.state.load(std::memory_order_acquire);
    return state == SampleSlot::kTaken || state == SampleSlot::kSkipped;
  };
  if (!poll_until(static_cast<std::uint64_t>(timeout_ms) * 1'000'000, answered)) {
    int requested = SampleSlot::kRequested;
    if (b.sample.state.compare_exchange_strong(requested, SampleSlot::kIdle)) return false;
    while (!answered()) sleep_us(20);
  }
  if (state == SampleSlot::kTaken) return true;
  b.sample.state.store(SampleSlot::kIdle, std::memory_order_release);
  return false;
}

void release_sample(Beat& b) { b.sample.state.store(SampleSlot::kIdle, std::memory_order_release); }

std::string greenlet_name_of(std::uint64_t id) {
  std::lock_guard<std::mutex> lock(g_names_mutex);
  const auto it = g_names.find(id);
  return it == g_names.end() ? std::string() : it->second;
}

void remember_greenlet_name(std::uint64_t id, const std::string& name) {
  std::lock_guard<std::mutex> lock(g_names_mutex);
  g_names[id] = name;
}

void forget_greenlet_name(std::uint64_t id) {
  std::lock_guard<std::mutex> lock(g_names_mutex);
  g_names.erase(id);
}

std::string thread_name_of(pid_t tid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/comm", static_cast<int>(tid));
  FILE* f = std::fopen(path, "re");
  if (f == nullptr) return {};
  char name[64] = {};
  if (std::fgets(name, sizeof name, f) == nullptr) name[0] = '\0';
  std::fclose(f);
  std::string s = name;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

void note_blocking_call(const char* call, int fd, std::int64_t ns, const std::uintptr_t* pcs, std::size_t n) {
  StallOptions options;
  {
    std::lock_guard<std::mutex> lock(g_config_mutex);
    options = g_options;
  }
  if (!options.print || !admit_print(options)) return;
  std::string text = "greenscope: blocking call: " + std::string(call);
  if (fd >= 0) text += " on fd " + std::to_string(fd);
  text += " blocked thread " + std::to_string(::syscall(SYS_gettid)) + " for " + duration_text(ns) +
          " (patch_all() cannot make it cooperative)\n" + stack_text(pcs, n, "    ");
  std::fwrite(text.data(), 1, text.size(), stderr);
}

void start_monitor_from_environment() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (const int sig = env_signal("GREENSCOPE_DUMP_SIGNAL", "no run-info dumps on a signal"); sig > 0)
      install_dump_signal(sig);
    if (std::getenv("GREENSCOPE_STALL_MS") != nullptr) gs::start_stall_monitor();
  });
}

}  // namespace gs::detail

// --- Public API (stall.h) ------------------------------------------------------------
namespace gs {

void start_stall_monitor(const StallOptions& requested) {
  StallOptions o = requested;
  if (!detail::apply_environment(o)) return;
  if (o.threshold < std::chrono::milliseconds(1)) {
    throw UsageError("greenscope: start_stall_monitor(): threshold " + std::to_string(o.threshold.count()) +
                     " ms is below the 1 ms minimum; pass at least std::chrono::milliseconds(1)");
  }
  if (o.sample_interval < std::chrono::milliseconds(1)) o.sample_interval = std::chrono::milliseconds(1);
  // Past an hour (as for the variables) the tick arithmetic would overflow.
  const std::chrono::milliseconds most(detail::kMaxEnvMs);
  auto check = [&](std::chrono::milliseconds value, const char* name, const char* least) {
    if (value >= std::chrono::milliseconds::zero() && value <= most) return;
    throw UsageError(std::string("greenscope: start_stall_monitor(): ") + name + " " +
                     std::to_string(value.count()) + " ms is out of range; pass " + least +
                     " to 1 h (3600000 ms)");
  };
  check(o.threshold, "threshold", "1 ms");
  check(o.sample_interval, "sample_interval", "1 ms");
  check(o.blocking_threshold, "blocking_threshold", "0 ms");
  if (o.prints_per_minute < 1) o.prints_per_minute = 1;
  {
    std::lock_guard<std::mutex> lock(detail::g_config_mutex);
    detail::g_options = o;
  }
  const double rate = detail::ticks_per_ns();
  detail::g_threshold_ticks.store(static_cast<std::uint64_t>(static_cast<double>(o.threshold.count()) * 1e6 * rate));
  detail::g_blocking_threshold_ns.store(static_cast<std::int64_t>(o.blocking_threshold.count()) * 1'000'000);
  if (!detail::g_monitor_on.load()) detail::g_enabled_at_ticks.store(detail::ticks_now());
  detail::g_monitor_on.store(true);
  detail::set_hook(detail::kHookMonitor, true);
  detail::ensure_monitor_thread();
  detail::wake_monitor();  // it may be sleeping a long idle period
}

void stop_stall_monitor() {
  detail::set_hook(detail::kHookMonitor, false);
  detail::g_monitor_on.store(false);
  detail::g_blocking_threshold_ns.store(-1);
  if (!detail::dump_signal_installed()) detail::stop_thread();
}

bool stall_monitor_running() { return detail::g_monitor_on.load(); }

StallOptions stall_options() {
  std::lock_guard<std::mutex> lock(detail::g_config_mutex);
  return detail::g_options;
}

void on_stall(StallCallback callback) {
  std::lock_guard<std::mutex> lock(detail::g_config_mutex);
  detail::g_callback = std::move(callback);
}

}  // namespace gs
