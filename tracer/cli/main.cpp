// main.cpp: `greenscope`, the command-line side of greenscope: record a
// program's trace, then read it with info, report, dump, export, stalls and
// stacks. It reads
// traces through greenscope::traceio only, never the runtime.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli.h"
#include "format.h"

#ifndef GS_VERSION
#define GS_VERSION "unknown"
#endif

namespace gs::cli {
namespace {

const Command* find_command(const std::string& name) {
  for (const Command* c : commands())
    if (c->name == name) return c;
  return nullptr;
}

void print_main_help() {
  std::printf(
      "usage: greenscope COMMAND [options]\n\n"
      "Records and reads traces of programs built on greenscope's green-thread runtime.\n\n"
      "commands:\n");
  for (const Command* c : commands()) std::printf("  %-8s %s\n", c->name.c_str(), c->summary.c_str());
  std::printf(
      "  help     show a command's options: greenscope help report\n\n"
      "  greenscope --version    the version and the trace format it reads\n\n"
      "exit codes: 0 success; 1 failure (unreadable trace, cannot write output, --strict\n"
      "and damage found); 2 usage error. `record` returns the program's own status.\n"
      "A damaged but readable trace prints warnings and still exits 0 unless --strict.\n");
}

void print_version() {
  std::printf("greenscope %s (trace format %u.%u)\n", GS_VERSION,
              static_cast<unsigned>(trace_format::kFormatMajor), static_cast<unsigned>(trace_format::kFormatMinor));
}

// closest_command() suggests a command for a mistyped name: one that starts
// with it, or that it starts with.
std::string closest_command(const std::string& typed) {
  for (const Command* c : commands())
    if (!typed.empty() && (c->name.rfind(typed, 0) == 0 || typed.rfind(c->name, 0) == 0)) return c->name;
  return {};
}

int usage_error(const std::string& text, const Command* command) {
  std::fprintf(stderr, "greenscope: %s\n", shown(text).c_str());
  if (command != nullptr)
    std::fprintf(stderr, "usage: greenscope %s\n(see 'greenscope help %s')\n", command->synopsis.c_str(),
                 command->name.c_str());
  else
    std::fprintf(stderr, "(see 'greenscope --help')\n");
  return kExitUsage;
}

int unknown_command(const std::string& name) {
  const std::string guess = closest_command(name);
  return usage_error("unknown command '" + name + "'" + (guess.empty() ? "" : "; did you mean '" + guess + "'?"),
                     nullptr);
}

int help(int argc, char** argv) {
  if (argc < 3) {
    print_main_help();
    return kExitOk;
  }
  const Command* command = find_command(argv[2]);
  if (command == nullptr) return unknown_command(argv[2]);
  print_command_help(*command);
  return kExitOk;
}

int run(int argc, char** argv) {
  if (argc < 2) return usage_error("missing a command", nullptr);
  const std::string first = argv[1];
  if (first == "--help" || first == "-h" || first == "help") return help(argc, argv);
  if (first == "--version" || first == "version") {
    print_version();
    return kExitOk;
  }
  const Command* command = find_command(first);
  if (command == nullptr)
    return first[0] == '-' ? usage_error("unknown option '" + first + "'", nullptr) : unknown_command(first);
  try {
    const Args args = parse_args(*command, argc, argv, 2);
    if (args.has("help")) {
      print_command_help(*command);
      return kExitOk;
    }
    return command->run(args);
  } catch (const UsageError& e) {
    return usage_error(e.what(), command);
  }
}

}  // namespace
}  // namespace gs::cli

int main(int argc, char** argv) {
  try {
    return gs::cli::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "greenscope: error: %s\n", gs::cli::shown(e.what()).c_str());
    return gs::cli::kExitFailure;
  }
}
