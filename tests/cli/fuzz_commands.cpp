// fuzz_commands.cpp: libFuzzer over every `greenscope` command that reads a
// trace (info, dump, report, stalls, stacks, export in each format), run
// in-process through the Command's own entry point, as main() runs it, on
// the fuzzed file (framed as tests/traceio/fuzz_frame.h does) with the
// option combinations users type. A command may refuse a file (exit 1),
// never crash, throw, or call its options a usage error.
//
// `record` runs a program and writes a trace: it reads none, so there is
// nothing of it to fuzz on a trace file.
//
// One target runs every command on each input, rather than one target per
// command: the commands share most of their code (traceio::load, the stack
// names, the analysis models), so an input that opens a new path in any of
// them is kept and then tried on all of them; and one link, one corpus and
// one CI test cover the lot. The price is speed (each input is loaded once
// per run below, about 20 times), which a per-command target would save
// only by building and seeding seven targets.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli.h"
#include "fuzz_frame.h"

namespace {

using gs::cli::Command;

// Run is one command line: the command, then its arguments, where "FILE"
// stands for the fuzzed trace and "OUT" for a scratch output file.
struct Run {
  const char* command;
  std::vector<std::string> args;
};

// runs() are the command lines tried on every input: each command alone,
// and with the options that take another path through it.
const std::vector<Run>& runs() {
  static const std::vector<Run> list = {
      {"info", {"FILE"}},
      {"info", {"FILE", "--strict", "--quiet"}},
      {"dump", {"FILE"}},
      {"dump", {"FILE", "--thread", "0", "--from", "0.5", "--to", "50", "--type", "switch,poll,stall"}},
      {"dump", {"FILE", "--greenlet", "10", "--quiet"}},
      {"dump", {"FILE", "--greenlet", "worker-a", "--thread", "1"}},
      {"report", {"FILE"}},
      {"report", {"FILE", "--thread", "0", "--top", "0", "--sort", "waiting"}},
      {"report", {"FILE", "--thread", "1", "--top", "2", "--sort", "longest", "--quiet"}},
      {"report", {"FILE", "--sort", "runs", "--strict"}},
      {"stalls", {"FILE"}},
      {"stalls", {"FILE", "--min", "1", "--top", "0", "--quiet"}},
      {"stacks", {"FILE"}},
      {"stacks", {"FILE", "--waits", "--top", "0"}},
      {"stacks", {"FILE", "--waits", "--top", "1", "--quiet"}},
      {"export", {"FILE", "-o", "OUT"}},
      {"export", {"FILE", "--format", "chrome", "--from", "1", "--to", "100", "-o", "-", "--quiet"}},
      {"export", {"FILE", "--format", "folded", "-o", "OUT"}},
      {"export", {"FILE", "--format", "folded", "--of", "waits", "--from", "1", "--to", "100", "-o", "OUT"}},
      {"export", {"FILE", "--format", "folded", "--of", "stalls", "--quiet"}},
      {"export", {"FILE", "--format", "perfetto", "-o", "OUT"}},
      {"export", {"FILE", "--format", "perfetto", "--uncompressed", "-o", "OUT", "--quiet"}},
  };
  return list;
}

const Command* find(const char* name) {
  for (const Command* c : gs::cli::commands())
    if (c->name == name) return c;
  return nullptr;
}

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "fuzz_commands: %s\n", why.c_str());
  __builtin_trap();
}

// check_every_command() stops the fuzzer at once if a command that reads a
// trace has no run above: a new command must be added to runs().
void check_every_command() {
  for (const Command* c : gs::cli::commands()) {
    bool covered = c->name == "record";
    for (const Run& r : runs()) covered |= c->name == r.command;
    if (!covered) fail("command '" + c->name + "' is not fuzzed: add it to runs()");
  }
  for (const Run& r : runs())
    if (find(r.command) == nullptr) fail(std::string("no command '") + r.command + "'");
}

// command_lines() are runs() with FILE and OUT filled in, made once: the
// input's file is the same for every input of a process.
const std::vector<std::vector<std::string>>& command_lines(const std::string& file, const std::string& out) {
  static const std::vector<std::vector<std::string>> lines = [&] {
    std::vector<std::vector<std::string>> all;
    for (const Run& r : runs()) {
      std::vector<std::string> words = {"greenscope", r.command};
      for (const std::string& a : r.args) words.push_back(a == "FILE" ? file : a == "OUT" ? out : a);
      all.push_back(std::move(words));
    }
    return all;
  }();
  return lines;
}

// run_command() runs one command line as main() does (parse, then run) and
// returns its exit code.
int run_command(const std::vector<std::string>& words) {
  std::vector<char*> argv;
  for (const std::string& w : words) argv.push_back(const_cast<char*>(w.c_str()));  // parse_args() only reads
  const Command& command = *find(words[1].c_str());
  try {
    const gs::cli::Args args = gs::cli::parse_args(command, static_cast<int>(argv.size()), argv.data(), 2);
    return command.run(args);
  } catch (const gs::cli::UsageError& e) {
    fail(words[1] + ": the harness's options are wrong: " + e.what());
  } catch (const std::exception& e) {
    fail(words[1] + ": threw on a trace (main() would print it as an error): " + e.what());
  }
}

}  // namespace

// LLVMFuzzerInitialize() sends the commands' stdout to /dev/null (their
// stderr is left to -close_fd_mask=2, so that a reproduced crash shows
// their warnings) and checks that runs() covers every command.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const int null = ::open("/dev/null", O_WRONLY);
  if (null < 0 || ::dup2(null, STDOUT_FILENO) < 0) fail("cannot send stdout to /dev/null");
  ::close(null);
  check_every_command();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = gs::fuzz::write_input(data, size);
  if (path.empty()) return 0;
  const std::string out = path + ".out";
  for (const std::vector<std::string>& words : command_lines(path, out)) {
    const int code = run_command(words);
    if (code != gs::cli::kExitOk && code != gs::cli::kExitFailure) fail(words[1] + ": exit code " + std::to_string(code));
  }
  // What the runs without -o wrote beside the trace, and the -o file.
  for (const char* ext : {".json", ".stalls.folded"})
    std::remove((path.substr(0, path.size() - 8) + ext).c_str());
  std::remove(out.c_str());
  return 0;
}
