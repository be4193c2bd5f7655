// format.h: text for humans: durations with units, byte sizes, times,
// aligned tables and the progress bar.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace gs::cli {

// format_duration() picks the unit: "830 ns", "12.4 µs", "3.25 ms", "1.20 s".
std::string format_duration(std::int64_t ns);
// format_bytes() is "512 B", "5.3 KiB", "12.0 MiB"...
std::string format_bytes(std::uint64_t bytes);
// format_percent() is part/whole as "42.0%" ("-" when whole is 0).
std::string format_percent(std::int64_t part, std::int64_t whole);
// format_ms() is a trace time in milliseconds with 6 decimals (ns precision).
std::string format_ms(std::int64_t ns);
// iso8601_utc() formats ns since the epoch: "2024-05-01T12:00:00.123456Z".
std::string iso8601_utc(std::int64_t epoch_ns);
// plural() is "1 stall", "3 stalls".
std::string plural(std::uint64_t n, std::string_view one, std::string_view many);
// display_width() counts code points, so that "µs" is 2 columns wide.
std::size_t display_width(std::string_view text);

// shown() is text from a trace (a name, a frame, a path, an argument, an
// error text) or from the command line, fit to print on a terminal: control
// characters and bytes that are not UTF-8 as \xNN (traceio::terminal_text).
// Every line the CLI prints goes through it: Table cells, warn() and error()
// do it themselves; the other printf()s of such text call it. shown_lines()
// keeps newlines and tabs, for a multi-line text (a run-info dump).
std::string shown(std::string_view text);
std::string shown_lines(std::string_view text);

// Table prints rows with aligned columns. Columns whose header starts with
// '>' are right-aligned (the '>' is not printed).
class Table {
 public:
  explicit Table(std::vector<std::string> headers);
  // add() appends a row; each cell is shown() (made fit for a terminal).
  void add(std::vector<std::string> row);
  std::size_t rows() const { return rows_.size(); }
  // print() writes the table, each line indented by `indent` spaces.
  void print(std::FILE* out, int indent = 2) const;

 private:
  void print_row(std::FILE* out, int indent, const std::vector<std::string>& row,
                 const std::vector<std::size_t>& widths) const;
  std::vector<std::string> headers_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

// Progress draws "label  42% [#####     ]" on stderr when it is a terminal,
// redrawing at most ten times a second; finish() erases it.
class Progress {
 public:
  Progress(std::string label, bool enabled);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  void update(std::uint64_t done, std::uint64_t total);
  void finish();

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  int last_percent_ = -1;
  std::chrono::steady_clock::time_point last_draw_{};
};

// progress_wanted() is true when stderr is a terminal and --quiet is off.
bool progress_wanted(bool quiet);

}  // namespace gs::cli
