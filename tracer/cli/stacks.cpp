// stacks.cpp: `greenscope stacks`, the run-info dumps a trace recorded
// (every greenlet and where it was, at a moment), and with --waits where
// each greenlet waited, by stack.
#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>

#include "cli.h"
#include "event_text.h"
#include "format.h"
#include "greenscope/analysis/stack_names.h"
#include "greenscope/analysis/stall_model.h"
#include "greenscope/analysis/waits.h"

namespace gs::cli {

// The model behind this command lives in greenscope::analysis (shared with the viewer).
using analysis::StackKeys;
using analysis::StackNames;
using analysis::Wait;

namespace {

using traceio::Trace;

void print_dumps(const Trace& trace) {
  const auto& dumps = trace.run_infos();
  if (dumps.empty()) {
    std::printf(
        "no run-info dumps recorded: a traced program records one when it calls gs::dump_run_info(),\n"
        "when it gets the signal named by GREENSCOPE_DUMP_SIGNAL (e.g. SIGUSR1), and when it crashes.\n"
        "For where greenlets waited: greenscope stacks --waits %s\n",
        shown(trace.path()).c_str());
    return;
  }
  std::printf("%zu run-info dump%s in %s\n", dumps.size(), dumps.size() == 1 ? "" : "s", shown(trace.path()).c_str());
  for (std::size_t i = 0; i < dumps.size(); ++i) {
    const traceio::RunInfoDump& d = dumps[i];
    std::printf("\n=== dump %zu of %zu at %s ms (%s) ===\n", i + 1, dumps.size(), format_ms(d.time_ns).c_str(),
                d.trigger.empty() ? "trigger unknown" : shown(d.trigger).c_str());
    const std::string text = shown_lines(d.text);  // it names greenlets, frames, files
    std::fwrite(text.data(), 1, text.size(), stdout);
    if (!text.empty() && text.back() != '\n') std::printf("\n");
  }
}

// WaitGroup is one greenlet's waits at one stack.
struct WaitGroup {
  std::uint64_t stack = 0;  // key (StackKeys)
  std::uint64_t count = 0;
  std::int64_t total_ns = 0, max_ns = 0;
  std::map<std::string, std::uint64_t> whats;  // "queue: Queue.get()" -> count
};

struct GreenletWaits {
  std::uint64_t greenlet = 0;
  std::uint64_t count = 0;
  std::int64_t total_ns = 0;
  std::vector<WaitGroup> groups;
};

std::string what_text(const Trace& trace, const Wait& w) {
  const std::string what = trace.text(w.what);
  return std::string(traceio::to_string(static_cast<traceio::Reason>(w.reason))) + (what.empty() ? "" : ": " + what);
}

// WaitGroups gathers the waits that recorded a stack, per greenlet and
// stack, a wait at a time; `without` counts the others.
struct WaitGroups {
  std::map<std::uint64_t, std::map<std::uint64_t, WaitGroup>> by_greenlet;
  std::uint64_t without = 0;

  void add(const Trace& trace, StackKeys& keys, const Wait& w) {
    const std::uint64_t key = keys.key(w.stack);
    if (key == 0) {
      ++without;
      return;
    }
    WaitGroup& g = by_greenlet[w.greenlet][key];
    g.stack = key;
    ++g.count;
    g.total_ns += w.end_ns - w.begin_ns;
    g.max_ns = std::max(g.max_ns, w.end_ns - w.begin_ns);
    ++g.whats[what_text(trace, w)];
  }

  // sorted() lists the groups, greenlets and each one's stacks by total wait.
  std::vector<GreenletWaits> sorted() {
    std::vector<GreenletWaits> out;
    for (auto& [greenlet, groups] : by_greenlet) {
      GreenletWaits gw;
      gw.greenlet = greenlet;
      for (auto& [key, g] : groups) {
        gw.count += g.count;
        gw.total_ns += g.total_ns;
        gw.groups.push_back(std::move(g));
      }
      std::stable_sort(gw.groups.begin(), gw.groups.end(),
                       [](const WaitGroup& x, const WaitGroup& y) { return x.total_ns > y.total_ns; });
      out.push_back(std::move(gw));
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const GreenletWaits& x, const GreenletWaits& y) { return x.total_ns > y.total_ns; });
    return out;
  }
};

void print_waits(StackNames& names, const Trace& trace, WaitGroups& groups, std::size_t top) {
  const std::uint64_t without = groups.without;
  const std::vector<GreenletWaits> greenlets = groups.sorted();
  if (greenlets.empty()) {
    std::printf("no wait stacks recorded%s (GREENSCOPE_WAIT_STACKS=0, or a trace older than format 2.0)\n",
                without > 0 ? (": " + std::to_string(without) + " waits without one").c_str() : "");
    return;
  }
  std::printf("Where greenlets waited, by stack: %s, by total wait", plural(greenlets.size(), "greenlet", "greenlets").c_str());
  if (top > 0 && greenlets.size() > top) std::printf(" (top %zu; --top 0 shows all)", top);
  if (without > 0) std::printf("; %s recorded no stack", plural(without, "wait", "waits").c_str());
  std::printf("\n");
  for (std::size_t i = 0; i < greenlets.size() && (top == 0 || i < top); ++i) {
    const GreenletWaits& gw = greenlets[i];
    std::printf("\n%s: %s, %s in all, at %s\n", shown(greenlet_label(trace, gw.greenlet)).c_str(),
                plural(gw.count, "wait", "waits").c_str(), format_duration(gw.total_ns).c_str(),
                plural(gw.groups.size(), "stack", "stacks").c_str());
    for (const WaitGroup& g : gw.groups) {
      std::string whats;
      for (const auto& [what, n] : g.whats) whats += (whats.empty() ? "" : ", ") + what + " (" + std::to_string(n) + ")";
      std::printf("  %s, %s in all, the longest %s: %s\n", plural(g.count, "wait", "waits").c_str(),
                  format_duration(g.total_ns).c_str(), format_duration(g.max_ns).c_str(), shown(whats).c_str());
      for (const std::string& line : names.lines(g.stack)) std::printf("      %s\n", shown(line).c_str());
    }
  }
}

int run_stacks_command(const Args& args) {
  const auto top = static_cast<std::size_t>(args.number("top", 0, 1000000000).value_or(20));
  if (args.has("top") && !args.has("waits")) throw UsageError("--top is for --waits");
  // The dumps are in the tables; the waits are grouped as the scan walks each thread.
  std::optional<StackNames> names;
  std::optional<StackKeys> keys;
  WaitGroups groups;
  const Trace* tables = nullptr;
  analysis::WaitSink waits([&](const Wait& w) { groups.add(*tables, *keys, w); },
                           [&](const Trace& t) {
                             tables = &t;
                             keys.emplace(t, names.emplace(t));
                           });
  LoadedTrace loaded = scan_trace(args, args.has("waits") ? &waits : nullptr);
  if (!loaded.trace) return loaded.exit_code;
  if (!names) names.emplace(*loaded.trace);
  if (args.has("waits"))
    print_waits(*names, *loaded.trace, groups, top);
  else
    print_dumps(*loaded.trace);
  if (!args.has("quiet"))
    for (const std::string& note : names->notes()) std::fprintf(stderr, "greenscope: note: %s\n", shown(note).c_str());
  if (std::fflush(stdout) != 0) {
    error("cannot write the output");
    return kExitFailure;
  }
  return loaded.exit_code;
}

}  // namespace

const Command& stacks_command() {
  static const Command command = [] {
    Command c;
    c.name = "stacks";
    c.synopsis = "stacks FILE [--waits [--top N]]";
    c.summary = "the run-info dumps a trace recorded; with --waits, where each greenlet waited";
    c.options = {
        {"waits", 0, false, "", "instead: per greenlet, the stacks it waited at, with counts and wait time"},
        {"top", 0, true, "N", "--waits: the first N greenlets by total wait (default 20, 0 for all)"},
    };
    for (OptionSpec& o : trace_reading_options()) c.options.push_back(o);
    c.details =
        "A run-info dump lists every hub and greenlet of the process at one moment: its state,\n"
        "what it waits on, and its stack. Programs record one with gs::dump_run_info(), on the\n"
        "signal named by GREENSCOPE_DUMP_SIGNAL, and when they crash; they are printed as recorded.\n"
        "--waits uses the stack recorded with each wait (GREENSCOPE_WAIT_STACKS, on by default);\n"
        "greenscope export --format folded --of waits draws the same as a flame graph.\n";
    c.run = &run_stacks_command;
    return c;
  }();
  return command;
}

}  // namespace gs::cli
