// cli_runner.cpp: process and table helpers for the CLI tests.
#include "cli_runner.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>

#include "../traceio/removed_at_exit.h"

extern char** environ;

namespace gs::cli_test {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

namespace {

[[noreturn]] void exec_child(const std::vector<std::string>& argv, const Env& env, const std::string& out,
                             const std::string& err) {
  const int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const int err_fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (out_fd < 0 || err_fd < 0) ::_exit(120);
  ::dup2(out_fd, STDOUT_FILENO);
  ::dup2(err_fd, STDERR_FILENO);
  std::vector<std::string> names;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::strncmp(*e, "GREENSCOPE_", 11) == 0) names.emplace_back(*e, std::strcspn(*e, "="));
  for (const std::string& n : names) ::unsetenv(n.c_str());
  for (const auto& [name, value] : env) ::setenv(name.c_str(), value.c_str(), 1);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execv(args[0], args.data());
  ::_exit(121);
}

// strip_micro() replaces "µ" (2 bytes, 1 column) by "u" so that byte
// offsets are display columns.
std::string strip_micro(std::string text) {
  for (std::size_t at = text.find("µ"); at != std::string::npos; at = text.find("µ", at)) text.replace(at, 2, "u");
  return text;
}

}  // namespace

RunResult run_command(const std::vector<std::string>& argv, const Env& env) {
  const std::string dir = make_temp_dir();
  const std::string out = dir + "/stdout", err = dir + "/stderr";
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) exec_child(argv, env, out, err);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  RunResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(out);
  r.err = read_file(err);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return r;
}

RunResult greenscope(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {GREENSCOPE_CLI};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv);
}

RunResult record_example(const std::string& path, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {PHOTO_PIPELINE};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, {{"GREENSCOPE_TRACE", path}});
}

std::string make_temp_dir() {
  std::string base = ::testing::TempDir();
  if (base.empty() || base.back() != '/') base += '/';
  std::string templ = base + "cli_tests-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed in " + base);
  gs::test::remove_at_exit(templ);
  return templ;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string cell(const std::string& header_text, const std::string& row_text, const std::string& column) {
  const std::string header = strip_micro(header_text), row = strip_micro(row_text);
  const std::size_t at = header.find(" " + column);
  if (at == std::string::npos) return "<no column " + column + ">";
  const std::size_t end = std::min(at + 1 + column.size(), row.size());
  const std::size_t begin = row.rfind("  ", end - 1);
  std::string text = row.substr(begin == std::string::npos ? 0 : begin, end - (begin == std::string::npos ? 0 : begin));
  text.erase(0, text.find_first_not_of(' '));
  return text;
}

std::string row_starting(const std::string& text, const std::string& word) {
  for (const std::string& line : split_lines(text)) {
    const std::size_t first = line.find_first_not_of(' ');
    if (first != std::string::npos && line.compare(first, word.size() + 1, word + " ") == 0) return line;
  }
  return {};
}

double duration_ns(const std::string& raw) {
  const std::string text = strip_micro(raw);
  double value = 0;
  char unit[8] = {};
  if (std::sscanf(text.c_str(), "%lf %7s", &value, unit) != 2) return -1;
  const std::string u = unit;
  if (u == "ns") return value;
  if (u == "us") return value * 1e3;
  if (u == "ms") return value * 1e6;
  if (u == "s") return value * 1e9;
  return -1;
}

}  // namespace gs::cli_test
