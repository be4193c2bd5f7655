// monitor.cpp: the stall monitor thread. It reads each hub's Beat when the
// hub's current segment (one greenlet run, one callback, the hub's own code)
// would have lasted the threshold, or a threshold after it last looked. A
// segment older than the threshold is a stall: the monitor flags it, notes
// the thread's CPU clock, samples the stack every sample interval, and keeps
// sampling until the hub's next stamp publishes the exact end. Reports go to
// the observer (the tracer), to the on_stall() callback, and, when asked
// for, to stderr, rate-limited.
#include "monitor.h"

#include <fcntl.h>
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
#include "hooks.h"
#include "greenscope/detail/clock.h"
#include "greenscope/detail/futex.h"
#include "greenscope/detail/own_fd_table.h"
#include "greenscope/detail/quiet_thread.h"
#include "greenscope/errors.h"
#include "greenscope/observer.h"
#include "greenscope/stall_verdict.h"
#include "monitor_internal.h"
#include "stall_text.h"

namespace gs::detail {

namespace mon {
// The state below with destructors is allocated once and never destroyed
// (see below).
std::mutex g_registry_mutex;
std::vector<Beat*>& g_beats = *new std::vector<Beat*>();
std::mutex g_config_mutex;
std::atomic<bool> g_program_code{false};
StallOptions g_options;
StallCallback& g_callback = *new StallCallback();
std::atomic<int> g_dump_signal{0};
}  // namespace mon

using namespace mon;  // NOLINT: this file is the monitor

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

std::atomic<std::uint64_t> g_enabled_at_ticks{0};

// --- The thread ----------------------------------------------------------------
std::mutex g_thread_mutex;       // start/stop
std::thread& g_thread = *new std::thread();
std::atomic<bool> g_thread_running{false};
std::atomic<bool> g_stop{false};
// g_wake counts the monitor's wake-ups (wake_monitor()); the monitor sleeps
// on it as a futex. No eventfd: an fd in the program's table is the
// program's to close, and a program that closes every fd it did not open (a
// daemon's close_range(3, ~0U)) and then opens a file at that number would
// have had a wake-up write eight bytes into its file.
std::atomic<std::uint32_t> g_wake{0};

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

// --- One stall in progress -------------------------------------------------------
// g_active: the stalls being watched, by hub. Guarded by g_registry_mutex:
// the monitor thread watches them, a leaving hub settles its own
// (settle_leaving_hub()).
std::map<const Beat*, ActiveStall>& g_active = *new std::map<const Beat*, ActiveStall>();

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

// --- Stall life -------------------------------------------------------------------
// new_report() opens the report of a stall of segment `seg`, from `since`.
StallReport new_report(const Beat& b, const Segment& seg, std::uint64_t since) {
  StallReport r;
  r.id = next_stall_id();
  r.tid = b.tid;
  r.thread_name = thread_name_of(b.tid);
  r.threshold = threshold_now();
  r.owner = static_cast<StallOwner>(seg.owner);
  r.greenlet_id = r.owner == StallOwner::Greenlet ? seg.greenlet : 0;
  r.culprit = culprit_text(b, seg);
  r.start_ticks = since;
  r.start_mono_ns = ticks_to_mono_ns(since);
  return r;
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
  // A reading the monitor took inside the stall, before the segment was
  // over the threshold, starts the window earlier: a stall the monitor saw
  // late is judged over more of itself (seen: 1 ms of a 10.5 ms stall on a
  // loaded machine). Its run delay is not read there (take_reading()).
  if (const Reading at = b.readings.earliest_since(since);
      at.ticks != 0 && at.ticks < now && at.cpu_ns >= 0 && st.detected_cpu_ns >= at.cpu_ns) {
    st.detected_ticks = at.ticks;
    st.detected_cpu_ns = at.cpu_ns;
    st.detected_run_delay_ns = at.run_delay_ns;
  }
  if (const Reading& at = b.readings.window_start(since); at.ticks != 0 && at.ticks <= since) st.before = at;
  st.report = new_report(b, seg, since);
  StallReport& r = st.report;
  r.duration = std::chrono::nanoseconds(ticks_to_ns(now - since));
  out.push_back({Delivery::Begin, r, {}});
  st.last_sample_ticks = ticks_now();
  StallSample s = take_sample(b, st, scratch);
  if (ended_meanwhile(b, st)) return;
  r.samples.push_back(s);
  out.push_back({Delivery::Sample, r, std::move(s)});
}

// measure_missed() gives a stall the hub found itself (the monitor, kept
// off the CPU, never saw it) the CPU time and run-queue wait its verdict
// needs: from the monitor's last reading of the thread before the stall
// (Readings::window_start()) to the hub's at the stall's end. The window
// may begin before the stall (by up to a threshold and the monitor's
// lateness); the thread's pace over it is the stall's.
// Without it, a loaded machine's stretched microseconds had no verdict and
// could not be told from the program's stalls.
void measure_missed(const Beat& b, const MissedStall& m, StallReport& r) {
  const Reading& at = b.readings.window_start(m.since);
  if (at.ticks == 0 || at.ticks >= m.end || at.cpu_ns < 0 || m.end_cpu_ns < at.cpu_ns) return;
  r.cpu_time = std::chrono::nanoseconds(m.end_cpu_ns - at.cpu_ns);
  r.cpu_window = std::chrono::nanoseconds(ticks_to_ns(m.end - at.ticks));
  if (at.run_delay_ns >= 0 && m.end_run_delay_ns >= at.run_delay_ns)
    r.run_delay = std::chrono::nanoseconds(m.end_run_delay_ns - at.run_delay_ns);
}

// take_reading() reads a hub thread's CPU clock while no stall of it is
// being watched: the start of measure_missed()'s window. At most once a
// half threshold: the monitor looks about once a threshold, so a reading is
// then never much more than a threshold old (a stale one stretched the
// window over more of the thread's time before its stall). Monitor thread.
void take_reading(Beat& b, std::uint64_t now) {
  const Reading& last = b.readings.latest;
  if (last.ticks != 0 && now - last.ticks < g_threshold_ticks.load(std::memory_order_relaxed) / 2) return;
  // The CPU clock alone: reading schedstat here opened and closed a file
  // every threshold, and the descriptor numbers it churned met libev's
  // epoll_ctl() on a number the program had closed (TSan). The hub's own
  // first reading has the run delay too.
  b.readings.take({now, thread_cpu_ns(b.cpu_clock), -1});
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
      finish_stall(b, active->second, m.end, m.end_cpu_ns, m.end_run_delay_ns, out);
      g_active.erase(active);
      continue;
    }
    StallReport r = new_report(b, Segment{0, m.since, m.greenlet, m.owner, m.watcher}, m.since);
    r.end_ticks = m.end;
    r.end_mono_ns = ticks_to_mono_ns(m.end);
    r.duration = std::chrono::nanoseconds(ticks_to_ns(m.end - m.since));
    r.ended = true;
    measure_missed(b, m, r);
    set_verdict(r);
    out.push_back({Delivery::Begin, r, {}});
    out.push_back({Delivery::End, r, {}});
  }
  ring.tail.store(head, std::memory_order_release);
  const std::uint64_t lost = ring.lost.load(std::memory_order_relaxed);
  if (lost != ring.lost_told) {
    const ProgramStderr err;
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

// check_hub() looks at one hub: reports what it found itself, starts,
// samples and ends its stall. Returns the ticks until it is due to be looked
// at again: its next sample while it stalls, else the moment its current
// segment would become a stall (a threshold from now if it polls, since a
// segment that begins later crosses no sooner). Monitor thread, with
// g_registry_mutex held.
std::uint64_t check_hub(Beat& b, std::uint64_t sample_ticks, std::vector<std::uint8_t>& scratch,
                        std::vector<Delivery>& out) {
  report_missed(b, out);
  Segment seg;
  const std::uint64_t threshold = g_threshold_ticks.load(std::memory_order_relaxed);
  if (!read_segment(b, seg)) return threshold;
  const std::uint64_t now = ticks_now();
  const auto active = g_active.find(&b);
  if (active != g_active.end()) {
    ActiveStall& st = active->second;
    if (b.ended_seq.load(std::memory_order_acquire) == st.seq) {
      finish_stall(b, st, b.end_ticks.load(std::memory_order_relaxed), b.end_cpu_ns.load(std::memory_order_relaxed),
                   b.end_run_delay_ns.load(std::memory_order_relaxed), out);
      g_active.erase(active);
      return 0;  // look at its next segment at once
    }
    if (seg.seq != st.seq) {
      settle_left_segment(b, st.seq, seg, out);
      return 0;
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
    return sample_ticks - std::min(sample_ticks, now - st.last_sample_ticks);
  }
  take_reading(b, now);
  // A segment that starts after now crosses the threshold no sooner than a
  // threshold from now.
  if (seg.owner == kPollingOwner || seg.seq == 0) return threshold;
  if (seg.seq <= b.missed.last_reported_seq) return threshold;  // the hub reported it; its seq moves on next
  // A segment that began before the monitor was switched on counts from then.
  const std::uint64_t since = std::max(seg.since, g_enabled_at_ticks.load(std::memory_order_relaxed));
  if (now > since && now - since > threshold) {
    begin_stall(b, seg, since, now, scratch, out);
    return sample_ticks;
  }
  // When this segment would become a stall (no threshold yet: ~0, never).
  const std::uint64_t stall_at = since > ~threshold ? ~std::uint64_t{0} : since + threshold;
  return stall_at - std::min(now, stall_at);
}

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

void monitor_main() {
  ::pthread_setname_np(::pthread_self(), "gs-monitor");
  // Its own fd table (own_fd_table.h): it opens only /proc files, and runs
  // no code of the program's (an observer's hooks need none: observer.h).
  leave_program_fds({});
  init_unwinding();
  std::vector<std::uint8_t> scratch(kSnapshotBytes);
  std::int64_t due_us = 0;  // when check_hub() said a hub is due next
  // Read before the requests are served: one made after it wakes the sleep.
  // One less to begin with, so that the first sleep returns at once and
  // serves what was asked before this thread ran (a dump signal).
  std::uint32_t seen = g_wake.load(std::memory_order_acquire) - 1;
  while (!g_stop.load(std::memory_order_acquire)) {
    StallOptions options;
    {
      std::lock_guard<std::mutex> lock(g_config_mutex);
      options = g_options;
    }
    const bool detecting = g_monitor_on.load(std::memory_order_relaxed);
    // Detecting: when the first hub is due, at least 250 us and at most a
    // threshold away. A hub that switches often is then looked at about
    // once per threshold, and a stall found as it crosses the threshold;
    // waking every quarter threshold (500 times a second at 10 ms) cost a
    // busy server more than its stamps (docs/benchmarks.md).
    const std::int64_t threshold_us = std::max<std::int64_t>(options.threshold.count() * 1000, 250);
    const std::int64_t period_us = detecting ? std::clamp<std::int64_t>(due_us, 250, threshold_us) : 100'000;
    futex_wait(g_wake, seen, std::chrono::microseconds(period_us));
    seen = g_wake.load(std::memory_order_acquire);
    serve_crash();
    serve_dump();
    if (!detecting) {
      due_us = 0;
      drain_missed();
      if (!g_active.empty()) report_unfinished();
      continue;
    }
    const std::uint64_t sample_ticks =
        static_cast<std::uint64_t>(static_cast<double>(options.sample_interval.count()) * 1e6 * ticks_per_ns());
    std::uint64_t due_ticks = ~std::uint64_t{0};
    std::vector<Delivery> out;
    {
      std::lock_guard<std::mutex> lock(g_registry_mutex);
      for (Beat* b : g_beats) due_ticks = std::min(due_ticks, check_hub(*b, sample_ticks, scratch, out));
    }
    // At most a threshold (no hub, or no threshold yet), before the
    // conversion to microseconds could overflow.
    due_ticks = std::min(due_ticks, static_cast<std::uint64_t>(threshold_us * 1000 * ticks_per_ns()));
    due_us = ticks_to_ns(due_ticks) / 1000;
    deliver(out);
  }
  drain_missed();
  report_unfinished();
}

// stop_thread_locked() is stop_thread() under g_thread_mutex.
void stop_thread_locked() {
  if (!g_thread_running.load()) return;
  g_stop.store(true, std::memory_order_release);
  wake_monitor();
  g_thread.join();
  stop_reporter();
  stop_dumper();  // last: the reporter starts it
  g_thread_running.store(false);
}

void stop_thread() {
  std::lock_guard<std::mutex> lock(g_thread_mutex);
  stop_thread_locked();
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
    if (Observer* o = observer_if_any()) o->on_loop_lag(*b.public_hub, ticks_to_ns(lag));
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
  m = {seq,   since, ticks, b.greenlet.load(std::memory_order_relaxed), owner, b.watcher.load(std::memory_order_relaxed),
       thread_cpu_ns(CLOCK_THREAD_CPUTIME_ID), run_delay_ns(0)};
  ring.head.store(head + 1, std::memory_order_release);
  note_stall_in_poll_gap(b, ticks - since);
}

// beat_poll_begin() stamps the poll and closes the gap since the last one
// (note_loop_lag()).
std::uint64_t beat_poll_begin(Beat& b) {
  const std::uint64_t t = stamp(b, static_cast<StallOwner>(kPollingOwner), 0);
  note_loop_lag(b, t);
  return t;
}

void beat_hub_stopped(Beat& b) { stamp(b, static_cast<StallOwner>(kPollingOwner), 0); }

void hub_started(Beat& b) {
  stamp(b, StallOwner::Greenlet, b.main_greenlet);
  b.last_poll_end = b.since.load(std::memory_order_relaxed);  // lag counts from here
}

std::uint64_t beat_poll_end(Beat& b) {
  const std::uint64_t t = stamp(b, StallOwner::Hub, 0);
  b.last_poll_end = t;
  b.longest_stall_in_poll_gap = 0;
  return t;
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
// Locks another thread may have held are made anew.
void after_fork_in_child() {
  new (&g_registry_mutex) std::mutex();
  g_beats.erase(std::remove_if(g_beats.begin(), g_beats.end(), [](const Beat* b) { return b != tls_beat; }),
                g_beats.end());
  if (tls_beat != nullptr) tls_beat->sample.state.store(SampleSlot::kIdle);
  new (&g_config_mutex) std::mutex();
  new (&g_thread_mutex) std::mutex();
  new (&g_thread) std::thread();  // not destroyed: the parent's handle means nothing here
  g_thread_running.store(false);
  g_stop.store(false);
  set_hook(kHookMonitor, false);
  g_monitor_on.store(false);
  g_blocking_threshold_ns.store(-1);
  new (&g_names_mutex) std::mutex();
  reset_reports_after_fork();
  g_active.clear();
}

}  // namespace

std::shared_ptr<Beat> register_hub(HubImpl& hub, const Hub& public_hub, std::uint64_t hub_greenlet,
                                   std::uint64_t main_greenlet) {
  static std::once_flag at_fork;
  std::call_once(at_fork, [] { ::pthread_atfork(nullptr, nullptr, &after_fork_in_child); });
  auto b = std::make_shared<Beat>();
  b->hub = &hub;
  b->tid = static_cast<pid_t>(::syscall(SYS_gettid));
  b->thread = ::pthread_self();
  if (::pthread_getcpuclockid(b->thread, &b->cpu_clock) != 0) b->cpu_clock = CLOCK_THREAD_CPUTIME_ID;
  b->public_hub = &public_hub;
  b->hub_greenlet = hub_greenlet;
  b->main_greenlet = main_greenlet;
  b->sample.bytes = std::make_unique<std::uint8_t[]>(kSnapshotBytes);
  b->sample.snap.bytes = b->sample.bytes.get();
  b->sample.snap.capacity = kSnapshotBytes;
  tl_alt_stack = ensure_alt_stack();
  tls_beat = b.get();
  // Until the hub is built (hub_started()) nothing runs that a stall could
  // be blamed on: the segment is the polling one, which the monitor skips.
  stamp(*b, static_cast<StallOwner>(kPollingOwner), 0);
  // The first reading, the hub's own, before the monitor can see the Beat
  // (Reading is the monitor's once it is published).
  b->readings.take({ticks_now(), thread_cpu_ns(CLOCK_THREAD_CPUTIME_ID), run_delay_ns(0)});
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
  beat.unregistering.store(true, std::memory_order_release);
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

namespace {

// start_thread_locked() starts the monitor and its reporter, under
// g_thread_mutex, unless they run.
void start_thread_locked() {
  if (g_thread_running.load()) return;
  init_unwinding();
  install_sample_handler();
  install_crash_handler();
  g_stop.store(false);
  start_reporter();
  g_thread = quiet_thread(monitor_main);
  g_thread_running.store(true);
}

}  // namespace

void ensure_monitor_thread() {
  static std::once_flag at_exit_once;
  std::call_once(at_exit_once, [] { std::atexit(stop_at_exit); });
  std::lock_guard<std::mutex> lock(g_thread_mutex);
  start_thread_locked();
}

bool monitor_thread_running() { return g_thread_running.load(); }

void reporter_runs_program_code() {
  std::lock_guard<std::mutex> lock(g_thread_mutex);
  if (g_program_code.exchange(true) || !g_thread_running.load()) return;
  restart_reporter();  // it keeps its own fd table: started again from here, it shares the program's
}

void wake_monitor() {
  const int saved_errno = errno;  // a signal handler's caller keeps its errno
  g_wake.fetch_add(1, std::memory_order_release);
  futex_wake(g_wake);
  errno = saved_errno;
}

void request_dump(int signal_number) {
  mon::g_dump_signal.store(signal_number);
  wake_monitor();
}

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
  if (callback) detail::reporter_runs_program_code();
  std::lock_guard<std::mutex> lock(detail::g_config_mutex);
  detail::g_callback = std::move(callback);
}

}  // namespace gs
