// format.cpp: see format.h.
#include "format.h"

#include <cinttypes>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "greenscope/safe_text.h"

namespace gs::viewer {
namespace {

std::string printf_string(const char* fmt, double v, const char* unit) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v, unit);
  return buf;
}

}  // namespace

std::string format_duration(std::int64_t ns) {
  const double v = static_cast<double>(ns);
  const double a = std::fabs(v);
  if (a < 1e3) return printf_string("%.0f %s", v, "ns");
  const char* unit = a < 1e6 ? "\xC2\xB5s" : a < 1e9 ? "ms" : "s";
  const double scaled = a < 1e6 ? v / 1e3 : a < 1e9 ? v / 1e6 : v / 1e9;
  const double s = std::fabs(scaled);
  return printf_string(s < 10 ? "%.2f %s" : s < 100 ? "%.1f %s" : "%.0f %s", scaled, unit);
}

std::string format_time(std::int64_t ns) {
  return printf_string("%.3f %s", static_cast<double>(ns) / 1e6, "ms");
}

// format_tick() picks the unit from the step, and as many decimals as the
// step needs, so that neighbouring labels differ.
std::string format_tick(std::int64_t ns, std::int64_t step_ns) {
  const double v = static_cast<double>(ns);
  double div = 1;
  const char* unit = "ns";
  if (step_ns >= 1'000'000'000) div = 1e9, unit = "s";
  else if (step_ns >= 1'000'000) div = 1e6, unit = "ms";
  else if (step_ns >= 1'000) div = 1e3, unit = "\xC2\xB5s";
  int decimals = 0;
  for (double s = static_cast<double>(step_ns) / div; s < 1 - 1e-9 && decimals < 9; s *= 10) ++decimals;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f %s", decimals, v / div, unit);
  return buf;
}

std::string format_hex(std::uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

std::string signal_name(int sig) {
  switch (sig) {
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGSEGV: return "SIGSEGV";
    default: return "signal " + std::to_string(sig);
  }
}

std::string format_count(std::uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string ui_text(std::string_view text, bool multiline) { return traceio::valid_utf8(text, multiline); }

}  // namespace gs::viewer
