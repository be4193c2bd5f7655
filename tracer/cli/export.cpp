// export.cpp: `greenscope export`, a trace in another tool's format.
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "chrome_export.h"
#include "cli.h"
#include "format.h"

namespace gs::cli {

namespace {

// kBrowserJsonLimit: past about this size, ui.perfetto.dev and chrome://tracing
// run out of memory parsing JSON in the browser.
constexpr long kBrowserJsonLimit = 1000L << 20;

// default_output() is FILE with .gstrace replaced by .json.
std::string default_output(const std::string& trace_path) {
  const std::string ext = ".gstrace";
  const bool has_ext =
      trace_path.size() > ext.size() && trace_path.compare(trace_path.size() - ext.size(), ext.size(), ext) == 0;
  return (has_ext ? trace_path.substr(0, trace_path.size() - ext.size()) : trace_path) + ".json";
}

std::string other_data(const traceio::Trace& trace) {
  const traceio::ProcessInfo& p = trace.process();
  JsonArgs data;
  data.add("source", "greenscope").add("trace", trace.path()).add("program", p.program);
  data.add("pid", static_cast<std::int64_t>(p.pid)).add("host", p.host);
  if (p.start_wall_ns > 0) data.add("started", iso8601_utc(p.start_wall_ns));
  data.add("dropped_events", static_cast<std::int64_t>(trace.stats().dropped));
  data.add("problems", static_cast<std::int64_t>(trace.problems().size()));
  return data.json();
}

// export_to() writes the JSON to an open file; false if writing failed.
bool export_to(const traceio::Trace& trace, std::FILE* out, bool show_progress, const ChromeExportWindow& window,
               ChromeExportStats& stats) {
  Progress progress("exporting", show_progress);
  ChromeWriter writer(out);
  stats = write_chrome_trace(
      trace, writer, [&](std::uint64_t done, std::uint64_t total) { progress.update(done, total); }, window);
  progress.finish();
  return writer.finish(other_data(trace));
}

int run_export_command(const Args& args) {
  const std::string format = args.get("format", "chrome");
  if (format != "chrome") throw UsageError("unknown --format '" + format + "'; the formats: chrome");
  const std::string output = args.get("output", default_output(args.file()));
  ChromeExportWindow window;
  if (const auto from = args.real("from")) window.from_ns = std::llround(*from * 1e6);
  if (const auto to = args.real("to")) window.to_ns = std::llround(*to * 1e6);
  if (window.from_ns > window.to_ns) throw UsageError("--from is after --to");
  LoadedTrace loaded = load_trace(args);
  if (!loaded.trace) return loaded.exit_code;
  const bool to_stdout = output == "-";
  std::FILE* out = to_stdout ? stdout : std::fopen(output.c_str(), "w");
  if (out == nullptr) {
    error("cannot create '" + output + "': " + std::strerror(errno));
    return kExitFailure;
  }
  ChromeExportStats stats;
  const bool written = export_to(*loaded.trace, out, progress_wanted(args.has("quiet")), window, stats);
  const long size = to_stdout ? -1 : std::ftell(out);
  const bool closed = to_stdout || std::fclose(out) == 0;
  if (!written || !closed) {
    error("writing '" + output + "' failed: " + std::strerror(errno));
    if (!to_stdout) std::remove(output.c_str());
    return kExitFailure;
  }
  if (!to_stdout && !args.has("quiet"))
    std::fprintf(stderr, "greenscope: wrote %s: %llu tracks, %llu slices, %llu markers (open it in ui.perfetto.dev)\n",
                 output.c_str(), static_cast<unsigned long long>(stats.tracks),
                 static_cast<unsigned long long>(stats.slices), static_cast<unsigned long long>(stats.instants));
  if (size > kBrowserJsonLimit && !args.has("quiet"))
    warn("'" + output + "' is " + std::to_string(size >> 20) +
            " MiB: browsers fail to load JSON this big into ui.perfetto.dev; export a window with --from MS --to MS");
  return loaded.exit_code;
}

}  // namespace

const Command& export_command() {
  static const Command command = [] {
    Command c;
    c.name = "export";
    c.synopsis = "export [--format chrome] FILE [-o OUT.json] [--from MS] [--to MS]";
    c.summary = "convert a trace to Chrome Trace Event JSON for ui.perfetto.dev or chrome://tracing";
    c.options = {
        {"format", 0, true, "FORMAT", "output format: chrome (the default)"},
        {"output", 'o', true, "OUT", "output file (default: FILE with .gstrace replaced by .json; - for stdout)"},
        {"from", 0, true, "MS", "only what happens at or after MS milliseconds into the trace"},
        {"to", 0, true, "MS", "only what happens at or before MS milliseconds"},
    };
    for (OptionSpec& o : trace_reading_options()) c.options.push_back(o);
    c.details =
        "A track per greenlet (hub first on each OS thread) with its running and waiting\n"
        "slices; the hub's track also shows the loop: poll, callbacks, each watcher callback.\n"
        "Arrows follow the switches from one run to the next, and from a greenlet's wait to\n"
        "the thread-pool job it submitted. Lost events are instant markers named DROPPED.\n";
    c.run = &run_export_command;
    return c;
  }();
  return command;
}

}  // namespace gs::cli
