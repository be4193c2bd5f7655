// load.cpp: loading a trace for a subcommand, and stderr messages.
#include <cstdio>
#include <cstdlib>

#include "cli.h"
#include "format.h"

namespace gs::cli {

void warn(const std::string& text) { std::fprintf(stderr, "greenscope: warning: %s\n", shown(text).c_str()); }

void error(const std::string& text) { std::fprintf(stderr, "greenscope: error: %s\n", shown(text).c_str()); }

namespace {

// damage_found() is what --strict refuses: problems, lost events, no End.
bool damage_found(const traceio::Trace& trace) {
  return !trace.problems().empty() || trace.stats().dropped > 0 || !trace.stats().clean_end;
}

void print_problems(const traceio::Trace& trace) {
  const auto& problems = trace.problems();
  for (std::size_t i = 0; i < problems.size() && i < 20; ++i)
    warn(trace.path() + ": at byte " + std::to_string(problems[i].offset) + ": " + problems[i].message);
  if (problems.size() > 20)
    warn(std::to_string(problems.size() - 20) + " more problems (greenscope info lists them all)");
  if (trace.stats().dropped > 0)
    warn(trace.path() + ": " + std::to_string(trace.stats().dropped) +
         " events were dropped while recording: spans around them may be wrong");
  if (!trace.stats().clean_end && problems.empty())
    warn(trace.path() + ": the file did not end cleanly (the program was killed, or is still writing)");
}

}  // namespace

namespace {

// read_trace() reads args.file() with `read` (load or scan) under a progress
// bar, then warns and applies --strict as every command does.
template <typename Read>
LoadedTrace read_trace(const Args& args, Read&& read) {
  const std::string& path = args.file();
  const bool quiet = args.has("quiet");
  Progress progress("loading " + shown(path), progress_wanted(quiet));
  traceio::LoadOptions options;
  options.progress = [&progress](std::uint64_t done, std::uint64_t total) { progress.update(done, total); };
  traceio::LoadResult result = read(path, options);
  progress.finish();
  LoadedTrace loaded;
  if (!result.trace) {
    error(result.error.empty() ? "cannot read '" + path + "'" : result.error);
    loaded.exit_code = kExitFailure;
    return loaded;
  }
  loaded.trace = std::move(result.trace);
  if (!quiet) print_problems(*loaded.trace);
  if (args.has("strict") && damage_found(*loaded.trace)) {
    if (!quiet) error("--strict: the trace is damaged or incomplete");
    loaded.exit_code = kExitFailure;
  }
  return loaded;
}

}  // namespace

LoadedTrace load_trace(const Args& args) {
  return read_trace(args, [](const std::string& path, const traceio::LoadOptions& options) {
    return traceio::load(path, options);
  });
}

namespace {

// load_for_sink() is the reference scan_trace() is tested against
// (GREENSCOPE_READ_WHOLE=1, tests/cli/stream_test.cpp): the whole trace
// load()ed, then its events handed to `sink` as scan() hands them.
traceio::LoadResult load_for_sink(const std::string& path, const traceio::LoadOptions& options,
                                  traceio::EventSink* sink) {
  traceio::LoadResult result = traceio::load(path, options);
  if (!result.trace || sink == nullptr) return result;
  sink->start(*result.trace);
  for (const traceio::ThreadInfo& t : result.trace->threads()) {
    sink->begin_thread(t);
    if (!t.events.empty()) sink->events(t, t.events);
    sink->end_thread(t);
  }
  return result;
}

bool read_whole() {
  const char* value = std::getenv("GREENSCOPE_READ_WHOLE");
  return value != nullptr && std::string(value) == "1";
}

}  // namespace

LoadedTrace scan_trace(const Args& args, traceio::EventSink* sink) {
  return read_trace(args, [sink](const std::string& path, const traceio::LoadOptions& options) {
    return read_whole() ? load_for_sink(path, options, sink) : traceio::scan(path, options, sink);
  });
}

}  // namespace gs::cli
