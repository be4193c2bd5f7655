// info.cpp: `greenscope info FILE`, what is in a trace file and how healthy
// it is.
#include <cinttypes>
#include <cstdio>

#include "cli.h"
#include "format.h"
#include "info.h"

namespace gs::cli {

namespace {

using traceio::EventType;
using traceio::Trace;

std::string per_event(std::uint64_t bytes, std::uint64_t events) {
  if (events == 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(bytes) / static_cast<double>(events));
  return buf;
}

void print_process(const Trace& t) {
  const traceio::ProcessInfo& p = t.process();
  const traceio::FileStats& s = t.stats();
  std::printf("file       %s (%s, %" PRIu64 " chunks)\n", shown(t.path()).c_str(), format_bytes(s.file_bytes).c_str(),
              s.chunks);
  std::printf("format     %u.%u%s\n", static_cast<unsigned>(p.major), static_cast<unsigned>(p.minor),
              p.flight_dump ? ", flight-recorder dump" : ", streamed");
  std::printf("program    %s\n", p.program.empty() ? "(unknown)" : shown(p.program).c_str());
  std::printf("command    %s\n", shown(traceio::command_line(p)).c_str());
  std::printf("pid        %" PRIu64 " on %s\n", p.pid, p.host.empty() ? "(unknown host)" : shown(p.host).c_str());
  std::printf("started    %s\n", p.start_wall_ns > 0 ? iso8601_utc(p.start_wall_ns).c_str() : "(unknown)");
  std::printf("clock      %s, %.6f ticks/ns (%zu calibration pairs)\n", p.clock.empty() ? "?" : shown(p.clock).c_str(),
              p.ticks_per_ns, p.calibrations);
  std::printf("duration   %s (%s to %s ms)\n", format_duration(t.end_ns() - t.begin_ns()).c_str(),
              format_ms(t.begin_ns()).c_str(), format_ms(t.end_ns()).c_str());
}

void print_threads(const Trace& t) {
  std::printf("threads    %zu\n", t.threads().size());
  Table table({">#", ">tid", "name", "hub", ">events"});
  for (const traceio::ThreadInfo& th : t.threads())
    table.add({std::to_string(th.index), std::to_string(th.os_tid), th.name.empty() ? "-" : th.name,
               th.has_hub ? t.greenlet_name(th.hub_greenlet) + "#" + std::to_string(th.hub_greenlet) : "no",
               std::to_string(th.event_total)});
  table.print(stdout, 4);
  std::printf("greenlets  %zu\n", t.greenlets().size());
}

void print_events(const Trace& t) {
  const traceio::FileStats& s = t.stats();
  const auto sw = static_cast<std::size_t>(EventType::Switch);
  std::printf("events     %" PRIu64 " in %s: %s bytes/event, switch %s bytes/event\n", s.events,
              format_bytes(s.event_bytes).c_str(), per_event(s.event_bytes, s.events).c_str(),
              per_event(s.encoded_bytes[sw], s.count[sw]).c_str());
  if (s.events == 0) return;
  Table table({"type", ">count", ">bytes/event"});
  for (std::size_t i = 0; i < traceio::kEventTypeCount; ++i)
    if (s.count[i] > 0)
      table.add({std::string(traceio::to_string(static_cast<EventType>(i))), std::to_string(s.count[i]),
                 per_event(s.encoded_bytes[i], s.count[i])});
  table.print(stdout, 4);
}

// print_stacks() counts what format 2.0 added; a 1.x trace has none of it.
void print_stacks(const Trace& t) {
  if (t.process().major < 2) return;
  std::size_t unfinished = 0;
  for (const traceio::StallInfo& s : t.stalls()) unfinished += s.ended() ? 0 : 1;
  std::printf("modules    %zu\n", t.modules().size());
  std::printf("stacks     %zu (%zu addresses symbolized by the writer)\n", t.stacks().size(), t.symbol_count());
  std::printf("stalls     %zu", t.stalls().size());
  if (unfinished > 0) std::printf(" (%zu still going when the trace ended)", unfinished);
  std::printf("%s\n", t.stalls().empty() ? "" : ": greenscope stalls lists them");
  std::printf("run-info   %zu dump%s%s\n", t.run_infos().size(), t.run_infos().size() == 1 ? "" : "s",
              t.run_infos().empty() ? "" : ": greenscope stacks prints them");
  if (!t.crashes().empty()) std::printf("crashes    %zu: greenscope stalls shows their stacks\n", t.crashes().size());
}

void print_health(const Trace& t) {
  const traceio::FileStats& s = t.stats();
  if (s.dropped > 0)
    std::printf("dropped    %" PRIu64 " EVENTS LOST while recording (buffers full): spans near them are unreliable\n",
                s.dropped);
  else
    std::printf("dropped    0\n");
  if (s.chunks_skipped_unknown > 0)
    std::printf("skipped    %" PRIu64 " chunks of unknown types (a newer writer)\n", s.chunks_skipped_unknown);
  if (s.extensions_skipped_unknown > 0)
    std::printf("skipped    %" PRIu64 " extension events of unknown types (a newer writer)\n",
                s.extensions_skipped_unknown);
  std::printf("problems   %zu\n", t.problems().size());
  for (const traceio::Problem& p : t.problems())
    std::printf("    at byte %" PRIu64 ": %s\n", p.offset, shown(p.message).c_str());
  if (s.clean_end)
    std::printf("end        clean (the writer counted %" PRIu64 " events, %" PRIu64 " dropped)\n", s.end_events,
                s.end_dropped);
  else
    std::printf("end        NOT CLEAN: no End chunk (the program was killed or is still running)\n");
}

int run_info_command(const Args& args) {
  LoadedTrace loaded = scan_trace(args);  // info reads the tables and counts only
  if (!loaded.trace) return loaded.exit_code;
  print_info(*loaded.trace);
  return loaded.exit_code;
}

}  // namespace

void print_info(const traceio::Trace& trace) {
  print_process(trace);
  print_threads(trace);
  print_events(trace);
  print_stacks(trace);
  print_health(trace);
}

void print_summary(const traceio::Trace& t, std::FILE* out) {
  const traceio::FileStats& s = t.stats();
  const std::string path = shown(t.path());
  std::fprintf(out, "greenscope: %s: %s, %" PRIu64 " events, %zu thread%s, %zu greenlets, %s\n", path.c_str(),
               format_bytes(s.file_bytes).c_str(), s.events, t.threads().size(), t.threads().size() == 1 ? "" : "s",
               t.greenlets().size(),
               format_duration(t.end_ns() - t.begin_ns()).c_str());
  std::fprintf(out, "greenscope: %" PRIu64 " events dropped%s, %zu problems, %s\n", s.dropped,
               s.dropped > 0 ? " (LOST)" : "", t.problems().size(),
               s.clean_end ? "ended cleanly" : "did NOT end cleanly");
  std::fprintf(out, "greenscope: next: greenscope report %s  |  greenscope export --format chrome %s\n",
               path.c_str(), path.c_str());
}

const Command& info_command() {
  static const Command command = [] {
    Command c;
    c.name = "info";
    c.synopsis = "info FILE [--strict] [--quiet]";
    c.summary = "what a trace holds: program, threads, event counts, bytes per event, damage";
    c.options = trace_reading_options();
    c.details = "Lists the process, the threads, events by type with their encoded size, the modules,\n"
                "stacks, stalls and run-info dumps recorded (format 2.0), dropped events and every\n"
                "problem the reader found, and whether the file ended cleanly.\n";
    c.run = &run_info_command;
    return c;
  }();
  return command;
}

}  // namespace gs::cli
