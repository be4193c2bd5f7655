// beat.h: what each hub publishes for the stall monitor (monitor.cpp), and
// the hub-side stamping. While the monitor runs, the hub stamps every change
// of who holds its thread (a greenlet, its own code, a callback) with the
// tick clock: a seqlock of a few relaxed stores, about 12 ns per switch.
// The monitor thread reads the stamps; a segment older than the threshold is
// a stall. The hub learns that a segment was flagged as a stall at its next
// stamp, and publishes the exact end and its own CPU time then.
#pragma once

#include <pthread.h>
#include <sys/types.h>
#include <time.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "greenscope/stall.h"
#include "ticks.h"
#include "unwind.h"

namespace gs::detail {

class HubImpl;

// g_threshold_ticks is the stall threshold in ticks (~0: none yet).
extern std::atomic<std::uint64_t> g_threshold_ticks [[gnu::visibility("hidden")]];

// g_monitor_on gates every stamp: false costs one load and branch.
extern std::atomic<bool> g_monitor_on [[gnu::visibility("hidden")]];
inline bool monitor_on() { return g_monitor_on.load(std::memory_order_relaxed); }

// g_blocking_threshold_ns: a call passed through to libc under patch_all()
// that takes longer is reported (-1: blocking detection off).
extern std::atomic<std::int64_t> g_blocking_threshold_ns [[gnu::visibility("hidden")]];

// start_monitor_from_environment() honours GREENSCOPE_STALL_MS and
// GREENSCOPE_DUMP_SIGNAL once per process (the first hub calls it).
void start_monitor_from_environment();

// BlockingFrame is published by an interposed call that passes through to
// libc and may block (patch.cpp): where the user's code called it, so that a
// stall in the kernel is unwound from there without a signal.
//
// It is a seqlock. publish() and clear() (the hub's thread only) each move
// `seq` through an odd value while they write, so a reader that finds the
// same even `seq` before and after its reads (the fields, and the stack
// they point into) read one call's frame while that call lasted. A thread
// making many short calls from one place (sqlite's fdatasync) publishes the
// same rip again and again: only `seq` tells the calls apart.
struct BlockingFrame {
  std::atomic<std::uint64_t> seq{0};   // (hub) odd while written
  std::atomic<std::uintptr_t> rip{0};  // 0: none published
  std::atomic<std::uintptr_t> rsp{0};
  std::atomic<std::uintptr_t> rbp{0};
  std::atomic<std::uintptr_t> stack_hi{0};  // the calling greenlet's stack top

  // publish() returns false, publishing nothing, when it interrupted a
  // write of this frame (a signal handler's interposed call on the hub's
  // thread): the caller then must not clear() either.
  bool publish(std::uintptr_t ip, std::uintptr_t sp, std::uintptr_t bp, std::uintptr_t hi) {
    std::uint64_t s = 0;
    if (!begin_write(s)) return false;
    stack_hi.store(hi, std::memory_order_relaxed);
    rsp.store(sp, std::memory_order_relaxed);
    rbp.store(bp, std::memory_order_relaxed);
    rip.store(ip, std::memory_order_relaxed);
    seq.store(s + 2, std::memory_order_release);
    return true;
  }
  void clear() {
    std::uint64_t s = 0;
    if (!begin_write(s)) return;
    rip.store(0, std::memory_order_relaxed);
    seq.store(s + 2, std::memory_order_release);
  }
  // begin_read() is the seq a reader's reads are checked against.
  std::uint64_t begin_read() const { return seq.load(std::memory_order_acquire); }
  // unchanged_since() is true when `seen` (begin_read()) was not mid-write
  // and nothing was published or cleared since, so the reads made since
  // (the fields, the stack they point into) are of one frame.
  bool unchanged_since(std::uint64_t seen) const {
    std::atomic_thread_fence(std::memory_order_acquire);
    return (seen & 1) == 0 && seq.load(std::memory_order_relaxed) == seen;
  }
  // Reading is the frame as read(): rip 0 when none was published, settled
  // as unchanged_since() was at the end of the read.
  struct Reading {
    bool settled = false;
    std::uint64_t seq = 0;
    Registers regs;  // rip, rsp, rbp
    std::uintptr_t stack_hi = 0;
  };
  Reading read(std::uint64_t seen) const {
    Reading r;
    r.seq = seen;
    r.regs.rip = rip.load(std::memory_order_relaxed);
    r.regs.rsp = rsp.load(std::memory_order_relaxed);
    r.regs.rbp = rbp.load(std::memory_order_relaxed);
    r.stack_hi = stack_hi.load(std::memory_order_relaxed);
    r.settled = unchanged_since(seen);
    return r;
  }

 private:
  // begin_write() makes seq odd; false if it already was (the hub's thread
  // is the only writer: an odd seq here is its own write, interrupted).
  bool begin_write(std::uint64_t& s) {
    s = seq.load(std::memory_order_relaxed);
    if ((s & 1) != 0) return false;
    seq.store(s + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    return true;
  }
};

// SampleSlot is the handshake between the monitor and the sampling signal's
// handler, which runs on the hub's thread and copies its stack into `snap`.
struct SampleSlot {
  enum : int { kIdle, kRequested, kTaken, kSkipped };
  std::atomic<int> state{kIdle};
  Snapshot snap;
  std::unique_ptr<std::uint8_t[]> bytes;
};

// MissedStall is a stall the hub noticed itself, at the stamp that ended it,
// because the monitor thread did not get to run in time (a loaded machine,
// a stall just over a 1 ms threshold). Exact times; no samples.
// `seq` names the segment, so that a stall the monitor flagged just as the
// hub left it (the hub read the flag a moment before it was set) ends the
// monitor's report instead of making a second one.
// end_cpu_ns and end_run_delay_ns are the thread's CPU clock and schedstat
// wait at its end (-1: not read), so that the monitor can judge it from its
// own earlier reading (Beat::readings).
struct MissedStall {
  std::uint64_t seq = 0, since = 0, end = 0, greenlet = 0;
  std::uint8_t owner = 0, watcher = 0;
  std::int64_t end_cpu_ns = -1, end_run_delay_ns = -1;
};

// Reading is the monitor's periodic reading of a hub thread's CPU clock and
// schedstat wait, the start of the window a stall the hub found itself is
// judged over.
struct Reading {
  std::uint64_t ticks = 0;  // 0: none yet
  std::int64_t cpu_ns = -1, run_delay_ns = -1;
};

// Readings keeps the monitor's last two readings of a hub thread. The
// monitor takes one when it looks and finds no stall yet, which may be
// inside a stall that is still short: judged from there, a 12 ms stall
// the hub then found itself was measured over its last 0.1 ms or less
// ("77 % CPU over 0.0 ms", a loaded machine's starved thread called
// cpu-bound: seen in the hunt suite on a loaded machine). The one before
// it is then from before the stall.
struct Readings {
  Reading latest, prior;
  void take(const Reading& r) {
    prior = latest;
    latest = r;
  }
  // earliest_since() is the earliest reading kept taken at or after
  // `since` (inside a stall that began then), else an empty one.
  Reading earliest_since(std::uint64_t since) const {
    if (prior.ticks >= since) return prior;
    return latest.ticks >= since ? latest : Reading{};
  }
  // window_start() is the latest reading taken at or before `since` (a
  // stall's start), else the earliest kept: the longest window there is.
  const Reading& window_start(std::uint64_t since) const {
    if (latest.ticks != 0 && latest.ticks <= since) return latest;
    return prior.ticks != 0 ? prior : latest;
  }
};

// MissedRing is single-producer (the hub) single-consumer (the monitor).
// 256 deep: a hub fills it only if the monitor is away for 256 stalls of a
// threshold each (one sample can hold the monitor 20 ms: 16 was too few).
struct MissedRing {
  static constexpr std::size_t kSize = 256;
  MissedStall slot[kSize];
  std::atomic<std::uint64_t> head{0};  // (hub) next to write
  std::atomic<std::uint64_t> tail{0};  // (mon) next to read
  std::atomic<std::uint64_t> lost{0};  // (hub) dropped while full
  std::uint64_t lost_told = 0;         // (mon) of those, already told on stderr
  // (mon) the latest segment reported from here: the hub may queue a
  // segment before it moves its seq on, and the monitor must not then
  // report that segment a second time as a stall of its own.
  std::uint64_t last_reported_seq = 0;
};

// Beat is one hub's record. Fields tagged (hub) are written by the hub's
// thread only, (mon) by the monitor only; the monitor reads (hub) fields
// through the seqlock. Shared: a run-info dump keeps the Beats it reads
// alive while it waits for their hubs' answers (live_beats()), without
// holding the registry lock, so a hub may go away meanwhile; `leaving`
// then says so, and the Beat itself stays readable.
struct Beat : std::enable_shared_from_this<Beat> {
  // Segment: who holds the thread since when. `seq` is odd while the hub
  // rewrites the fields; a segment is identified by its even seq value.
  std::atomic<std::uint64_t> seq{0};                 // (hub)
  std::atomic<std::uint64_t> since{0};               // (hub) ticks
  std::atomic<std::uint64_t> greenlet{0};            // (hub) id if owner is Greenlet
  std::atomic<std::uint8_t> owner{0};                // (hub) StallOwner
  std::atomic<std::uint8_t> watcher{0};              // (hub) WatcherKind if owner is Watcher
  std::atomic<bool> polling{false};                  // (hub) inside the loop's blocking poll

  // Stall end: the monitor flags a segment (its seq); the hub's next stamp
  // publishes end_ticks, its CPU time and its run-queue wait (schedstat;
  // -1: not measurable), then sets ended_seq.
  std::atomic<std::uint64_t> flagged_seq{~0ull};     // (mon)
  std::atomic<std::uint64_t> end_ticks{0};           // (hub)
  std::atomic<std::int64_t> end_cpu_ns{0};           // (hub)
  std::atomic<std::int64_t> end_run_delay_ns{-1};    // (hub)
  std::atomic<std::uint64_t> ended_seq{~0ull};       // (hub)

  // Loop lag: when the previous poll ended, and the longest stall since.
  std::uint64_t last_poll_end = 0;                   // (hub) ticks
  std::uint64_t longest_stall_in_poll_gap = 0;       // (hub) ticks

  BlockingFrame blocking;                            // (hub)
  MissedRing missed;
  Readings readings;                                 // (mon)
  SampleSlot sample;

  // Run-info dumps (run_info.cpp). `progress` counts the loop's turns, the
  // greenlets it starts and every 64th ready item it runs, whether or not
  // the monitor is on (never per switch: that path stays as it is): a dump
  // waiting for the hub's answer tells a busy hub (counting) from a stalled
  // one (not). A read of a stalled hub from outside, and a dump posting its
  // request to the hub's loop, hold outside_mutex; the hub takes it to set
  // `leaving` before it tears its greenlets down and frees its loop, so
  // that neither meets freed ones.
  std::atomic<std::uint64_t> progress{0};            // (hub)
  std::mutex outside_mutex;
  std::atomic<bool> leaving{false};                  // (hub, set under outside_mutex)
  // unregistering: the hub is about to take the registry lock to leave; a
  // monitor holding it while it waits for a sample of this thread lets go
  // at once (before, the leaving thread waited out the sample's 20 ms, a
  // stall the monitor made: seen on a loaded machine, 21.7 ms in
  // unregister_hub()).
  std::atomic<bool> unregistering{false};            // (hub)

  // Identity, set at registration (ro afterwards). `hub` is opaque to the
  // monitor (hub_view.h asks it what it needs); `public_hub` is what the
  // observer is told about.
  HubImpl* hub = nullptr;
  const Hub* public_hub = nullptr;
  pid_t tid = 0;
  pthread_t thread{};
  clockid_t cpu_clock{};
  std::uint64_t hub_greenlet = 0, main_greenlet = 0;
};

// count_progress() tells a waiting dump the hub moves on. Hub thread only.
inline void count_progress(Beat& b) {
  b.progress.store(b.progress.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

// stamp() records a new segment and returns its start. Hub thread only,
// with monitor_on().
inline std::uint64_t stamp(Beat& b, StallOwner owner, std::uint64_t greenlet, std::uint8_t watcher = 0);
void publish_stall_end(Beat& b, std::uint64_t seq, std::uint64_t ticks);
void publish_missed_stall(Beat& b, std::uint64_t seq, std::uint64_t ticks);

// publish_owner() ends a stamp begun at seq `s` (now s + 1): who holds the
// thread, then the even seq that makes the segment readable.
inline void publish_owner(Beat& b, std::uint64_t s, StallOwner owner, std::uint64_t greenlet, std::uint8_t watcher) {
  b.greenlet.store(greenlet, std::memory_order_release);
  b.owner.store(static_cast<std::uint8_t>(owner), std::memory_order_release);
  b.watcher.store(watcher, std::memory_order_release);
  b.seq.store(s + 2, std::memory_order_release);
}

inline std::uint64_t stamp(Beat& b, StallOwner owner, std::uint64_t greenlet, std::uint8_t watcher) {
  const std::uint64_t t = ticks_now();
  const std::uint64_t s = b.seq.load(std::memory_order_relaxed);
  // A seqlock without fences (TSan has none): release stores keep the odd
  // seq ahead of the fields, the final release store keeps them ahead of
  // the even one. Plain moves on x86. The odd seq goes out first, right
  // after the segment's end time was read: a sample the monitor keeps (its
  // segment still current after it) was then taken before that end, even
  // when the thread is preempted while it publishes the end below.
  b.seq.store(s + 1, std::memory_order_relaxed);
  if (b.flagged_seq.load(std::memory_order_acquire) == s) [[unlikely]] {
    publish_stall_end(b, s, t);
  } else if (t - b.since.load(std::memory_order_relaxed) > g_threshold_ticks.load(std::memory_order_relaxed))
      [[unlikely]] {
    publish_missed_stall(b, s, t);
  }
  b.since.store(t, std::memory_order_release);
  publish_owner(b, s, owner, greenlet, watcher);
  return t;
}

// stamp_continuing() is stamp() for a segment that starts where the
// current one did: the hub resuming a greenlet in run_slice() right after
// the one before switched back (HubImpl::resume_switch() says when), with no
// clock read. The current segment's `since` stays. If the monitor flagged
// the current segment (the hub's, preempted past the threshold), the clock
// is read after all: the stall gets its exact end and the new segment
// starts there. Hub thread only, with monitor_on().
inline void stamp_continuing(Beat& b, StallOwner owner, std::uint64_t greenlet) {
  const std::uint64_t s = b.seq.load(std::memory_order_relaxed);
  b.seq.store(s + 1, std::memory_order_relaxed);
  if (b.flagged_seq.load(std::memory_order_acquire) == s) [[unlikely]] {
    const std::uint64_t t = ticks_now();
    publish_stall_end(b, s, t);
    b.since.store(t, std::memory_order_release);
  }
  publish_owner(b, s, owner, greenlet, 0);
}

// Hub-side events besides switches (hub.cpp calls them with monitor_on()).
// Both return the stamp's reading (for hook_ticks()).
std::uint64_t beat_poll_begin(Beat& b);
std::uint64_t beat_poll_end(Beat& b);
// beat_hub_stopped() closes the last segment of a hub that has run its
// last greenlet and callback: its teardown's remaining waits (its pool's
// threads joined, the observer told, the registry's lock) are no stall.
void beat_hub_stopped(Beat& b);
// hub_started() opens the main greenlet's first segment once the hub is
// built: its start-up (the monitor's and the tracer's threads, the tracer's
// first chunks) is the runtime's own work, done before there is a loop to
// stall (seen: 10 ms of it under ASan on a loaded machine, reported as a
// stall of main). Hub thread.
void hub_started(Beat& b);

// register_hub()/unregister_hub(): a hub's Beat joins/leaves the monitor's
// list. Hub thread; register also sets up the thread's alternate signal
// stack (samples and crash reports run on it).
// `hub` and `public_hub` are the same hub (HubImpl is a Hub); the ids are
// its hub and main greenlets'.
std::shared_ptr<Beat> register_hub(HubImpl& hub, const Hub& public_hub, std::uint64_t hub_greenlet,
                                   std::uint64_t main_greenlet);
void unregister_hub(Beat& beat);

// tls_beat is the calling thread's Beat (the signal handler's way in).
extern thread_local Beat* tls_beat __attribute__((tls_model("initial-exec")));

}  // namespace gs::detail
