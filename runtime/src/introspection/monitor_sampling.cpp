// monitor_sampling.cpp: sampling a stalled hub's thread for the stall
// monitor: the sample signal and its handler (a running thread copies its
// own stack), /proc's word on where a thread is (running, or asleep in
// which syscall), and stacks of blocked threads read without a signal.
#include <fcntl.h>
#include <signal.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "hidden_frames.h"
#include "greenscope/detail/greenlet_base.h"
#include "hub_view.h"
#include "monitor.h"
#include "monitor_internal.h"
#include "syscalls.h"
#include "unwind.h"

namespace gs::detail::mon {
namespace {

// --- Sampling ---------------------------------------------------------------
constexpr int kSampleBusy = 4;  // SampleSlot state while the handler copies
int g_sample_signal = 0;        // (mon) picked once, by install_sample_handler()

void on_sample_signal(int, siginfo_t*, void* context) {
  const int saved_errno = errno;
  Beat* b = tls_beat;
  if (b != nullptr) {
    int expected = SampleSlot::kRequested;
    if (b->sample.state.compare_exchange_strong(expected, kSampleBusy, std::memory_order_acquire)) {
      bool ok = false;
      const StackRange* r = running_stack(*b->hub);
      if (r != nullptr && !unwinding_exception(*b->hub))
        ok = snapshot_from_signal(*static_cast<const ucontext_t*>(context), r->lo, r->hi, b->sample.snap);
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

// same_place() is true when two readings of /proc show the thread asleep
// in the same call at the same user sp and pc.
bool same_place(const ProcSyscall& a, const ProcSyscall& b) {
  return a.known && b.known && !a.running && !b.running && a.nr == b.nr && a.sp == b.sp && a.pc == b.pc;
}

// stack_from_proc() unwinds a thread asleep in a call no interposer
// published, from the user sp and pc /proc showed (`sys`). The thread can
// leave the call while its stack is copied, and a copy of a stack that has
// moved on unwinds short of the program's code (seen: sqlite's unlink, 4 of
// 37 samples ending at unlink). So /proc is read again after the copy, which
// is kept only if the thread is still asleep at the same place and made no
// interposed call meanwhile (`seq`, BlockingFrame::begin_read() before
// `sys`); else it is taken again from the new reading, up to three
// times, then given up: a sample without a stack says less, not
// something wrong. On a stack, `sys` is the reading it was taken at.
std::size_t stack_from_proc(Beat& b, std::uint64_t seq, ProcSyscall& sys, Snapshot& snap, std::uintptr_t* pcs,
                            std::size_t max) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (!sys.known || sys.running || sys.sp == 0) return 0;
    Registers regs;
    regs.rip = sys.pc;
    regs.rsp = sys.sp;
    if (!snapshot_from_registers(regs, 0, true, snap)) return 0;
    const ProcSyscall again = read_proc_syscall(b.tid);
    if (same_place(sys, again) && b.blocking.unchanged_since(seq)) return unwind_snapshot(snap, pcs, max);
    seq = b.blocking.begin_read();
    sys = again;
  }
  return 0;
}

// An interposed call's frame is read around /proc's word: a thread making
// many short calls (sqlite's fdatasync, 2 ms each) can leave the call
// between the reads, and a frame or stack read then is another call's, or
// stale: it unwinds short of the program's code (seen: 3 to 6 of 30 samples
// on a loaded machine, ending in sqlite). So the frame is used only if the
// same publication lasted from before /proc's reading to after the stack's
// copy (BlockingFrame's seqlock); /proc and the frame are read again, up to
// three times, while a call began or ended during /proc's reading, and a
// frame that changed during the copy gives no stack. When the frame never
// held still, a call the kernel restarts still gets its one signal; any
// other gets no stack: /proc's sp and pc lack the frame pointer an
// interposer's frame needs, and unwind short.
}  // namespace

StallSample take_sample(Beat& b, ActiveStall& st, std::vector<std::uint8_t>& scratch) {
  StallSample s;
  s.mono_ns = static_cast<std::int64_t>(mono_now_ns());
  ProcSyscall sys;
  BlockingFrame::Reading frame;
  for (int attempt = 0; attempt < 3 && !frame.settled; ++attempt) {
    const std::uint64_t seq = b.blocking.begin_read();
    sys = read_proc_syscall(b.tid);
    frame = b.blocking.read(seq);
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
    if (frame.settled && frame.regs.rip != 0) {
      if (snapshot_from_registers(frame.regs, frame.stack_hi, false, snap) && b.blocking.unchanged_since(frame.seq))
        n = unwind_snapshot(snap, pcs, kMaxStackDepth);
    } else if (syscall_restarts(sys.nr) && !st.signaled_in_syscall) {
      st.signaled_in_syscall = true;
      if (sample_thread(b, 20)) {
        n = unwind_snapshot(b.sample.snap, pcs, kMaxStackDepth);
        release_sample(b);
      }
    } else if (frame.settled) {
      ProcSyscall at = sys;
      n = stack_from_proc(b, frame.seq, at, snap, pcs, kMaxStackDepth);
      if (n > 0) {  // labelled by the reading the stack was taken at (the thread may have moved)
        s.syscall = static_cast<int>(at.nr);
        st.last_syscall_sp = at.sp;
      }
    }
  }
  // Our own frames at the ends (the greenlet's entry below the user's
  // function) say nothing; a stack that is all ours (the hub's code) stays.
  const OwnFrames kept = trim_own_frames(pcs, n, 0, n < kMaxStackDepth);
  if (kept.last > kept.first) s.stack.assign(pcs + kept.first, pcs + kept.last);
  else s.stack.assign(pcs, pcs + n);
  return s;
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

}  // namespace gs::detail::mon

namespace gs::detail {

using mon::g_sample_signal;
using mon::poll_until;
using mon::sleep_us;

bool sample_thread(Beat& b, int timeout_ms) {
  if (g_sample_signal == 0) return false;
  int expected = SampleSlot::kIdle;
  if (!b.sample.state.compare_exchange_strong(expected, SampleSlot::kRequested)) return false;
  if (::pthread_kill(b.thread, g_sample_signal) != 0) {
    b.sample.state.store(SampleSlot::kIdle);
    return false;
  }
  // Withdrawn at the time limit, or at once when the hub is leaving (it
  // waits for the registry lock the caller may hold), unless the handler is
  // copying right now (kSampleBusy: then it is waited for).
  int state = SampleSlot::kRequested;
  const auto answered = [&] {
    state = b.sample.state.load(std::memory_order_acquire);
    return state == SampleSlot::kTaken || state == SampleSlot::kSkipped;
  };
  const auto leaving = [&b] { return b.unregistering.load(std::memory_order_acquire); };
  if (!poll_until(static_cast<std::uint64_t>(timeout_ms) * 1'000'000, [&] { return answered() || leaving(); }) ||
      !answered()) {
    int requested = SampleSlot::kRequested;
    if (b.sample.state.compare_exchange_strong(requested, SampleSlot::kIdle)) return false;
    while (!answered()) sleep_us(20);
  }
  if (state == SampleSlot::kTaken) return true;
  b.sample.state.store(SampleSlot::kIdle, std::memory_order_release);
  return false;
}

void release_sample(Beat& b) { b.sample.state.store(SampleSlot::kIdle, std::memory_order_release); }

}  // namespace gs::detail
