// commands.cpp: the list of subcommands, shared by main() and the fuzz
// target (which checks that it runs every command that reads a trace).
#include "cli.h"

namespace gs::cli {

std::vector<const Command*> commands() {
  return {&record_command(), &info_command(),  &report_command(), &dump_command(),
          &export_command(), &stalls_command(), &stacks_command()};
}

}  // namespace gs::cli
