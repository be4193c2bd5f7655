// load.cpp: loading a trace for a subcommand, and stderr messages.
#include <cstdio>

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

LoadedTrace load_trace(const Args& args) {
  const std::string& path = args.file();
  const bool quiet = args.has("quiet");
  Progress progress("loading " + shown(path), progress_wanted(quiet));
  traceio::LoadOptions options;
  options.progress = [&progress](std::uint64_t done, std::uint64_t total) { progress.update(done, total); };
  traceio::LoadResult result = traceio::load(path, options);
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

}  // namespace gs::cli
