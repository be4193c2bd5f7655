// report.cpp: `greenscope report`, printing the report model as tables.
#include <cinttypes>
#include <cstdio>

#include "cli.h"
#include "format.h"
#include "greenscope/analysis/report_model.h"

namespace gs::cli {

// The model behind this command lives in greenscope::analysis (shared with the viewer).
using analysis::CallbackRow;
using analysis::GreenletRow;
using analysis::HubRow;
using analysis::JobStats;
using analysis::Report;
using analysis::ReportOptions;
using analysis::SortKey;
using analysis::Stat;
using analysis::build_report;
using analysis::kReasons;
using analysis::sort_greenlets;

namespace {

using traceio::Reason;

std::string id_name(const std::string& name, std::uint64_t id) { return name + "#" + std::to_string(id); }

std::string exit_text(const GreenletRow& r) {
  if (r.hub) return "hub";
  if (r.exit_ns < 0) return "alive";
  return std::string(traceio::to_string(r.exit_kind));
}

std::string duration_or_dash(std::int64_t ns) { return ns > 0 ? format_duration(ns) : "-"; }

// wait_columns() lists the reasons some shown greenlet waited for.
std::vector<std::size_t> wait_columns(const std::vector<GreenletRow>& rows) {
  std::vector<std::size_t> reasons;
  for (std::size_t k = 0; k < kReasons; ++k)
    for (const GreenletRow& r : rows)
      if (r.wait_count[k] > 0) {
        reasons.push_back(k);
        break;
      }
  return reasons;
}

void print_greenlets(std::vector<GreenletRow> rows, std::size_t top, const std::string& sort_name) {
  const std::size_t total = rows.size();
  if (top > 0 && rows.size() > top) rows.resize(top);
  std::printf("Greenlets: %zu, by %s time", total, sort_name.c_str());
  if (rows.size() < total) std::printf(" (top %zu; --top 0 shows all)", rows.size());
  std::printf("\n");
  const std::vector<std::size_t> reasons = wait_columns(rows);
  std::vector<std::string> headers = {"name", ">id", ">thread", "spawner", ">running", ">runs", ">longest", ">waiting"};
  for (std::size_t k : reasons) headers.push_back(">" + std::string(traceio::to_string(static_cast<Reason>(k))));
  headers.push_back("exit");
  Table table(headers);
  for (const GreenletRow& r : rows) {
    std::vector<std::string> cells = {r.name, std::to_string(r.id), std::to_string(r.thread),
                                      r.spawner != 0 ? id_name(r.spawner_name, r.spawner) : "-",
                                      duration_or_dash(r.running_ns), std::to_string(r.runs),
                                      duration_or_dash(r.longest_run_ns), duration_or_dash(r.waiting_ns)};
    for (std::size_t k : reasons) cells.push_back(duration_or_dash(r.wait_ns[k]));
    cells.push_back(exit_text(r));
    table.add(std::move(cells));
  }
  table.print(stdout);
  for (const GreenletRow& r : rows)
    if (r.exit_kind == traceio::ExitKind::Failed && r.exit_ns >= 0)
      std::printf("  failed: %s: %s\n", shown(id_name(r.name, r.id)).c_str(), r.error.empty() ? "?" : shown(r.error).c_str());
}

std::string share(std::int64_t ns, std::int64_t wall) { return format_duration(ns) + " " + format_percent(ns, wall); }

void print_hubs(const std::vector<HubRow>& hubs) {
  if (hubs.empty()) return;
  std::printf("\nHub loops: where each hub thread's wall time went\n");
  Table table({">thread", "hub", ">wall", ">polling", ">polls", ">longest poll", ">hub running", ">greenlets",
               ">other"});
  for (const HubRow& h : hubs)
    table.add({std::to_string(h.thread), "hub#" + std::to_string(h.hub), format_duration(h.wall_ns),
               share(h.poll_ns, h.wall_ns), std::to_string(h.polls), duration_or_dash(h.longest_poll_ns),
               share(h.hub_ns, h.wall_ns), share(h.greenlets_ns, h.wall_ns), share(h.other_ns, h.wall_ns)});
  table.print(stdout);
}

void print_callbacks(const std::vector<CallbackRow>& callbacks) {
  if (callbacks.empty()) return;
  std::printf("\nHub callbacks (total includes greenlets resumed inside; hub is the hub's own share)\n");
  Table table({"kind", ">count", ">total", ">hub", ">mean", ">max"});
  for (const CallbackRow& c : callbacks)
    table.add({c.name, std::to_string(c.count), format_duration(c.total_ns), format_duration(c.hub_ns),
               format_duration(c.count > 0 ? c.total_ns / static_cast<std::int64_t>(c.count) : 0),
               format_duration(c.max_ns)});
  table.print(stdout);
}

void print_jobs(const JobStats& jobs) {
  if (jobs.submitted == 0 && jobs.run.count == 0) return;
  std::printf("\nThread-pool jobs: %" PRIu64 " submitted, %" PRIu64 " done\n", jobs.submitted, jobs.completed);
  Table table({"", ">count", ">mean", ">max", ">total"});
  const auto add = [&](const char* name, const Stat& s) {
    table.add({name, std::to_string(s.count), format_duration(s.mean_ns()), format_duration(s.max_ns),
               format_duration(s.total_ns)});
  };
  add("queued (submit to begin)", jobs.queue);
  add("running (begin to end)", jobs.run);
  add("total (submit to done)", jobs.total);
  table.print(stdout);
  if (jobs.begun_before_submit > 0)
    std::printf("  (%" PRIu64 " jobs were recorded beginning before their submit: queued time counted as 0)\n",
                jobs.begun_before_submit);
}

SortKey sort_key(const Args& args, std::string& name) {
  name = args.get("sort", "running");
  if (name == "running") return SortKey::Running;
  if (name == "waiting") return SortKey::Waiting;
  if (name == "runs") return SortKey::Runs;
  if (name == "longest") return SortKey::Longest;
  throw UsageError("--sort wants running, waiting, runs or longest, not '" + name + "'");
}

int run_report_command(const Args& args) {
  std::string sort_name;
  const SortKey key = sort_key(args, sort_name);
  const auto top = args.number("top", 0, 1000000000).value_or(25);
  ReportOptions options;
  if (const auto thread = args.number("thread", 0, UINT32_MAX)) options.thread = static_cast<std::uint32_t>(*thread);
  analysis::ReportSink sink(options);  // walks each thread's timeline as its events stream by
  LoadedTrace loaded = scan_trace(args, &sink);
  if (!loaded.trace) return loaded.exit_code;
  const traceio::Trace& trace = *loaded.trace;
  if (options.thread && trace.thread(*options.thread) == nullptr) {
    error("the trace has no thread " + std::to_string(*options.thread) + " (greenscope info lists them)");
    return kExitFailure;
  }
  Report report = sink.report();
  sort_greenlets(report.greenlets, key);
  std::printf("%s (pid %" PRIu64 "): %s, %zu thread%s\n\n", shown(trace.process().program).c_str(), trace.process().pid,
              format_duration(trace.end_ns() - trace.begin_ns()).c_str(), trace.threads().size(),
              trace.threads().size() == 1 ? "" : "s");
  print_greenlets(report.greenlets, static_cast<std::size_t>(top), sort_name);
  print_hubs(report.hubs);
  print_callbacks(report.callbacks);
  print_jobs(report.jobs);
  if (report.mismatched > 0 && !args.has("quiet"))
    warn(std::to_string(report.mismatched) +
         " events did not pair up (events lost, or tracing began mid-run): some times are approximate");
  return loaded.exit_code;
}

}  // namespace

const Command& report_command() {
  static const Command command = [] {
    Command c;
    c.name = "report";
    c.synopsis = "report FILE [--thread N] [--top N] [--sort running|waiting|runs|longest]";
    c.summary = "where the time went: per greenlet, per hub loop, per callback kind, thread-pool jobs";
    c.options = {
        {"thread", 0, true, "N", "only thread N (its index in greenscope info)"},
        {"top", 0, true, "N", "show the first N greenlets (default 25, 0 for all)"},
        {"sort", 0, true, "KEY", "running (default), waiting, runs or longest"},
    };
    for (OptionSpec& o : trace_reading_options()) c.options.push_back(o);
    c.details =
        "running: the sum of a greenlet's runs, from a switch to it until the next switch away\n"
        "(for the hub, minus its time blocked in the poll). waiting: from its switch away until\n"
        "the switch back, split by the reason it gave (sleep, io, queue, lock...).\n";
    c.run = &run_report_command;
    return c;
  }();
  return command;
}

}  // namespace gs::cli
