// format.cpp: durations, sizes, times, tables, the progress bar.
#include "format.h"

#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <ctime>

#include "greenscope/safe_text.h"

namespace gs::cli {

namespace {

std::string printf_string(const char* format, double value, const char* unit) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, value, unit);
  return buf;
}

}  // namespace

std::string format_duration(std::int64_t ns) {
  const char* sign = ns < 0 ? "-" : "";
  const double v = std::fabs(static_cast<double>(ns));
  std::string text;
  if (v < 1e3) text = printf_string("%.0f %s", v, "ns");
  else if (v < 1e6) text = printf_string(v < 1e4 ? "%.2f %s" : "%.1f %s", v / 1e3, "µs");
  else if (v < 1e9) text = printf_string(v < 1e7 ? "%.2f %s" : "%.1f %s", v / 1e6, "ms");
  else text = printf_string("%.2f %s", v / 1e9, "s");
  return sign + text;
}

std::string format_bytes(std::uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes) / 1024;
  int unit = 0;
  while (v >= 1024 && unit < 3) {
    v /= 1024;
    ++unit;
  }
  return printf_string("%.1f %s", v, units[unit]);
}

std::string format_percent(std::int64_t part, std::int64_t whole) {
  if (whole <= 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
  return buf;
}

std::string format_ms(std::int64_t ns) {
  char buf[48];
  const char* sign = ns < 0 ? "-" : "";
  const std::uint64_t v = ns < 0 ? static_cast<std::uint64_t>(-ns) : static_cast<std::uint64_t>(ns);
  std::snprintf(buf, sizeof buf, "%s%" PRIu64 ".%06" PRIu64, sign, v / 1000000, v % 1000000);
  return buf;
}

std::string iso8601_utc(std::int64_t epoch_ns) {
  const std::time_t seconds = static_cast<std::time_t>(epoch_ns / 1000000000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char date[40];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s.%06dZ", date, static_cast<int>((epoch_ns % 1000000000) / 1000));
  return buf;
}

std::string plural(std::uint64_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

std::string shown(std::string_view text) { return traceio::terminal_text(text); }
std::string shown_lines(std::string_view text) { return traceio::terminal_text(text, /*multiline=*/true); }

std::size_t display_width(std::string_view text) {
  std::size_t n = 0;
  for (const char c : text)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

Table::Table(std::vector<std::string> headers) {
  for (std::string& h : headers) {
    const bool right = !h.empty() && h[0] == '>';
    right_.push_back(right);
    headers_.push_back(right ? h.substr(1) : h);
  }
}

void Table::add(std::vector<std::string> row) {
  row.resize(headers_.size());
  for (std::string& cell : row) cell = shown(cell);
  rows_.push_back(std::move(row));
}

void Table::print(std::FILE* out, int indent) const {
  std::vector<std::size_t> widths(headers_.size());
  for (std::size_t c = 0; c < headers_.size(); ++c) {
    widths[c] = display_width(headers_[c]);
    for (const auto& row : rows_) widths[c] = std::max(widths[c], display_width(row[c]));
  }
  print_row(out, indent, headers_, widths);
  for (const auto& row : rows_) print_row(out, indent, row, widths);
}

void Table::print_row(std::FILE* out, int indent, const std::vector<std::string>& row,
                      const std::vector<std::size_t>& widths) const {
  std::string line(static_cast<std::size_t>(indent), ' ');
  for (std::size_t c = 0; c < row.size(); ++c) {
    const std::string pad(widths[c] - display_width(row[c]), ' ');
    line += right_[c] ? pad + row[c] : row[c] + (c + 1 < row.size() ? pad : "");
    if (c + 1 < row.size()) line += "  ";
  }
  line.erase(line.find_last_not_of(' ') + 1);  // an empty last column leaves padding
  std::fprintf(out, "%s\n", line.c_str());
}

Progress::Progress(std::string label, bool enabled) : label_(std::move(label)), enabled_(enabled) {}

Progress::~Progress() { finish(); }

void Progress::update(std::uint64_t done, std::uint64_t total) {
  if (!enabled_ || total == 0) return;
  const int percent = static_cast<int>(std::min<std::uint64_t>(100, done * 100 / total));
  const auto now = std::chrono::steady_clock::now();
  if (percent == last_percent_ || now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_percent_ = percent;
  last_draw_ = now;
  constexpr int kWidth = 30;
  const int filled = percent * kWidth / 100;
  std::fprintf(stderr, "\r%s %3d%% [%s%s]", label_.c_str(), percent, std::string(filled, '#').c_str(),
               std::string(kWidth - filled, ' ').c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::finish() {
  if (!drawn_) return;
  std::fprintf(stderr, "\r%s\r", std::string(label_.size() + 40, ' ').c_str());
  std::fflush(stderr);
  drawn_ = false;
}

bool progress_wanted(bool quiet) { return !quiet && ::isatty(STDERR_FILENO) == 1; }

}  // namespace gs::cli
