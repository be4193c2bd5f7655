// monitor_reports.cpp: what the stall monitor tells: the observer (the
// tracer), the on_stall() callback and the printed reports, on the reporter
// thread ("gs-reporter"); rate-limited printing; run-info dumps asked for
// by a signal, on the dumper thread ("gs-dumper"); blocking-call reports.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <utility>

#include "greenscope/detail/own_fd_table.h"
#include "greenscope/detail/quiet_thread.h"
#include "greenscope/observer.h"
#include "monitor.h"
#include "monitor_internal.h"
#include "stall_text.h"

namespace gs::detail::mon {
namespace {

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
// to notice and sample the next stall. It also starts the dumper. Unless the
// program gave it code of its own to run (g_program_code: an on_stall()
// callback), it keeps its own fd table (own_fd_table.h), and borrows the
// program's stderr to print.
std::mutex g_report_mutex;
std::condition_variable& g_report_cv = *new std::condition_variable();
std::vector<Delivery>& g_report_queue = *new std::vector<Delivery>();  // guarded by g_report_mutex
bool g_report_stop = false;            // guarded by g_report_mutex
bool g_dumper_wanted = false;          // guarded by g_report_mutex: serve_dump() found no dumper
std::thread& g_reporter = *new std::thread();

void start_dumper_if_wanted();

void reporter_main() {
  ::pthread_setname_np(::pthread_self(), "gs-reporter");
  if (!g_program_code.load()) leave_program_fds({});
  std::unique_lock<std::mutex> lock(g_report_mutex);
  for (;;) {
    g_report_cv.wait(lock, [] { return g_report_stop || g_dumper_wanted || !g_report_queue.empty(); });
    if (g_report_queue.empty() && !g_dumper_wanted && g_report_stop) return;
    const bool dumper_wanted = std::exchange(g_dumper_wanted, false);
    std::vector<Delivery> batch;
    batch.swap(g_report_queue);
    lock.unlock();
    if (dumper_wanted) start_dumper_if_wanted();
    if (!batch.empty()) {
      const ProgramStderr err;
      report_now(batch);
    }
    lock.lock();
  }
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
  const ProgramStderr err;
  const std::string text = format_run_info();
  std::fwrite(text.data(), 1, text.size(), stderr);
  const char* name = sigabbrev_np(sig);
  const std::string trigger = std::string("signal SIG") + (name ? name : std::to_string(sig).c_str());
  if (Observer* o = observer_if_any()) o->on_run_info(trigger, text);
}

// dumper_main(): `own_table` when its creator, the reporter, has its own fd
// table, which the dumper inherits: it then takes its own in turn, to know
// it has one (ProgramStderr).
void dumper_main(bool own_table) {
  ::pthread_setname_np(::pthread_self(), "gs-dumper");
  if (own_table) leave_program_fds({}, /*creator_left=*/true);
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



// start_dumper_if_wanted() starts the dumper, from the reporter: a thread
// inherits its creator's fd table, and the dumper's is the reporter's.
void start_dumper_if_wanted() {
  std::lock_guard<std::mutex> lock(g_dump_mutex);
  if (!g_dumper.joinable() && !g_dump_stop) g_dumper = quiet_thread([own = left_program_fds()] { dumper_main(own); });
  g_dump_cv.notify_one();
}

}  // namespace

void deliver(const std::vector<Delivery>& ds) {
  if (ds.empty()) return;
  std::lock_guard<std::mutex> lock(g_report_mutex);
  g_report_queue.insert(g_report_queue.end(), ds.begin(), ds.end());
  g_report_cv.notify_one();
}

// serve_dump() hands a signalled dump to the dumper. Monitor thread.
void serve_dump() {
  const int sig = g_dump_signal.exchange(0);
  if (sig == 0) return;
  bool started = false;
  {
    std::lock_guard<std::mutex> lock(g_dump_mutex);
    g_dump_pending = sig;
    started = g_dumper.joinable();
    g_dump_cv.notify_one();
  }
  if (started) return;
  // The monitor keeps its own fd table: the reporter starts the dumper.
  std::lock_guard<std::mutex> lock(g_report_mutex);
  g_dumper_wanted = true;
  g_report_cv.notify_one();
}

// stop_dumper() lets the dumper finish what it was asked, then joins it.
// After the monitor and the reporter, which start it, have stopped.
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

void start_reporter() {
  {
    std::lock_guard<std::mutex> report_lock(g_report_mutex);
    g_report_stop = false;
  }
  g_reporter = quiet_thread(reporter_main);
}

// join_reporter() stops the reporter after everything queued was reported.
void join_reporter() {
  {
    std::lock_guard<std::mutex> report_lock(g_report_mutex);
    g_report_stop = true;
    g_report_cv.notify_one();
  }
  g_reporter.join();
}

void stop_reporter() {
  join_reporter();
  flush_suppressed();
}

void restart_reporter() {
  join_reporter();
  start_reporter();
}


void reset_reports_after_fork() {
  new (&g_reporter) std::thread();  // not destroyed: the parent's handle means nothing here
  new (&g_limiter_mutex) std::mutex();
  new (&g_report_mutex) std::mutex();
  new (&g_report_cv) std::condition_variable();
  g_report_queue.clear();
  g_report_stop = false;
  g_dumper_wanted = false;
  new (&g_dump_mutex) std::mutex();
  new (&g_dump_cv) std::condition_variable();
  new (&g_dumper) std::thread();
  g_dump_pending = 0;
  g_dump_stop = false;
}

}  // namespace gs::detail::mon

namespace gs::detail {

using mon::admit_print;
using mon::g_config_mutex;
using mon::g_options;

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

}  // namespace gs::detail
