// export.cpp: `greenscope export`, a trace in another tool's format.
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "chrome_export.h"
#include "cli.h"
#include "folded_export.h"
#include "format.h"
#include "greenscope/analysis/stack_names.h"
#include "perfetto_export.h"

namespace gs::cli {

// The model behind this command lives in greenscope::analysis (shared with the viewer).
using analysis::StackNames;

namespace {

// kBrowserJsonLimit: past about this size, ui.perfetto.dev and chrome://tracing
// run out of memory parsing JSON in the browser.
constexpr long kBrowserJsonLimit = 1000L << 20;

// default_output() is FILE with .gstrace replaced by `ext`.
std::string default_output(const std::string& trace_path, const std::string& ext) {
  const std::string gstrace = ".gstrace";
  const bool has_ext = trace_path.size() > gstrace.size() &&
                       trace_path.compare(trace_path.size() - gstrace.size(), gstrace.size(), gstrace) == 0;
  return (has_ext ? trace_path.substr(0, trace_path.size() - gstrace.size()) : trace_path) + ext;
}

// Output is the file an export writes: stdout for "-".
class Output {
 public:
  explicit Output(std::string path) : path_(std::move(path)) {
    file_ = to_stdout() ? stdout : std::fopen(path_.c_str(), "w");
    if (file_ == nullptr) error("cannot create '" + path_ + "': " + std::strerror(errno));
  }
  bool to_stdout() const { return path_ == "-"; }
  std::FILE* file() const { return file_; }
  const std::string& path() const { return path_; }
  // close() is false, with the error printed and the file removed, if
  // anything failed; `size` is then what was written (-1 on stdout).
  bool close(bool written, long& size) {
    size = to_stdout() ? -1 : std::ftell(file_);
    const bool closed = to_stdout() ? std::fflush(stdout) == 0 : std::fclose(file_) == 0;
    file_ = nullptr;
    if (written && closed) return true;
    error("writing '" + path_ + "' failed: " + std::strerror(errno));
    if (!to_stdout()) std::remove(path_.c_str());
    return false;
  }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

struct Window {
  std::int64_t from_ns = INT64_MIN, to_ns = INT64_MAX;
};

Window window_of(const Args& args) {
  Window w;
  if (const auto from = args.real("from")) w.from_ns = std::llround(*from * 1e6);
  if (const auto to = args.real("to")) w.to_ns = std::llround(*to * 1e6);
  if (w.from_ns > w.to_ns) throw UsageError("--from is after --to");
  return w;
}

FoldedOf folded_of(const Args& args) {
  const std::string of = args.get("of", "stalls");
  if (of == "stalls") return FoldedOf::Stalls;
  if (of == "waits") return FoldedOf::Waits;
  throw UsageError("--of wants stalls or waits, not '" + of + "'");
}

// svg_name() is where the flame graph of `folded` could go: beside it.
std::string svg_name(const std::string& folded) {
  const std::string ext = ".folded";
  const bool has_ext = folded.size() > ext.size() && folded.compare(folded.size() - ext.size(), ext.size(), ext) == 0;
  return (has_ext ? folded.substr(0, folded.size() - ext.size()) : folded) + ".svg";
}

// run_folded() writes the folded stacks of the stall samples or the waits.
int run_folded(const Args& args, const Window& window) {
  FoldedOptions options;
  options.of = folded_of(args);
  options.from_ns = window.from_ns;
  options.to_ns = window.to_ns;
  const std::string what = args.get("of", "stalls");
  const std::string output = args.get("output", default_output(args.file(), "." + what + ".folded"));
  LoadedTrace loaded = load_trace(args);
  if (!loaded.trace) return loaded.exit_code;
  const traceio::Trace& trace = *loaded.trace;
  StackNames names(trace);
  const Folded folded = fold(trace, names, options);
  Output out(output);
  if (out.file() == nullptr) return kExitFailure;
  bool written = true;
  for (const auto& [line, weight] : folded.lines)
    written &= std::fprintf(out.file(), "%s %llu\n", shown(line).c_str(), static_cast<unsigned long long>(weight)) > 0;
  long size = 0;
  if (!out.close(written, size)) return kExitFailure;
  if (args.has("quiet")) return loaded.exit_code;
  for (const std::string& note : names.notes()) std::fprintf(stderr, "greenscope: note: %s\n", shown(note).c_str());
  const std::string items = options.of == FoldedOf::Stalls ? "stalls" : "waits";
  if (folded.lines.empty())
    warn("nothing to fold: the trace holds no " + items + (options.of == FoldedOf::Waits ? " with a recorded stack" : "") +
         (window.from_ns != INT64_MIN || window.to_ns != INT64_MAX ? " in that window" : ""));
  if (folded.skipped > 0)
    std::fprintf(stderr, "greenscope: %s recorded no stack and %s not in the output\n",
                 plural(folded.skipped, "wait", "waits").c_str(), folded.skipped == 1 ? "is" : "are");
  if (!out.to_stdout())
    std::fprintf(stderr,
                 "greenscope: wrote %s: %s from %s, %s in all, weights in µs (flamegraph.pl %s > %s.svg, or open "
                 "it in speedscope.app)\n",
                 shown(output).c_str(), plural(folded.lines.size(), "stack", "stacks").c_str(),
                 plural(folded.items, items == "stalls" ? "stall" : "wait", items).c_str(),
                 format_duration(static_cast<std::int64_t>(folded.total_us()) * 1000).c_str(), shown(output).c_str(),
                 svg_name(output).c_str());
  return loaded.exit_code;
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

int run_chrome(const Args& args, const Window& w) {
  if (args.has("of")) throw UsageError("--of is for --format folded");
  ChromeExportWindow window;
  window.from_ns = w.from_ns;
  window.to_ns = w.to_ns;
  const std::string output = args.get("output", default_output(args.file(), ".json"));
  LoadedTrace loaded = load_trace(args);
  if (!loaded.trace) return loaded.exit_code;
  Output out(output);
  if (out.file() == nullptr) return kExitFailure;
  ChromeExportStats stats;
  const bool written = export_to(*loaded.trace, out.file(), progress_wanted(args.has("quiet")), window, stats);
  long size = 0;
  if (!out.close(written, size)) return kExitFailure;
  if (!out.to_stdout() && !args.has("quiet"))
    std::fprintf(stderr, "greenscope: wrote %s: %llu tracks, %llu slices, %llu markers (open it in ui.perfetto.dev)\n",
                 shown(output).c_str(), static_cast<unsigned long long>(stats.tracks),
                 static_cast<unsigned long long>(stats.slices), static_cast<unsigned long long>(stats.instants));
  if (size > kBrowserJsonLimit && !args.has("quiet"))
    warn("'" + output + "' is " + std::to_string(size >> 20) +
            " MiB: browsers fail to load JSON this big into ui.perfetto.dev; export a window with --from MS --to MS");
  return loaded.exit_code;
}

int run_export_command(const Args& args) {
  const std::string format = args.get("format", "chrome");
  const Window window = window_of(args);
  if (format == "chrome") return run_chrome(args, window);
  if (format == "folded") return run_folded(args, window);
  if (format == "perfetto") return run_perfetto_export(args);
  throw UsageError("unknown --format '" + format + "'; the formats: chrome, perfetto, folded");
}

}  // namespace

const Command& export_command() {
  static const Command command = [] {
    Command c;
    c.name = "export";
    c.synopsis = "export [--format chrome|perfetto|folded] [--of stalls|waits] FILE [-o OUT] [--from MS] [--to MS]";
    c.summary = "convert a trace: Chrome JSON or Perfetto protobuf for ui.perfetto.dev, or folded stacks for flame graphs";
    c.options = {
        {"format", 0, true, "FORMAT", "chrome (the default), perfetto or folded"},
        {"of", 0, true, "WHAT", "folded: stalls (the default: stall samples) or waits (where greenlets wait)"},
        {"output", 'o', true, "OUT",
         "output file (default: FILE with .gstrace replaced by .json, .perfetto-trace, .stalls.folded or "
         ".waits.folded; - for stdout)"},
        {"uncompressed", 0, false, "", "perfetto: plain packets, not deflated bundles (protoc --decode reads them)"},
        {"from", 0, true, "MS", "only what happens at or after MS milliseconds into the trace"},
        {"to", 0, true, "MS", "only what happens at or before MS milliseconds"},
    };
    for (OptionSpec& o : trace_reading_options()) c.options.push_back(o);
    c.details =
        "A track per greenlet (hub first on each OS thread) with its running and waiting\n"
        "slices; the hub's track also shows the loop: poll, callbacks, each watcher callback.\n"
        "Arrows follow the switches from one run to the next, and from a greenlet's wait to\n"
        "the thread-pool job it submitted. Lost events are instant markers named DROPPED.\n"
        "\n"
        "--format perfetto writes the same tracks as Perfetto's protobuf trace, streamed (memory\n"
        "does not grow with the trace), a greenlet's tracks under its thread's, and a \"stalls\"\n"
        "track per stalled thread with each stall's culprit, kind and most sampled stack.\n"
        "Packets are deflated in bundles, as Perfetto's own service writes them; --uncompressed\n"
        "leaves them plain. Perfetto's UI (ui.perfetto.dev) opens it.\n"
        "\n"
        "--format folded writes one line per distinct stack, \"outer;...;inner WEIGHT\", frames root\n"
        "first, weights in microseconds: flamegraph.pl, inferno-flamegraph and speedscope read it.\n"
        "--of stalls: each stall sample weighs its stall's duration divided by its samples (a\n"
        "stall without usable samples shows as [no stack sampled]). --of waits: each wait that\n"
        "recorded a stack weighs its duration. Inlined functions are frames of their own, marked\n"
        "_[i]. With --from/--to: samples taken in the window, the part of each wait inside it.\n";
    c.run = &run_export_command;
    return c;
  }();
  return command;
}

}  // namespace gs::cli
