// run_info.cpp: gs::format_run_info(), gs::dump_run_info() and the dump
// signal (GREENSCOPE_DUMP_SIGNAL). Each hub describes itself on its own
// thread (posted as a thread-safe callback), because only that thread may
// read its greenlets. A hub that does not answer within 200 ms is stalled,
// and is then read from outside: its running greenlet sampled by signal, its
// suspended greenlets unwound from copies of their stacks.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "greenscope/detail/env.h"
#include "greenscope/observer.h"
#include "greenscope/stacks.h"
#include "hidden_frames.h"
#include "hub_impl.h"
#include "monitor.h"
#include "stack_access.h"
#include "stall_text.h"
#include "shown.h"

namespace gs::detail {
namespace {

std::atomic<bool> g_dump_installed{false};

std::string wait_text(const GreenletInfo& g) {
  const WaitInfo& w = g.wait_info();
  std::string s = std::string(to_string(w.reason));
  if (w.what != nullptr && *w.what != '\0') s += ": " + std::string(w.what);
  if (w.reason == SwitchReason::Io && w.fd >= 0) {
    s += " fd " + std::to_string(w.fd);
    s += (w.io_events & kIoRead) ? " read" : "";
    s += (w.io_events & kIoWrite) ? " write" : "";
  }
  return s;
}

// greenlet_line() may run on another thread (describe_outside()): it does
// not let name() write a default name into the greenlet.
std::string greenlet_line(const GreenletInfo& g, bool running) {
  const std::string name = g.has_default_name() ? GreenletInfo::default_name(g.id()) : g.name();
  std::string s = "  Greenlet '" + shown(name) + "' (id " + std::to_string(g.id());
  if (g.spawner_id() != 0) {
    std::string spawner = greenlet_name_of(g.spawner_id());
    s += ", spawned by " + (spawner.empty() ? "#" + std::to_string(g.spawner_id()) : "'" + shown(spawner) + "'");
  }
  s += "): ";
  if (running) s += "running";
  else if (g.state() == GreenletState::Waiting) s += "waiting, " + wait_text(g);
  else s += std::string(to_string(g.state()));
  return s + "\n";
}

// kLeavingStatus: the header of a hub that began to tear down before a dump
// could read it (Beat::leaving).
constexpr const char* kLeavingStatus = "hub shutting down; not read";

std::string thread_header(pid_t tid, const std::string& status) {
  return "Thread " + std::to_string(tid) + " '" + shown(thread_name_of(tid)) + "': " + status + "\n";
}

// HubAccount is what a hub says of itself on its own thread: a line per
// greenlet and its raw stack. Its stacks are symbolized where format()
// runs: libdw reading a module's line table takes far more stack than a
// greenlet has (over 96 KiB; the hub greenlet's is 128 KiB by default, and
// a dump overflowed it), so a hub answering a dump collects only, and the
// monitor thread, on a thread's full stack, formats.
struct HubAccount {
  std::string header;
  std::vector<std::pair<std::string, StackTrace>> greenlets;  // line, stack (empty: none)
  std::vector<bool> has_stack;                                // per greenlet: started and not dead

  std::string format() const {
    std::string out = header;
    for (std::size_t i = 0; i < greenlets.size(); ++i) {
      out += greenlets[i].first;
      if (!has_stack[i]) continue;
      const StackTrace& stack = greenlets[i].second;
      out += stack.empty() ? "      (no stack)\n" : format_stack(stack, "      ");
    }
    return out;
  }
};

// collect_here() is a hub's own account; on its thread.
HubAccount collect_here(HubImpl& hub, pid_t tid) {
  HubAccount a;
  a.header = thread_header(tid, "hub, " + std::to_string(hub.live_count()) + " live greenlet(s)");
  const GreenletBase* running = hub.running();
  const auto one = [&](const GreenletInfo& g) {
    const bool live = g.started() && g.state() != GreenletState::Dead;
    a.greenlets.emplace_back(greenlet_line(g, &g == running), live ? greenlet_stack(g) : StackTrace{});
    a.has_stack.push_back(live);
  };
  one(hub.main());
  one(hub.hub_greenlet_base());
  hub.visit_live(one);
  return a;
}

// sample_when_free() samples b's thread once the monitor, which samples a
// stalled hub too, has let go of its sample slot (up to 100 ms).
bool sample_when_free(Beat& b) {
  for (int i = 0; i < 1000 && b.sample.state.load(std::memory_order_acquire) != SampleSlot::kIdle; ++i)
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  return sample_thread(b, 50);
}

// describe_outside() reads a stalled hub from another thread. The hub's
// thread is stuck in one greenlet or callback, so its greenlet list holds
// still; the reads are deliberately unsynchronized (TSan-exempt). A stall
// that ends while it reads is the one race left: the text may then mix
// before and after. Holds outside_mutex: the hub cannot tear down meanwhile.
__attribute__((no_sanitize("thread"))) std::string describe_outside(Beat& b) {
  const std::lock_guard<std::mutex> lock(b.outside_mutex);
  if (b.leaving.load()) return thread_header(b.tid, kLeavingStatus);
  std::string out = thread_header(b.tid, "hub not answering, stuck for 200 ms (stalled); read from outside");
  std::uintptr_t pcs[kMaxStackDepth];
  out += "  Running now (sampled):\n";
  if (sample_when_free(b)) {
    const std::size_t n = unwind_snapshot(b.sample.snap, pcs, kMaxStackDepth);
    release_sample(b);
    out += n > 0 ? stack_text(pcs, n, "      ") : "      (no stack)\n";
  } else {
    out += "      (could not sample: blocked in the kernel or mid-switch)\n";
  }
  std::unique_ptr<std::uint8_t[]> bytes(new std::uint8_t[kSnapshotBytes]);
  const GreenletBase* running = b.hub->running();
  b.hub->visit_live([&](const GreenletInfo& info) {
    const auto& g = static_cast<const GreenletBase&>(info);
    out += greenlet_line(g, &g == running);
    if (&g == running || !g.started()) return;
    Snapshot snap;
    snap.bytes = bytes.get();
    snap.capacity = kSnapshotBytes;
    const void* context = StackAccess::saved_context(g);
    std::size_t n = 0;
    if (context != nullptr && snapshot_suspended(context, g.stack(), snap)) n = unwind_snapshot(snap, pcs, kMaxStackDepth);
    // Our frames at both ends (the switch above the user's wait, the entry
    // below its function), as greenlet_stack() leaves them out.
    const OwnFrames kept = trim_own_frames(pcs, n, 0, n < kMaxStackDepth);
    out += kept.last > kept.first ? stack_text(pcs + kept.first, kept.last - kept.first, "      ")
                                  : "      (no stack)\n";
  });
  return out;
}

// Answer is a hub's reply to describe(). The hub's callback marks it
// `started` when it takes the request, unless the dump has `abandoned` it
// (to read the hub from outside): then it does nothing.
struct Answer {
  std::mutex mutex;
  std::condition_variable cv;
  bool started = false, abandoned = false, done = false;
  HubAccount account;
};

// kStallMs: a hub that has made no progress (beat.h: no loop turn, no
// greenlet started, not 64 ready items run) for this long and has not
// taken the request is stalled. kMovingMs: how long one that moves on but
// has not yet reached the request (thousands of ready greenlets ahead of
// it) is waited for; kAnsweringMs: one that has begun its answer. Neither
// busy kind is read from outside: it runs its greenlets meanwhile.
constexpr auto kStallMs = std::chrono::milliseconds(200);
constexpr auto kMovingMs = std::chrono::seconds(20);
constexpr auto kAnsweringMs = std::chrono::seconds(60);

// ask_hub() posts the request to b's hub and waits for its account. A hub
// that stops making progress before it took the request is abandoned to
// describe_outside(); a busy one is waited for, since reading its greenlets
// from here while it runs them would race with it.
std::string ask_hub(Beat& b) {
  auto answer = std::make_shared<Answer>();
  const pid_t tid = b.tid;
  {
    // Under outside_mutex: a hub that is not yet leaving has not freed its
    // loop, and cannot until the request is posted.
    const std::lock_guard<std::mutex> outside(b.outside_mutex);
    if (b.leaving.load()) return thread_header(tid, kLeavingStatus);
    b.hub->post_threadsafe([answer, tid] {
      {
        std::lock_guard<std::mutex> lock(answer->mutex);
        if (answer->abandoned) return;
        answer->started = true;
      }
      HubAccount account = collect_here(HubImpl::current(), tid);
      std::lock_guard<std::mutex> lock(answer->mutex);
      answer->account = std::move(account);
      answer->done = true;
      answer->cv.notify_all();
    });
  }
  const auto begun = std::chrono::steady_clock::now();
  std::uint64_t progress = b.progress.load(std::memory_order_relaxed);
  std::unique_lock<std::mutex> lock(answer->mutex);
  while (!answer->cv.wait_for(lock, kStallMs, [&] { return answer->done; })) {
    if (answer->started) {
      if (answer->cv.wait_for(lock, kAnsweringMs, [&] { return answer->done; })) break;
      return thread_header(tid, "hub busy: began describing itself but had not finished after 60 s");
    }
    if (b.leaving.load()) {  // its teardown runs greenlets (progress) and need not reach the request
      answer->abandoned = true;
      return thread_header(tid, kLeavingStatus);
    }
    const std::uint64_t now = b.progress.load(std::memory_order_relaxed);
    const bool moving = now != progress;
    progress = now;
    if (moving && std::chrono::steady_clock::now() - begun < kMovingMs) continue;
    answer->abandoned = true;
    lock.unlock();
    if (moving) return thread_header(tid, "hub busy: running greenlets but had not reached the request after 20 s");
    return describe_outside(b);
  }
  HubAccount account = std::move(answer->account);
  lock.unlock();
  return account.format();  // here, on the caller's stack (the monitor's: a full one)
}

std::string describe(Beat& b) {
  if (b.hub == HubImpl::current_if_any()) {
    const HubAccount account = collect_here(*b.hub, b.tid);  // here: only this thread may read its greenlets
    return on_full_stack([&] { return account.format(); });
  }
  return ask_hub(b);
}

void on_dump_signal(int sig) { request_dump(sig); }

void set_dump_handler(int sig) {
  struct sigaction sa {};
  sa.sa_handler = &on_dump_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  ::sigaction(sig, &sa, nullptr);
}

// install_dump_handler_at_load() puts GREENSCOPE_DUMP_SIGNAL's handler in
// place as the runtime is loaded, before main(). Installed with the first
// hub only, a dump signal that came earlier (static initialization, a
// program that starts its hubs late) met the signal's default action, and
// SIGUSR1's kills. Until the first hub starts the monitor thread, a dump is
// only remembered; the monitor serves it when it starts.
[[gnu::constructor]] void install_dump_handler_at_load() {
  if (const int sig = env_signal("GREENSCOPE_DUMP_SIGNAL", "no run-info dumps on a signal"); sig > 0)
    set_dump_handler(sig);
}

}  // namespace

void install_dump_signal(int sig) {
  ensure_monitor_thread();
  set_dump_handler(sig);
  g_dump_installed.store(true);
}

bool dump_signal_installed() { return g_dump_installed.load(); }

}  // namespace gs::detail

namespace gs {

std::string format_run_info() {
  char when[64];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&now, &tm);
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
  std::vector<std::string> parts;
  for (const std::shared_ptr<detail::Beat>& b : detail::live_beats()) parts.push_back(detail::describe(*b));
  std::string out = "greenscope run info: pid " + std::to_string(::getpid()) + ", " + std::to_string(parts.size()) +
                    " hub thread(s), " + when + "\n";
  for (const std::string& p : parts) out += p;
  return out;
}

void dump_run_info(std::string_view trigger) {
  const std::string text = format_run_info();
  std::fwrite(text.data(), 1, text.size(), stderr);
  if (Observer* o = detail::observer_if_any()) o->on_run_info(trigger, text);
}

}  // namespace gs
