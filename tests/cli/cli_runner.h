// cli_runner.h: running the real `greenscope` binary and the traced example
// program from the tests, capturing what they print.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace gs::cli_test {

struct RunResult {
  int code = -1;  // exit status, 128+N if signal N killed it
  std::string out, err;
};

using Env = std::vector<std::pair<std::string, std::string>>;

// run_command() runs argv[0] (a path) with `env` added to a copy of this
// process's environment (GREENSCOPE_* variables removed first).
RunResult run_command(const std::vector<std::string>& argv, const Env& env = {});
// greenscope() runs the CLI with `args`.
RunResult greenscope(const std::vector<std::string>& args);
// record_example() runs photo_pipeline with GREENSCOPE_TRACE=path.
RunResult record_example(const std::string& path, const std::vector<std::string>& args);
// make_temp_dir() creates a fresh directory under the test's temp dir.
std::string make_temp_dir();
std::string read_file(const std::string& path);
std::vector<std::string> split_lines(const std::string& text);
// cell() reads a table cell: the text of `row` in the column whose header
// label is `column` (right-aligned columns end where their label ends).
std::string cell(const std::string& header, const std::string& row, const std::string& column);
// row_starting() is the first line of `text` whose first word is `word`.
std::string row_starting(const std::string& text, const std::string& word);
// duration_ns() parses "12.3 µs" (ns, µs, ms, s); -1 for "-" or junk.
double duration_ns(const std::string& text);

}  // namespace gs::cli_test
