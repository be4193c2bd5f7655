#include "crash_handler.h"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>

#include "greenscope/detail/own_fd_table.h"
#include "greenscope/observer.h"
#include "hub_impl.h"
#include "monitor.h"
#include "stall_text.h"
#include "shown.h"

namespace gs::detail {
namespace {

constexpr int kSignals[] = {SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE};
struct sigaction g_previous[NSIG];
std::atomic<bool> g_installed{false};
std::atomic<int> g_crashing{0};
std::uint8_t g_crash_bytes[kSnapshotBytes];
CrashRequest g_request;

// write_all() is write(2) in a loop: async-signal-safe output.
void write_all(const char* s, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(2, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<std::size_t>(w);
  }
}
void write_str(const char* s) { write_all(s, std::strlen(s)); }

// format_u64() writes `v` in decimal into buf (at least 21 bytes).
const char* format_u64(char* buf, std::uint64_t v) {
  char* p = buf + 20;
  *p = '\0';
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  return p;
}

void restore_previous(int sig) { ::sigaction(sig, &g_previous[sig], nullptr); }

// snapshot_overflow() copies the deepest part of an overflowed stack: the
// stack pointer is already at (or past) its low end.
bool snapshot_overflow(const ucontext_t& uc, const StackRange& r, Snapshot& snap) {
  const greg_t* g = uc.uc_mcontext.gregs;
  snap.regs.rip = static_cast<std::uint64_t>(g[REG_RIP]);
  snap.regs.rsp = static_cast<std::uint64_t>(g[REG_RSP]);
  snap.regs.rbp = static_cast<std::uint64_t>(g[REG_RBP]);
  snap.regs.rbx = static_cast<std::uint64_t>(g[REG_RBX]);
  snap.regs.r12 = static_cast<std::uint64_t>(g[REG_R12]);
  snap.regs.r13 = static_cast<std::uint64_t>(g[REG_R13]);
  snap.regs.r14 = static_cast<std::uint64_t>(g[REG_R14]);
  snap.regs.r15 = static_cast<std::uint64_t>(g[REG_R15]);
  snap.interrupted = true;
  snap.stack_lo = r.lo;
  snap.stack_hi = r.hi;
  snap.copy_lo = r.lo;
  snap.copy_len = std::min<std::size_t>(snap.capacity, r.hi - r.lo);
  copy_stack_bytes(snap.bytes, reinterpret_cast<const void*>(r.lo), snap.copy_len);
  return true;
}

// write_default_name() is GreenletInfo::default_name() without the heap
// (a signal handler): "Greenlet-<id>" into out[size].
void write_default_name(std::uint64_t id, char* out, std::size_t size) {
  char digits[21];
  const char* number = format_u64(digits, id);
  std::size_t w = 0;
  for (const char* part : {"Greenlet-", number}) {
    for (const char* c = part; *c != '\0' && w + 1 < size; ++c) out[w++] = *c;
  }
  out[w] = '\0';
}

void fill_request(int sig, const siginfo_t* info, const ucontext_t& uc) {
  CrashRequest& req = g_request;
  req.sig = sig;
  req.fault_address = reinterpret_cast<std::uintptr_t>(info->si_addr);
  req.tid = static_cast<pid_t>(::syscall(SYS_gettid));
  req.snap.bytes = g_crash_bytes;
  req.snap.capacity = sizeof g_crash_bytes;
  HubImpl* hub = HubImpl::tls_hub;
  const GreenletBase* g = hub != nullptr ? hub->running() : nullptr;
  if (g == nullptr) return;
  req.greenlet = g->id();
  if (g->has_default_name()) {
    write_default_name(g->id(), req.greenlet_name, sizeof req.greenlet_name);
  } else {
    std::strncpy(req.greenlet_name, g->name().c_str(), sizeof req.greenlet_name - 1);
  }
  const StackRange& r = g->stack();
  req.stack_size = r.hi - r.lo;
  const std::uintptr_t page = 4096;
  const bool faulting = sig == SIGSEGV || sig == SIGBUS;
  req.overflow = faulting && r.guarded && req.fault_address < r.lo && req.fault_address + 16 * page >= r.lo;
  if (req.overflow) {
    snapshot_overflow(uc, r, req.snap);
  } else if (!snapshot_from_signal(uc, r.lo, r.hi, req.snap)) {
    req.snap.copy_len = 0;
  }
}

void on_crash_signal(int sig, siginfo_t* info, void* context) {
  if (g_crashing.exchange(1) != 0) {  // a crash while reporting one: just die
    restore_previous(sig);
    return;
  }
  fill_request(sig, info, *static_cast<const ucontext_t*>(context));
  bool served = false;
  if (monitor_thread_running()) {
    g_request.state.store(1, std::memory_order_release);
    wake_monitor();
    // poll() is async-signal-safe; give the monitor 5 s (it may symbolize
    // cold modules) before dying without the stack.
    for (int waited = 0; waited < 5000 && !served; waited += 10) {
      ::poll(nullptr, 0, 10);
      served = g_request.state.load(std::memory_order_acquire) == 2;
    }
  }
  if (!served) {
    char num[21];
    write_str("greenscope: crash: signal ");
    write_str(format_u64(num, static_cast<std::uint64_t>(sig)));
    if (g_request.greenlet != 0) {
      write_str(g_request.overflow ? " (stack overflow) in greenlet '" : " in greenlet '");
      // The name as shown() would print it: a name may hold ESC and
      // friends, and this is the one path that cannot allocate.
      char name[4 * sizeof g_request.greenlet_name];
      write_all(name, shown_into(g_request.greenlet_name, name, sizeof name));
      write_str("' (id ");
      write_str(format_u64(num, g_request.greenlet));
      write_str(")");
    }
    write_str("; no stack: the monitor thread did not answer\n");
  }
  restore_previous(sig);
  // A fault re-executes and dies; a sent or raised signal is re-raised (it is
  // blocked until this handler returns). abort() re-raises SIGABRT itself.
  if (info->si_code <= 0 && sig != SIGABRT) ::raise(sig);
}

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev != nullptr ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

}  // namespace

CrashRequest& crash_request() { return g_request; }

void install_crash_handler() {
  if (g_installed.exchange(true)) return;
  for (int sig : kSignals) {
    struct sigaction sa {};
    sa.sa_sigaction = &on_crash_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    ::sigaction(sig, &sa, &g_previous[sig]);
  }
}

void serve_crash() {
  CrashRequest& req = g_request;
  if (req.state.load(std::memory_order_acquire) != 1) return;
  std::uintptr_t pcs[kMaxStackDepth];
  const std::size_t n = req.snap.copy_len > 0 ? unwind_snapshot(req.snap, pcs, kMaxStackDepth) : 0;
  std::string text = "greenscope: crash: " + signal_name(req.sig);
  if (req.overflow) {
    text += ": stack overflow in greenlet '" + shown(req.greenlet_name) + "' (id " +
            std::to_string(req.greenlet) + "): it ran into the guard page below its " +
            std::to_string(req.stack_size) + "-byte stack";
  } else if (req.greenlet != 0) {
    text += " in greenlet '" + shown(req.greenlet_name) + "' (id " + std::to_string(req.greenlet) + ")";
  } else {
    text += " on a thread without a hub";
  }
  char addr[32];
  std::snprintf(addr, sizeof addr, "0x%" PRIxPTR, req.fault_address);
  text += ", thread " + std::to_string(req.tid) + " '" + shown(thread_name_of(req.tid)) + "', address " + addr + "\n";
  text += n > 0 ? stack_text(pcs, n, "    ") : std::string("    (no stack could be read)\n");
  if (req.overflow)
    text += "  Fix the recursion, or raise gs::RuntimeOptions::stack_size.\n";
  {
    const ProgramStderr err;  // the monitor may keep its own fd table
    write_all(text.data(), text.size());
  }
  if (Observer* o = observer_if_any()) o->on_crash(req.sig, req.fault_address, req.greenlet, req.overflow, pcs, n, text);
  req.state.store(2, std::memory_order_release);
}

}  // namespace gs::detail
