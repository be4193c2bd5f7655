// model_build.cpp: build_trace() (model_build.h): tables and summaries. The
// tracks of one thread are made in model_tracks.cpp.
#include "model_build.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

#include "greenscope/safe_text.h"
#include "model_tracks.h"

namespace gs::analysis::detail {

void valid_text(traceio::RunInfoDump& dump) {
  dump.trigger = traceio::valid_utf8(dump.trigger);
  dump.text = traceio::valid_utf8(dump.text, /*multiline=*/true);
}

namespace {

using traceio::Trace;

}  // namespace

TraceBuilder::TraceBuilder(Model& model, const Trace& trace, std::int64_t offset_ns)
    : m_(model), t_(trace), offset_(offset_ns), process_(static_cast<std::uint32_t>(model.processes.size())) {
  infos_.emplace(SpanInfo{}, 0);
}

std::uint32_t TraceBuilder::text(std::uint32_t trace_id) {
  if (trace_id == 0) return 0;
  const auto [it, added] = texts_.try_emplace(trace_id, 0);
  if (added) it->second = m_.intern(t_.text(trace_id));
  return it->second;
}

void TraceBuilder::add_process() {
  ProcessSummary p;
  p.path = t_.path();
  p.info = t_.process();
  p.stats = t_.stats();
  p.problems = t_.problems();
  p.offset_ns = offset_;
  p.begin_ns = at(t_.begin_ns());
  p.end_ns = at(t_.end_ns());
  m_.processes.push_back(std::move(p));
  const auto first = static_cast<std::uint32_t>(m_.threads.size());
  for (std::size_t i = 0; i < t_.threads().size(); ++i)
    thread_index_.emplace(t_.threads()[i].index, first + static_cast<std::uint32_t>(i));
}

// add_tables() moves the stalls, crashes and run infos onto the model's
// axis, and notes which hub thread each stall and crash belongs to.
void TraceBuilder::add_tables() {
  for (traceio::StallInfo s : t_.stalls()) {
    s.start_ns = at(s.start_ns);
    if (s.end_ns >= 0) s.end_ns = at(s.end_ns);
    for (traceio::StallSampleInfo& sample : s.samples) sample.time_ns = at(sample.time_ns);
    if (s.thread != UINT32_MAX) stalls_by_thread_[s.thread].push_back(static_cast<std::uint32_t>(m_.stalls.size()));
    m_.stalls.push_back(std::move(s));
    m_.stall_process.push_back(process_);
  }
  for (traceio::CrashInfo c : t_.crashes()) {
    c.time_ns = at(c.time_ns);
    // The crash is recorded by the monitor's stream; it belongs on the
    // thread of the greenlet that crashed.
    const auto g = t_.greenlets().find(c.greenlet);
    if (c.greenlet != 0 && g != t_.greenlets().end())
      crashes_by_thread_[g->second.thread].push_back(static_cast<std::uint32_t>(m_.crashes.size()));
    m_.crashes.push_back(c);
    m_.crash_process.push_back(process_);
  }
  for (traceio::RunInfoDump r : t_.run_infos()) {
    r.time_ns = at(r.time_ns);
    valid_text(r);
    m_.run_infos.push_back(std::move(r));
    m_.run_info_process.push_back(process_);
  }
}

// add_greenlets() finishes the summaries: every greenlet the trace names or
// a span showed, by id.
void TraceBuilder::add_greenlets() {
  for (const auto& entry : t_.greenlets()) greenlets_.try_emplace(entry.first);
  for (auto& [id, g] : greenlets_) {
    g.process = process_;
    g.id = id;
    g.name = m_.intern(t_.greenlet_name(id));
    const auto info = t_.greenlets().find(id);
    if (info != t_.greenlets().end()) {
      const traceio::GreenletInfo& i = info->second;
      g.spawner = i.spawner;
      if (g.track == UINT32_MAX && thread_index_.count(i.thread) != 0) g.thread = thread_index_.at(i.thread);
      g.spawn_ns = i.spawn_ns >= 0 ? at(i.spawn_ns) : -1;
      g.exit_ns = i.exit_ns >= 0 ? at(i.exit_ns) : -1;
      g.exit_kind = i.exit_kind;
      g.error = m_.intern(i.error);
    }
    m_.greenlets.push_back(g);
  }
}

// build_threads() builds every thread's tracks (build_thread()) on up to
// one worker per core, biggest threads first, while this thread reports
// progress and passes on a cancel. thread_done() runs on the worker that
// built the thread.
bool TraceBuilder::build_threads(std::vector<ThreadBuild>& out, const BuildProgress& progress,
                                 const std::function<void(std::uint32_t)>& thread_done) {
  const std::vector<traceio::ThreadInfo>& threads = t_.threads();
  const std::size_t n = threads.size();
  out.resize(n);
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&threads](std::size_t x, std::size_t y) {
    return threads[x].events.size() > threads[y].events.size();
  });
  // The lookups the workers make, made now: operator[] inserts.
  std::vector<const std::vector<std::uint32_t>*> stalls(n), crashes(n);
  for (std::size_t i = 0; i < n; ++i) {
    stalls[i] = &stalls_by_thread_[threads[i].index];
    crashes[i] = &crashes_by_thread_[threads[i].index];
  }
  std::mutex mutex;
  std::condition_variable changed;
  std::size_t next = 0, finished = 0;
  bool cancelled = false;
  std::exception_ptr error;
  const auto work = [&] {
    for (;;) {
      std::size_t i = 0;
      {
        const std::lock_guard lock(mutex);
        if (cancelled || error || next == n) return;
        i = order[next++];
      }
      try {
        out[i] = build_thread(m_, threads[i], offset_, *stalls[i], *crashes[i]);
        if (thread_done) thread_done(threads[i].index);
      } catch (...) {
        const std::lock_guard lock(mutex);
        if (!error) error = std::current_exception();
      }
      const std::lock_guard lock(mutex);
      ++finished;
      changed.notify_all();
    }
  };
  const std::size_t workers = std::min<std::size_t>(n, std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (std::size_t w = 0; w < workers; ++w) pool.emplace_back(work);
  {
    std::unique_lock lock(mutex);
    std::size_t told = SIZE_MAX;
    while (finished < next || (next < n && !cancelled && !error)) {
      if (progress && finished != told) {
        told = finished;
        const double done = n == 0 ? 1.0 : static_cast<double>(finished) / static_cast<double>(n);
        lock.unlock();
        const bool go_on = progress(done);
        lock.lock();
        if (!go_on) cancelled = true;
        continue;
      }
      changed.wait(lock);
    }
  }
  for (std::thread& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  return !cancelled;
}

bool TraceBuilder::run(const BuildProgress& progress, std::vector<SwitchStore>* switches,
                       const std::function<void(std::uint32_t)>& thread_done) {
  add_process();
  add_tables();
  std::vector<ThreadBuild> built;
  if (!build_threads(built, progress, thread_done)) return false;
  for (std::size_t i = 0; i < built.size(); ++i) merge_thread(t_.threads()[i], std::move(built[i]));
  add_greenlets();
  *switches = std::move(switches_);
  return true;
}

bool build_trace(Model& model, const Trace& trace, std::int64_t offset_ns, const BuildProgress& progress,
                 std::vector<SwitchStore>* switches, const std::function<void(std::uint32_t)>& thread_done) {
  TraceBuilder builder(model, trace, offset_ns);
  return builder.run(progress, switches, thread_done);
}

}  // namespace gs::analysis::detail
