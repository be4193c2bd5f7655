// loader.cpp: load(), from a path to a Trace. Only what leaves nothing to
// show (no file, not a trace, a newer format) is an error; any damage past
// the file header becomes a Problem and the load goes on.
#include <algorithm>
#include <cstring>
#include <new>
#include <string>

#include "file_bytes.h"
#include "load_state.h"
#include "progress.h"

namespace gs::traceio {
namespace {

namespace tf = trace_format;

std::string check_header(const detail::FileBytes& file, tf::FileHeader& h) {
  return detail::check_header(file.data.get(), file.size, h);
}

}  // namespace

namespace detail {

std::string check_header(const std::uint8_t* data, std::size_t size, tf::FileHeader& h) {
  if (size == 0) return "the file is empty (was the program killed before tracing started?)";
  const std::size_t magic = std::min(size, sizeof(tf::kFileMagic));
  if (std::memcmp(data, tf::kFileMagic, magic) != 0) {
    return "not a greenscope trace (it does not start with the GSTRACE magic; is it the right "
           "file?)";
  }
  if (size < sizeof(h)) {
    return "truncated: the file ends inside its " + std::to_string(sizeof(h)) + "-byte header";
  }
  std::memcpy(&h, data, sizeof(h));
  const std::string version = std::to_string(h.major) + "." + std::to_string(h.minor);
  if (h.major > tf::kFormatMajor) {
    return "written by a newer greenscope (format " + version +
           "); this reader understands format " + std::to_string(tf::kFormatMajor) +
           ".x: upgrade greenscope";
  }
  if (h.major < tf::kOldestMajor) {
    return "written in format " + version + ", which this greenscope no longer reads (it reads " +
           std::to_string(tf::kOldestMajor) + ".x to " + std::to_string(tf::kFormatMajor) + ".x)";
  }
  if (h.header_size < sizeof(h)) {
    return "damaged file header: header_size " + std::to_string(h.header_size) + " is below the " +
           std::to_string(sizeof(h)) + " bytes of format 1.0";
  }
  return "";
}

}  // namespace detail

// Loader turns a LoadState into a Trace; it is the only code that sees
// Trace's insides.
class Loader {
 public:
  static LoadResult run(const std::string& path, const LoadOptions& options) {
    detail::Progress progress(options);
    detail::FileBytes file;
    std::string error = detail::read_file(path, progress, file);
    if (!error.empty()) return {nullptr, path + ": cannot open: " + error};
    tf::FileHeader h{};
    error = check_header(file, h);
    if (!error.empty()) return {nullptr, path + ": " + error};
    detail::LoadState state;
    state.path = path;
    state.file_size = file.size;
    state.stats.file_bytes = file.size;
    read(file, h, state, progress, options);
    file.data.reset();  // the events are decoded: the bytes can go before the Trace grows
    std::unique_ptr<Trace> trace = build(state);
    progress.finish();
    return {std::move(trace), ""};
  }

 private:
  // read() walks the chunks and decodes the events, noting what is missing.
  static void read(const detail::FileBytes& file, const tf::FileHeader& h, detail::LoadState& state,
                   detail::Progress& progress, const LoadOptions& options) {
    detail::begin_read(h, state);
    if (h.header_size <= file.size) detail::walk_chunks(file.data.get(), h.header_size, state);
    detail::end_walk(state);
    detail::decode_events(state, progress, options);
    detail::end_decode(state);
  }

 public:
  static std::unique_ptr<Trace> build(detail::LoadState& state) {
    auto trace = std::make_unique<Trace>();
    trace->greenlets_ = state.greenlets_built ? std::move(state.greenlets) : detail::build_greenlets(state);
    trace->path_ = state.path;
    trace->process_ = std::move(state.process);
    for (auto& [index, thread] : state.threads) {
      thread.event_total = std::max<std::uint64_t>(thread.event_total, thread.events.size());
      trace->threads_.push_back(std::move(thread));
    }
    trace->texts_ = state.texts.take();
    trace->stats_ = state.stats;
    trace->begin_ns_ = state.begin_ns;
    trace->end_ns_ = state.end_ns;
    trace->stalls_ = detail::finish_stalls(state, trace->end_ns_);
    trace->problems_ = problems(state);
    for (auto& [id, module] : state.modules) trace->modules_.push_back(std::move(module));
    trace->stacks_ = std::move(state.stacks);
    trace->symbols_ = std::move(state.symbols);
    for (auto& [ticks, dump] : state.run_infos) trace->run_infos_.push_back(std::move(dump));
    std::stable_sort(trace->run_infos_.begin(), trace->run_infos_.end(),
                     [](const RunInfoDump& x, const RunInfoDump& y) { return x.time_ns < y.time_ns; });
    trace->crashes_ = std::move(state.crashes);
    std::stable_sort(trace->crashes_.begin(), trace->crashes_.end(),
                     [](const CrashInfo& x, const CrashInfo& y) { return x.time_ns < y.time_ns; });
    return trace;
  }

 private:
  // problems() lists the problems in file order, and says how many were left out.
  static std::vector<Problem> problems(detail::LoadState& state) {
    std::vector<Problem> list = std::move(state.problems);
    std::stable_sort(list.begin(), list.end(),
                     [](const Problem& x, const Problem& y) { return x.offset < y.offset; });
    if (state.problems_suppressed > 0) {
      list.push_back(Problem{
          state.file_size,
          "... and " + std::to_string(state.problems_suppressed) + " more problems not listed"});
    }
    return list;
  }
};

namespace detail {

void begin_read(const tf::FileHeader& h, LoadState& state) {
  state.process.major = h.major;
  state.process.minor = h.minor;
  state.process.flight_dump = (h.flags & tf::kFileFlagFlightDump) != 0;
  if (h.header_size > state.file_size) {
    state.problem(0, "truncated: the file header says it is " + std::to_string(h.header_size) +
                         " bytes long, but the file has only " + std::to_string(state.file_size));
  }
}

void end_walk(LoadState& state) {
  if (!state.have_process) {
    state.problem(0,
                  "no process record (lost or damaged): program, pid and start time are unknown, "
                  "and times count from the first event");
  }
}

void end_decode(LoadState& state) {
  if (!state.stats.clean_end) {
    state.problem(state.file_size,
                  "no end record: the program did not stop tracing cleanly (killed or crashed?); "
                  "everything up to the last complete chunk is shown");
  }
}

std::unique_ptr<Trace> build_trace(LoadState& state) { return Loader::build(state); }

}  // namespace detail

LoadResult load(const std::string& path, const LoadOptions& options) {
  try {
    return Loader::run(path, options);
  } catch (const std::bad_alloc&) {
    return {nullptr, path + ": out of memory while loading the trace"};
  }
}

}  // namespace gs::traceio
