// stalls.cpp: `greenscope stalls`, where hubs were kept from their loops:
// stalls grouped by the stack they were sampled at, then blocking calls,
// loop lag and crashes.
#include <cinttypes>
#include <cmath>
#include <cstdio>

#include "cli.h"
#include "event_text.h"
#include "format.h"
#include "greenscope/analysis/stack_names.h"
#include "greenscope/analysis/stall_model.h"

namespace gs::cli {

// The model behind this command lives in greenscope::analysis (shared with the viewer).
using analysis::BlockingGroup;
using analysis::LagRow;
using analysis::SampleCount;
using analysis::StackKeys;
using analysis::StackNames;
using analysis::StallGroup;
using analysis::StallModel;
using analysis::build_stall_model;
using analysis::culprit_name;

namespace {

using traceio::StallInfo;
using traceio::Trace;

// kStallsPerGroup and kOtherStacks keep a group to a screenful; the rest is
// counted (greenscope export --format folded has every sample).
constexpr std::size_t kStallsPerGroup = 10;
constexpr std::size_t kOtherStacks = 5;
constexpr std::size_t kCulprits = 5;
constexpr std::size_t kFunctionRows = 8;

void print_stack(StackNames& names, std::uint64_t stack, const char* indent) {
  for (const std::string& line : names.lines(stack)) std::printf("%s%s\n", indent, shown(line).c_str());
}

// verdict_text() is where the stall's time went (stall_verdict.h).
std::string verdict_text(const Trace& trace, const StallInfo& s) {
  if (!s.has_end && s.samples.empty()) return "?";
  return verdict::text(traceio::stall_verdict(trace, s));
}

std::string cpu_text(const StallInfo& s) {
  return s.has_end && s.cpu_window_ns > 0 ? format_percent(s.cpu_ns, s.cpu_window_ns) : "-";
}

void print_header(const Trace& trace, const StallModel& m, const std::string& min_text) {
  if (trace.stalls().empty()) {
    if (trace.process().major < 2)
      std::printf("no stalls recorded: %s was written in format %u.%u, before greenscope recorded stalls; record the "
                  "program again to hunt them\n",
                  trace.path().c_str(), static_cast<unsigned>(trace.process().major),
                  static_cast<unsigned>(trace.process().minor));
    else
      std::printf("no stalls recorded: no hub thread was kept from its loop longer than the stall threshold while "
                  "tracing (GREENSCOPE_STALL_MS sets it; GREENSCOPE_TRACE_STALLS=0 turns the monitor off)\n");
    return;
  }
  if (m.stalls == 0) {
    std::printf("no stalls of at least %s (%s shorter; --min 0 lists them)\n", min_text.c_str(),
                plural(m.filtered_out, "stall", "stalls").c_str());
    return;
  }
  std::printf("%s, %s in all, the longest %s", plural(m.stalls, "stall", "stalls").c_str(),
              format_duration(m.total_ns).c_str(), format_duration(m.max_ns).c_str());
  if (m.unfinished > 0) std::printf("; %zu still going when the trace ended", m.unfinished);
  if (m.filtered_out > 0)
    std::printf(" (%s shorter than %s not shown)", plural(m.filtered_out, "stall", "stalls").c_str(),
                min_text.c_str());
  std::printf("\nGrouped by the stack each stall was most often sampled at, by total time. More:\n"
              "  greenscope stacks %s                             run-info dumps\n"
              "  greenscope export --format folded --of stalls %s  every sample, for a flame graph\n",
              trace.path().c_str(), trace.path().c_str());
}

// samples_text() is a stall's sample count, and how many of them found
// another stack than its group's.
std::string samples_text(const StallInfo& s, const StallGroup& g, StackKeys& keys) {
  std::uint64_t elsewhere = 0;
  for (const traceio::StallSampleInfo& sample : s.samples) elsewhere += keys.key(sample.stack) != g.stack;
  return std::to_string(s.samples.size()) + (elsewhere > 0 ? " (" + std::to_string(elsewhere) + " elsewhere)" : "");
}

void print_stall_table(const Trace& trace, const StallGroup& g, StackKeys& keys) {
  Table table({">id", ">thread", ">at (ms)", ">duration", ">cpu", ">samples", "culprit", "verdict", ""});
  for (std::size_t i = 0; i < g.stalls.size() && i < kStallsPerGroup; ++i) {
    const StallInfo& s = *g.stalls[i];
    // A stalled thread that recorded nothing (tracing began mid-stall) has no index.
    const bool thread_known = s.has_begin && trace.thread(s.thread) != nullptr;
    table.add({std::to_string(s.id), thread_known ? std::to_string(s.thread) : "?", format_ms(s.start_ns),
               format_duration(s.duration_ns), cpu_text(s), samples_text(s, g, keys), culprit_name(trace, s),
               verdict_text(trace, s), s.ended() ? "" : "still going when the trace ended"});
  }
  table.print(stdout, 4);
  if (g.stalls.size() > kStallsPerGroup)
    std::printf("    ... and %zu shorter\n", g.stalls.size() - kStallsPerGroup);
}

// print_other_stacks() shows where the group's samples went besides its
// key stack: a long stall can move between several.
void print_other_stacks(StackNames& names, const StallGroup& g) {
  std::size_t shown = 0;
  for (const SampleCount& c : g.sample_stacks) {
    if (c.stack == g.stack) continue;
    if (shown++ == kOtherStacks) {
      std::printf("    ... and %zu more stacks\n", g.sample_stacks.size() - kOtherStacks - 1);
      break;
    }
    if (shown == 1) std::printf("  other stacks sampled in these stalls:\n");
    std::printf("    %s (%s):\n", plural(c.samples, "sample", "samples").c_str(),
                format_percent(static_cast<std::int64_t>(c.samples), static_cast<std::int64_t>(g.samples)).c_str());
    if (c.stack == 0) {
      std::printf("      (no stack: the sample had to be skipped, or its stack was lost)\n");
      continue;
    }
    print_stack(names, c.stack, "      ");
  }
}

// print_functions() is the group's samples by function: the line that
// names the culprit, then the functions with inclusive and self counts.
void print_functions(const symbols::FunctionSummary& f) {
  if (f.samples == 0) return;
  std::printf("  in %s\n", shown(f.line()).c_str());
  std::printf("  by function (inclusive, self; of %s; * the program's own code):\n",
              plural(f.samples, "sample", "samples").c_str());
  Table table({">inclusive", ">", ">self", "", "function"});
  const auto samples = static_cast<std::int64_t>(f.samples);
  std::size_t listed = 0;
  for (const symbols::FunctionRow& r : f.rows) {
    // Headers' code inlined into the program's (std::invoke, the greenlet's
    // entry) with no self time is plumbing: counted, not listed.
    if (r.self == 0 && symbols::is_system_source(r.file) && !symbols::is_system_module(r.module)) continue;
    if (listed++ == kFunctionRows) break;
    std::string name = (r.own ? "* " : "  ") + r.function;
    if (!r.own && !r.module.empty()) name += " (" + r.module.substr(r.module.rfind('/') + 1) + ")";
    table.add({std::to_string(r.inclusive), format_percent(static_cast<std::int64_t>(r.inclusive), samples),
               r.self == 0 ? "" : std::to_string(r.self),
               r.self == 0 ? "" : format_percent(static_cast<std::int64_t>(r.self), samples), name});
  }
  table.print(stdout, 4);
  if (listed > kFunctionRows) std::printf("    ... and more functions (greenscope export --format folded has them all)\n");
}

void print_group(const Trace& trace, StackNames& names, StackKeys& keys, const StallGroup& g,
                 std::size_t number) {
  std::printf("\n[%zu] %s, %s in all, the longest %s: ", number, plural(g.stalls.size(), "stall", "stalls").c_str(),
              format_duration(g.total_ns).c_str(), format_duration(g.max_ns).c_str());
  for (std::size_t i = 0; i < g.verdicts.size(); ++i)
    std::printf("%s%" PRIu64 " %s", i == 0 ? "" : ", ", g.verdicts[i].second, g.verdicts[i].first.c_str());
  if (g.unfinished > 0) std::printf("; %" PRIu64 " still going when the trace ended", g.unfinished);
  std::printf("\n  culprits: ");
  std::uint64_t others = 0;
  for (std::size_t i = 0; i < g.culprits.size(); ++i) {
    if (i < kCulprits)
      std::printf("%s%s (%" PRIu64 ")", i == 0 ? "" : ", ", shown(g.culprits[i].first).c_str(), g.culprits[i].second);
    else
      others += g.culprits[i].second;
  }
  if (others > 0)
    std::printf(", and %zu others (%s)", g.culprits.size() - kCulprits, plural(others, "stall", "stalls").c_str());
  std::printf("\n");
  if (g.stalls.size() == 1 && g.stalls.front()->has_end)
    std::printf("  verdict: %s\n", verdict_text(trace, *g.stalls.front()).c_str());
  print_functions(g.functions);
  if (g.stack == 0) {
    std::printf("  stack: (no stack sampled: %s)\n",
                g.samples == 0 ? "the monitor took no sample" : "every sample was skipped or lost");
  } else {
    const std::uint64_t here = g.sample_stacks.empty() ? 0 : g.sample_stacks.front().samples;
    std::printf("  stack (%" PRIu64 " of %s):\n", here, plural(g.samples, "sample", "samples").c_str());
    print_stack(names, g.stack, "    ");
  }
  print_other_stacks(names, g);
  std::printf("  stalls:\n");
  print_stall_table(trace, g, keys);
}

void print_blocking(StackNames& names, const std::vector<BlockingGroup>& groups) {
  if (groups.empty()) return;
  std::uint64_t calls = 0;
  std::int64_t total = 0;
  for (const BlockingGroup& g : groups) {
    calls += g.count;
    total += g.total_ns;
  }
  std::printf("\nBlocking calls: %s that blocked the thread under patch_all(), %s in all\n",
              plural(calls, "call", "calls").c_str(), format_duration(total).c_str());
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const BlockingGroup& g = groups[i];
    std::printf("  [%zu] %s: %s, %s in all, the longest %s\n", i + 1, shown(g.call).c_str(),
                plural(g.count, "call", "calls").c_str(), format_duration(g.total_ns).c_str(),
                format_duration(g.max_ns).c_str());
    print_stack(names, g.stack, "      ");
  }
}

void print_lags(const Trace& trace, const std::vector<LagRow>& rows) {
  if (rows.empty()) return;
  std::printf("\nLoop lag: polls that came late with no single stall to blame (many short runs together)\n");
  Table table({">thread", "name", ">count", ">total", ">max"});
  for (const LagRow& r : rows) {
    const traceio::ThreadInfo* th = trace.thread(r.thread);
    table.add({std::to_string(r.thread), th != nullptr ? th->name : "-", std::to_string(r.count),
               format_duration(r.total_ns), format_duration(r.max_ns)});
  }
  table.print(stdout);
}

std::string signal_name(int sig) {
  switch (sig) {
    case 4: return "SIGILL";
    case 6: return "SIGABRT";
    case 7: return "SIGBUS";
    case 8: return "SIGFPE";
    case 11: return "SIGSEGV";
    default: return "signal " + std::to_string(sig);
  }
}

void print_crashes(const Trace& trace, StackNames& names) {
  for (const traceio::CrashInfo& c : trace.crashes()) {
    char address[32];
    std::snprintf(address, sizeof address, "0x%" PRIx64, c.fault_address);
    // The crash is recorded by the monitor thread; the greenlet says where it happened.
    const auto g = trace.greenlets().find(c.greenlet);
    const std::string where = c.greenlet == 0 ? "an unknown greenlet"
                              : g == trace.greenlets().end()
                                  ? greenlet_label(trace, c.greenlet)
                                  : greenlet_label(trace, c.greenlet) + " (thread " + std::to_string(g->second.thread) + ")";
    std::printf("\nCrash at %s ms: %s at %s in %s%s\n", format_ms(c.time_ns).c_str(), signal_name(c.signal).c_str(),
                address, shown(where).c_str(), c.stack_overflow ? ": STACK OVERFLOW (it ran into its stack's guard page)" : "");
    print_stack(names, c.stack, "    ");
  }
}

void print_notes(const Args& args, const StackNames& names) {
  if (args.has("quiet")) return;
  for (const std::string& note : names.notes()) std::fprintf(stderr, "greenscope: note: %s\n", shown(note).c_str());
}

int run_stalls_command(const Args& args) {
  const double min_ms = args.real("min").value_or(0);
  if (!(min_ms >= 0) || !std::isfinite(min_ms)) throw UsageError("--min wants milliseconds, 0 or more");
  const auto top = static_cast<std::size_t>(args.number("top", 0, 1000000000).value_or(10));
  analysis::StallEvents events;  // blocking calls and loop lag, summed as the events stream by
  LoadedTrace loaded = scan_trace(args, &events);
  if (!loaded.trace) return loaded.exit_code;
  const Trace& trace = *loaded.trace;
  StackNames names(trace);
  StackKeys keys(trace, names);
  const StallModel model = build_stall_model(trace, events, keys, std::llround(min_ms * 1e6));
  char min_text[32];
  std::snprintf(min_text, sizeof min_text, "%g ms", min_ms);
  print_header(trace, model, min_text);
  for (std::size_t i = 0; i < model.groups.size() && (top == 0 || i < top); ++i)
    print_group(trace, names, keys, model.groups[i], i + 1);
  if (top > 0 && model.groups.size() > top)
    std::printf("\n... and %zu more groups (--top 0 shows all)\n", model.groups.size() - top);
  print_blocking(names, model.blocking);
  print_lags(trace, model.lags);
  print_crashes(trace, names);
  print_notes(args, names);
  if (std::fflush(stdout) != 0) {
    error("cannot write the output");
    return kExitFailure;
  }
  return loaded.exit_code;
}

}  // namespace

const Command& stalls_command() {
  static const Command command = [] {
    Command c;
    c.name = "stalls";
    c.synopsis = "stalls FILE [--min MS] [--top N]";
    c.summary = "what kept hubs from their loops: stalls by stack, blocking calls, loop lag, crashes";
    c.options = {
        {"min", 0, true, "MS", "only stalls of at least MS milliseconds (default 0: all)"},
        {"top", 0, true, "N", "show the first N stack groups (default 10, 0 for all)"},
    };
    for (OptionSpec& o : trace_reading_options()) c.options.push_back(o);
    c.details =
        "A stall: a hub's thread kept from its loop past the stall monitor's threshold by one\n"
        "greenlet or callback (a CPU-bound loop, a blocking call nobody patched). The monitor\n"
        "samples the stalled thread's stack every few ms; each stall is grouped under the stack\n"
        "it was most often sampled at, groups sorted by their total time. A stall still going\n"
        "when the trace ended (a hang, a crash) counts up to the end of the trace.\n"
        "Then: calls that blocked the thread despite patch_all() by call and stack, loop lag\n"
        "(polls late with no single stall to blame), and crashes with their stacks.\n"
        "Stacks are symbolized from the trace, else from the binaries on this machine (matched\n"
        "by build-id), else shown as module+0xoffset. --min applies to stalls only.\n";
    c.run = &run_stalls_command;
    return c;
  }();
  return command;
}

}  // namespace gs::cli
