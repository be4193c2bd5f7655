// cli.h: what the `greenscope` subcommands share: exit codes, the option
// parser, loading a trace with a progress bar and warnings.
//
// Exit codes, the same for every subcommand:
//   0  success (a damaged but readable trace only warns, unless --strict)
//   1  runtime failure: unreadable or not a trace, cannot write the output,
//      or --strict and the trace has problems
//   2  usage error: unknown command or option, missing or bad argument
// `record` returns the recorded program's exit status instead (128+signal if
// it was killed, 127 if it could not be run).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "greenscope/traceio.h"

namespace gs::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// UsageError is a mistake on the command line; main() prints it with a hint
// to the command's help and exits with kExitUsage.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Args;

// OptionSpec describes one option of a subcommand.
struct OptionSpec {
  std::string name;     // long name without dashes: "thread"
  char letter = 0;      // short form (-o), 0 for none
  bool takes_value = false;
  std::string value;    // placeholder in the help: "N"
  std::string help;
};

// Command is one subcommand: its name, synopsis, options and entry point.
struct Command {
  std::string name;
  std::string synopsis;  // "report FILE [options]"
  std::string summary;   // one line for `greenscope --help`
  std::string details;   // paragraphs printed after the options
  std::vector<OptionSpec> options;
  // stop_at_positional: everything from the first positional argument on is
  // positional (record: the program's own options belong to it).
  bool stop_at_positional = false;
  int (*run)(const Args&) = nullptr;
};

// Args is a parsed command line. Repeated options keep the last value.
struct Args {
  const Command* command = nullptr;
  std::map<std::string, std::string> values;  // options given, flags map to ""
  std::vector<std::string> positional;
  bool has(const std::string& name) const { return values.count(name) != 0; }
  std::string get(const std::string& name, const std::string& fallback = {}) const;
  // number() parses an option's value as an integer in [min, max]; throws
  // UsageError naming the option otherwise.
  std::optional<std::int64_t> number(const std::string& name, std::int64_t min, std::int64_t max) const;
  std::optional<double> real(const std::string& name) const;
  // file() is the single positional FILE argument; UsageError if absent.
  const std::string& file() const;
};

// parse_args() parses argv[first..] for `command`. Throws UsageError.
Args parse_args(const Command& command, int argc, char** argv, int first);
// print_command_help() writes `greenscope help CMD` to stdout.
void print_command_help(const Command& command);

// The common options of the commands that read a trace.
std::vector<OptionSpec> trace_reading_options();

// LoadedTrace is a loaded trace, or the exit code when loading failed.
struct LoadedTrace {
  std::unique_ptr<traceio::Trace> trace;
  int exit_code = kExitOk;  // kExitFailure when `trace` is null
};

// load_trace() loads args.file() with a progress bar on a terminal, prints
// the trace's problems to stderr as warnings (unless --quiet), and with
// --strict turns them into kExitFailure. exit_code is what the command
// returns if it then succeeds.
LoadedTrace load_trace(const Args& args);

// scan_trace() is load_trace() through traceio::scan(): memory bounded by
// the trace's tables. The trace returned holds no events; `sink`, if given,
// gets them during the scan, each thread's in time order (the warnings are
// printed after it, before the command prints anything).
LoadedTrace scan_trace(const Args& args, traceio::EventSink* sink = nullptr);

// warn() and error() write "greenscope: ..." lines to stderr.
void warn(const std::string& text);
void error(const std::string& text);

// Command descriptions, defined beside the entry points.
const Command& record_command();
const Command& info_command();
const Command& report_command();
const Command& dump_command();
const Command& export_command();
const Command& stalls_command();
const Command& stacks_command();

// commands() lists every subcommand, in the order `greenscope --help` shows.
std::vector<const Command*> commands();

}  // namespace gs::cli
