// dump.cpp: `greenscope dump`, every event in words, one per line, all
// threads merged in time order.
#include <algorithm>
#include <bitset>
#include <cmath>
#include <cstdio>
#include <queue>
#include <set>

#include "cli.h"
#include "event_text.h"
#include "format.h"

namespace gs::cli {

namespace {

using traceio::Event;
using traceio::EventType;
using traceio::Trace;

struct Filter {
  std::optional<std::uint32_t> thread;
  std::set<std::uint64_t> greenlets;  // empty: all
  std::int64_t from_ns = INT64_MIN, to_ns = INT64_MAX;
  std::bitset<traceio::kEventTypeCount> types;  // none set: all
};

// type_names() lists the event types, a line break every 6 names.
std::string type_names(const char* line_break = "") {
  std::string text;
  for (std::size_t i = 0; i < traceio::kEventTypeCount; ++i)
    text += (i == 0 ? "" : i % 6 == 0 ? std::string(",") + line_break : ", ") +
            std::string(traceio::to_string(static_cast<EventType>(i)));
  return text;
}

// parse_types() reads "switch,poll" : a name selects that type, a prefix
// before '_' selects the family (poll = poll_begin and poll_end).
std::bitset<traceio::kEventTypeCount> parse_types(const std::string& list) {
  std::bitset<traceio::kEventTypeCount> types;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    const std::string token = list.substr(start, comma - start);
    bool found = false;
    for (std::size_t i = 0; i < traceio::kEventTypeCount; ++i) {
      const std::string name(traceio::to_string(static_cast<EventType>(i)));
      if (!token.empty() && (name == token || name.rfind(token + "_", 0) == 0)) {
        types.set(i);
        found = true;
      }
    }
    if (!found) throw UsageError("unknown event type '" + token + "' in --type; types: " + type_names());
    start = comma + 1;
  }
  return types;
}

std::set<std::uint64_t> resolve_greenlets(const Trace& trace, const std::string& text) {
  std::set<std::uint64_t> ids;
  for (const auto& [id, g] : trace.greenlets())
    if (g.name == text) ids.insert(id);
  const bool numeric = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
  if (numeric) ids.insert(std::stoull(text));
  return ids;
}

bool involves(const Event& e, const std::set<std::uint64_t>& ids) {
  if (ids.count(e.greenlet)) return true;
  switch (e.type) {
    case EventType::Switch:
    case EventType::HubStart:
    case EventType::Spawn: return ids.count(e.a) || ids.count(e.b);
    case EventType::Rename:
    case EventType::Exit:
    case EventType::Error:
    case EventType::TimeoutExpired: return ids.count(e.a) != 0;
    default: return false;
  }
}

bool selected(const Filter& f, const Event& e) {
  if (e.time_ns < f.from_ns || e.time_ns > f.to_ns) return false;
  if (f.types.any() && !f.types.test(static_cast<std::size_t>(e.type))) return false;
  return f.greenlets.empty() || involves(e, f.greenlets);
}

void print_event(const Trace& trace, std::uint32_t thread, const Event& e) {
  std::string label = shown(greenlet_label(trace, e.greenlet));
  const std::size_t width = display_width(label);
  if (width < 18) label += std::string(18 - width, ' ');
  std::string line = format_ms(e.time_ns);
  if (line.size() < 14) line.insert(0, 14 - line.size(), ' ');
  line += "  T" + std::to_string(thread) + "  " + label + "  " + shown(describe_event(trace, e)) + "\n";
  std::fwrite(line.data(), 1, line.size(), stdout);
}

// dump_merged() prints the selected events of all threads in time order.
std::uint64_t dump_merged(const Trace& trace, const Filter& f) {
  struct Cursor {
    std::int64_t time;
    std::size_t thread, next;
    bool operator>(const Cursor& o) const { return time != o.time ? time > o.time : thread > o.thread; }
  };
  const auto& threads = trace.threads();
  std::priority_queue<Cursor, std::vector<Cursor>, std::greater<>> heap;
  for (std::size_t i = 0; i < threads.size(); ++i)
    if (!threads[i].events.empty() && (!f.thread || *f.thread == threads[i].index))
      heap.push({threads[i].events[0].time_ns, i, 0});
  std::uint64_t printed = 0;
  while (!heap.empty()) {
    Cursor c = heap.top();
    heap.pop();
    const traceio::ThreadInfo& th = threads[c.thread];
    const Event& e = th.events[c.next];
    if (selected(f, e)) {
      print_event(trace, th.index, e);
      ++printed;
    }
    if (++c.next < th.events.size()) heap.push({th.events[c.next].time_ns, c.thread, c.next});
  }
  return printed;
}

Filter make_filter(const Args& args) {
  Filter f;
  if (const auto thread = args.number("thread", 0, UINT32_MAX)) f.thread = static_cast<std::uint32_t>(*thread);
  if (const auto from = args.real("from")) f.from_ns = std::llround(*from * 1e6);
  if (const auto to = args.real("to")) f.to_ns = std::llround(*to * 1e6);
  if (f.from_ns > f.to_ns) throw UsageError("--from is after --to");
  if (args.has("type")) f.types = parse_types(args.get("type"));
  return f;
}

int run_dump_command(const Args& args) {
  Filter filter = make_filter(args);
  LoadedTrace loaded = load_trace(args);
  if (!loaded.trace) return loaded.exit_code;
  const Trace& trace = *loaded.trace;
  if (filter.thread && trace.thread(*filter.thread) == nullptr) {
    error("the trace has no thread " + std::to_string(*filter.thread) + " (greenscope info lists them)");
    return kExitFailure;
  }
  if (args.has("greenlet")) {
    filter.greenlets = resolve_greenlets(trace, args.get("greenlet"));
    if (filter.greenlets.empty()) {
      error("no greenlet named '" + args.get("greenlet") + "' in the trace (greenscope report lists them)");
      return kExitFailure;
    }
  }
  std::printf("%14s  %-2s  %-18s  %s\n", "time (ms)", "th", "running", "event");
  dump_merged(trace, filter);
  if (std::fflush(stdout) != 0) {
    error("cannot write the output");
    return kExitFailure;
  }
  return loaded.exit_code;
}

}  // namespace

const Command& dump_command() {
  static const Command command = [] {
    Command c;
    c.name = "dump";
    c.synopsis = "dump FILE [--greenlet ID|NAME] [--thread N] [--from MS] [--to MS] [--type TYPE,...]";
    c.summary = "every event in words, one per line, threads merged in time order";
    c.options = {
        {"greenlet", 0, true, "ID|NAME", "events of that greenlet: run by it, or naming it (switches, spawn...)"},
        {"thread", 0, true, "N", "only thread N"},
        {"from", 0, true, "MS", "only events at or after MS milliseconds into the trace"},
        {"to", 0, true, "MS", "only events at or before MS milliseconds"},
        {"type", 0, true, "TYPE,...", "only these types; 'poll' means poll_begin and poll_end"},
    };
    for (OptionSpec& o : trace_reading_options()) c.options.push_back(o);
    c.details = "Columns: time in ms since the trace started (ns precision), thread index, the\n"
                "greenlet running when the event happened (name#id), the event.\n"
                "Types:\n  " + type_names("\n  ") + ".\n";
    c.run = &run_dump_command;
    return c;
  }();
  return command;
}

}  // namespace gs::cli
