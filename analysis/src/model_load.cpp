// model_load.cpp: Model::load() and Model::add() (model.h): a trace onto
// the model's time axis, all of it or nothing.
#include <algorithm>

#include "model_build.h"
#include "model_impl.h"

namespace gs::analysis {

namespace {

// kReadShare: loading the file is most of the work, building the tracks
// the rest of the progress bar.
constexpr double kReadShare = 0.9;

struct Cancelled {};

// Sizes is where the tables ended before a trace was added: a cancelled
// build is cut back to it, and a trace that starts earlier than the axis
// moves what was there before.
struct Sizes {
  std::size_t processes, threads, tracks, greenlets, infos, stalls, crashes, run_infos;
};

template <typename T>
void cut(std::vector<T>& v, std::size_t n) {
  v.erase(v.begin() + static_cast<std::ptrdiff_t>(n), v.end());
}

void shift_stall(traceio::StallInfo& s, std::int64_t ns) {
  s.start_ns += ns;
  if (s.end_ns >= 0) s.end_ns += ns;
  for (traceio::StallSampleInfo& sample : s.samples) sample.time_ns += ns;
}

// shift_first() moves the first entries of every table (what was there
// before the trace just added) `ns` later.
void shift_first(Model& m, std::vector<detail::SwitchStore>& switches, const Sizes& n, std::int64_t ns) {
  for (std::size_t i = 0; i < n.processes; ++i) {
    m.processes[i].offset_ns += ns;
    m.processes[i].begin_ns += ns;
    m.processes[i].end_ns += ns;
  }
  for (std::size_t i = 0; i < n.tracks; ++i) {
    for (SpanColumns& level : m.tracks[i].levels) {
      for (std::int64_t& t : level.begin) t += ns;
      for (std::int64_t& t : level.end) t += ns;
    }
  }
  for (std::size_t i = 0; i < n.greenlets; ++i) {
    if (m.greenlets[i].spawn_ns >= 0) m.greenlets[i].spawn_ns += ns;
    if (m.greenlets[i].exit_ns >= 0) m.greenlets[i].exit_ns += ns;
  }
  for (std::size_t i = 0; i < n.stalls; ++i) shift_stall(m.stalls[i], ns);
  for (std::size_t i = 0; i < n.crashes; ++i) m.crashes[i].time_ns += ns;
  for (std::size_t i = 0; i < n.run_infos; ++i) m.run_infos[i].time_ns += ns;
  for (std::size_t i = 0; i < n.threads; ++i) switches[i].shift(ns);
}

bool fail(std::string* error, const std::string& text) {
  if (error != nullptr) *error = text;
  return false;
}

}  // namespace

Model::Model() : impl_(std::make_shared<Impl>()) {}

void Model::add(const traceio::Trace& trace) {
  add_trace(trace, [&trace] { return std::shared_ptr<const traceio::Trace>(trace.without_events()); }, {});
}

void Model::add(std::shared_ptr<const traceio::Trace> trace) {
  add_trace(*trace, [&trace] { return trace; }, {});
}

bool Model::load(const std::string& path, std::string* error, const LoadProgress& progress) {
  traceio::LoadOptions options;
  // traceio cannot be asked to stop: an exception thrown from its progress
  // callback unwinds it (it holds everything in RAII types).
  if (progress) {
    options.progress = [&progress](std::uint64_t done, std::uint64_t total) {
      const double read = total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
      if (!progress(kReadShare * read)) throw Cancelled{};
    };
  }
  traceio::LoadResult loaded;
  try {
    loaded = traceio::load(path, options);
  } catch (const Cancelled&) {
    return fail(error, "cancelled");
  }
  if (loaded.trace == nullptr) return fail(error, loaded.error);
  LoadProgress build;
  if (progress) build = [&progress](double done) { return progress(kReadShare + (1 - kReadShare) * done); };
  // Each thread's events go once its tracks are built (a cancelled load
  // drops the whole trace anyway); the rest stays for stacks and symbols.
  traceio::Trace& trace = *loaded.trace;
  const auto keep = [&loaded] { return std::shared_ptr<const traceio::Trace>(std::move(loaded.trace)); };
  if (!add_trace(trace, keep, build, [&trace](std::uint32_t index) { trace.release_events(index); }))
    return fail(error, "cancelled");
  if (progress) progress(1.0);
  return true;
}

std::uint32_t Model::add_live_process(std::shared_ptr<const traceio::Trace> trace) {
  Impl& impl = *impl_;
  const Sizes before{processes.size(), threads.size(), tracks.size(), greenlets.size(),
                     infos.size(),     stalls.size(),  crashes.size(), run_infos.size()};
  const std::int64_t wall = trace->process().start_wall_ns;
  const bool known = wall > 0;
  const std::int64_t offset = known && impl.have_base && wall > impl.base_wall_ns ? wall - impl.base_wall_ns : 0;
  const std::int64_t shift = known && impl.have_base && wall < impl.base_wall_ns ? impl.base_wall_ns - wall : 0;
  if (shift > 0) shift_first(*this, impl.switches, before, shift);
  if (known && (!impl.have_base || wall < impl.base_wall_ns)) {
    impl.have_base = true;
    impl.base_wall_ns = wall;
  }
  ProcessSummary p;
  p.path = trace->path();
  p.info = trace->process();
  p.offset_ns = offset;
  processes.push_back(std::move(p));
  impl.processes.push_back(Impl::Process{std::move(trace), nullptr});
  return static_cast<std::uint32_t>(processes.size() - 1);
}

// add_trace() places the trace by its wall-clock start: after the axis'
// 0, or, starting earlier, as the new 0 with everything before moved later.
bool Model::add_trace(const traceio::Trace& trace,
                      const std::function<std::shared_ptr<const traceio::Trace>()>& keep,
                      const LoadProgress& progress, const std::function<void(std::uint32_t)>& thread_done) {
  Impl& impl = *impl_;
  const Sizes before{processes.size(), threads.size(), tracks.size(), greenlets.size(),
                     infos.size(),     stalls.size(),  crashes.size(), run_infos.size()};
  const std::int64_t wall = trace.process().start_wall_ns;
  const bool known = wall > 0;  // 0: no process record; such a trace starts at the axis' 0
  const std::int64_t offset = known && impl.have_base && wall > impl.base_wall_ns ? wall - impl.base_wall_ns : 0;
  const std::int64_t shift = known && impl.have_base && wall < impl.base_wall_ns ? impl.base_wall_ns - wall : 0;
  std::vector<detail::SwitchStore> added;
  if (!detail::build_trace(*this, trace, offset, progress, &added, thread_done)) {
    cut(processes, before.processes);
    cut(threads, before.threads);
    cut(tracks, before.tracks);
    cut(greenlets, before.greenlets);
    cut(infos, before.infos);
    cut(stalls, before.stalls);
    cut(stall_process, before.stalls);
    cut(crashes, before.crashes);
    cut(crash_process, before.crashes);
    cut(run_infos, before.run_infos);
    cut(run_info_process, before.run_infos);
    return false;
  }
  if (shift > 0) shift_first(*this, impl.switches, before, shift);
  if (known && (!impl.have_base || wall < impl.base_wall_ns)) {
    impl.have_base = true;
    impl.base_wall_ns = wall;
  }
  for (detail::SwitchStore& s : added) impl.switches.push_back(std::move(s));
  impl.processes.push_back(Impl::Process{keep(), nullptr});
  return true;
}

}  // namespace gs::analysis
