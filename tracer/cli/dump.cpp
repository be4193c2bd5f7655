// dump.cpp: `greenscope dump`, every event in words, one per line, all
// threads merged in time order.
#include <algorithm>
#include <bitset>
#include <cmath>
#include <cstdio>
#include <span>
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

// DumpSink prints the selected events of all threads in time order as the
// scan hands them over (merged), once start() found the filter sound.
class DumpSink final : public traceio::EventSink {
 public:
  DumpSink(Filter& filter, const Args& args) : filter_(filter), args_(args) {}
  bool merged() const override { return true; }

  // start() checks --thread and --greenlet against the tables; a mistake is
  // kept for after the trace's warnings, and nothing is printed.
  void start(const Trace& tables) override {
    trace_ = &tables;
    if (filter_.thread && tables.thread(*filter_.thread) == nullptr) {
      mistake_ = "the trace has no thread " + std::to_string(*filter_.thread) + " (greenscope info lists them)";
      return;
    }
    if (args_.has("greenlet")) {
      filter_.greenlets = resolve_greenlets(tables, args_.get("greenlet"));
      if (filter_.greenlets.empty()) {
        mistake_ = "no greenlet named '" + args_.get("greenlet") + "' in the trace (greenscope report lists them)";
        return;
      }
    }
    std::printf("%14s  %-2s  %-18s  %s\n", "time (ms)", "th", "running", "event");
  }

  void events(const traceio::ThreadInfo& thread, std::span<const Event> events) override {
    if (!mistake_.empty() || (filter_.thread && *filter_.thread != thread.index)) return;
    for (const Event& e : events)
      if (selected(filter_, e)) print_event(*trace_, thread.index, e);
  }

  const std::string& mistake() const { return mistake_; }

 private:
  Filter& filter_;
  const Args& args_;
  const Trace* trace_ = nullptr;
  std::string mistake_;
};

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
  DumpSink dump(filter, args);
  LoadedTrace loaded = scan_trace(args, &dump);
  if (!loaded.trace) return loaded.exit_code;
  if (!dump.mistake().empty()) {
    error(dump.mistake());
    return kExitFailure;
  }
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
