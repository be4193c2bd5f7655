// args.cpp: the subcommands' option parser and help text.
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "cli.h"

namespace gs::cli {

namespace {

const OptionSpec* find_long(const Command& command, const std::string& name) {
  for (const OptionSpec& o : command.options)
    if (o.name == name) return &o;
  return nullptr;
}

const OptionSpec* find_short(const Command& command, char letter) {
  for (const OptionSpec& o : command.options)
    if (o.letter != 0 && o.letter == letter) return &o;
  return nullptr;
}

std::string unknown_option(const Command& command, const std::string& arg) {
  return "unknown option '" + arg + "' for 'greenscope " + command.name + "'";
}

// take_value() returns the option's value: the text after '=', else the next
// argument (advancing i).
std::string take_value(const OptionSpec& o, const std::string& arg, std::optional<std::string> inline_value,
                       int argc, char** argv, int& i) {
  if (!o.takes_value) {
    if (inline_value) throw UsageError("option '--" + o.name + "' takes no value");
    return {};
  }
  if (inline_value) return *inline_value;
  if (i + 1 >= argc) throw UsageError("option '" + arg + "' needs a value (" + o.value + ")");
  return argv[++i];
}

}  // namespace

std::string Args::get(const std::string& name, const std::string& fallback) const {
  const auto it = values.find(name);
  return it == values.end() ? fallback : it->second;
}

std::optional<std::int64_t> Args::number(const std::string& name, std::int64_t min, std::int64_t max) const {
  if (!has(name)) return std::nullopt;
  const std::string text = get(name);
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || v < min || v > max)
    throw UsageError("--" + name + " wants a whole number from " + std::to_string(min) + " to " +
                     std::to_string(max) + ", not '" + text + "'");
  return v;
}

std::optional<double> Args::real(const std::string& name) const {
  if (!has(name)) return std::nullopt;
  const std::string text = get(name);
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0') throw UsageError("--" + name + " wants a number, not '" + text + "'");
  return v;
}

const std::string& Args::file() const {
  if (positional.empty()) throw UsageError("missing the trace FILE");
  if (positional.size() > 1) throw UsageError("unexpected argument '" + positional[1] + "'");
  return positional[0];
}

Args parse_args(const Command& command, int argc, char** argv, int first) {
  Args args;
  args.command = &command;
  bool options_done = false;
  for (int i = first; i < argc; ++i) {
    const std::string arg = argv[i];
    if (options_done || arg.size() < 2 || arg[0] != '-') {
      args.positional.push_back(arg);
      if (command.stop_at_positional) options_done = true;
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    const OptionSpec* spec = nullptr;
    std::optional<std::string> inline_value;
    if (arg[1] == '-') {
      const std::size_t eq = arg.find('=');
      spec = find_long(command, arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2));
      if (eq != std::string::npos) inline_value = arg.substr(eq + 1);
    } else if (arg.size() == 2) {
      spec = find_short(command, arg[1]);
    }
    if (spec == nullptr) throw UsageError(unknown_option(command, arg));
    args.values[spec->name] = take_value(*spec, arg, inline_value, argc, argv, i);
  }
  return args;
}

void print_command_help(const Command& command) {
  std::printf("usage: greenscope %s\n\n%s\n", command.synopsis.c_str(), command.summary.c_str());
  if (!command.options.empty()) std::printf("\noptions:\n");
  for (const OptionSpec& o : command.options) {
    std::string left = o.letter != 0 ? std::string("-") + o.letter + ", --" + o.name : "    --" + o.name;
    if (o.takes_value) left += " " + o.value;
    std::printf("  %-24s %s\n", left.c_str(), o.help.c_str());
  }
  if (!command.details.empty()) std::printf("\n%s", command.details.c_str());
}

std::vector<OptionSpec> trace_reading_options() {
  return {
      {"strict", 0, false, "", "exit 1 if the trace is damaged, lost events or did not end cleanly"},
      {"quiet", 'q', false, "", "no warnings and no progress bar on stderr"},
      {"help", 'h', false, "", "show this help"},
  };
}

}  // namespace gs::cli
