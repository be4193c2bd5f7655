// args.cpp: parse_args() for greenscope-viewer.
#include "args.h"

#include <cstdlib>
#include <cstring>

namespace gs::viewer {
namespace {

bool parse_int64(const std::string& s, std::int64_t* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (*end != '\0') return false;
  *out = v;
  return true;
}

// parse_time() reads a time on the axis: ns, or a number with a unit
// ("1.25s", "350ms", "12us", "800ns").
bool parse_time(const std::string& s, std::int64_t* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  const std::string unit(end);
  double scale = 0;
  if (unit.empty() || unit == "ns") scale = 1;
  else if (unit == "us") scale = 1e3;
  else if (unit == "ms") scale = 1e6;
  else if (unit == "s") scale = 1e9;
  if (scale == 0 || end == s.c_str() || !(v * scale > -9e18 && v * scale < 9e18)) return false;
  *out = static_cast<std::int64_t>(v * scale);
  return true;
}

bool parse_size(const std::string& s, Options* o) {
  const auto x = s.find('x');
  std::int64_t w = 0, h = 0;
  if (x == std::string::npos || !parse_int64(s.substr(0, x), &w) || !parse_int64(s.substr(x + 1), &h)) return false;
  if (w < 200 || h < 150 || w > 16384 || h > 16384) return false;
  o->width = static_cast<int>(w);
  o->height = static_cast<int>(h);
  return true;
}

bool parse_range(const std::string& s, Options* o) {
  const auto colon = s.find(':');
  std::int64_t b = 0, e = 0;
  if (colon == std::string::npos || !parse_time(s.substr(0, colon), &b) || !parse_time(s.substr(colon + 1), &e))
    return false;
  if (e <= b) return false;
  o->range = std::make_pair(b, e);
  return true;
}

// parse_panels() turns "timeline,details" into the panel switches.
bool parse_panels(const std::string& s, Options* o, std::string* error) {
  for (bool& p : o->panels) p = false;
  std::size_t at = 0;
  while (at <= s.size()) {
    const auto comma = s.find(',', at);
    const std::string name = s.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    bool found = false;
    for (std::size_t i = 0; i < kPanelCount; ++i)
      if (name == panel_name(static_cast<Panel>(i))) o->panels[i] = found = true;
    if (!found) {
      *error = "unknown panel '" + name + "' (panels: timeline, details, stalls, greenlets, info, search, callbacks, histogram)";
      return false;
    }
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return true;
}

}  // namespace

const char* panel_name(Panel p) {
  static const char* const names[kPanelCount] = {"timeline", "details", "stalls", "greenlets", "info",
                                                            "search", "callbacks", "histogram"};
  return names[static_cast<std::size_t>(p)];
}

const char* usage_text() {
  return "usage: greenscope-viewer [options] [FILE.gstrace...]\n"
         "       greenscope-viewer [options] --follow FILE.gstrace\n"
         "       greenscope-viewer [options] -- PROGRAM [ARGS...]\n"
         "\n"
         "Shows greenscope traces on one timeline: every hub, greenlet, wait and stall.\n"
         "Several files (processes) share one time axis, placed by their wall-clock start.\n"
         "\n"
         "options:\n"
         "  --screenshot OUT.png      render once loaded, write OUT.png and exit (no interaction)\n"
         "  --size WxH                window size (default 1600x1000)\n"
         "  --range BEGIN:END         the visible time range on the timeline's axis: ns, or s/ms/us\n"
         "                            (e.g. 1.2s:1.25s)\n"
         "  --select longest-stall    select the longest stall and zoom to it\n"
         "  --panels a,b,...          which panels to show: timeline,details,stalls,greenlets,info,\n"
         "                            search,callbacks,histogram\n"
         "  --follow FILE             live: re-read FILE as a running program writes it (about every\n"
         "                            0.5 s); the view stays on the newest events unless you pan away\n"
         "  -- PROGRAM [ARGS...]      record PROGRAM with `greenscope record` (found beside the viewer\n"
         "                            or on PATH) and follow its trace; closing the viewer stops it\n"
         "  --drop FILE               open FILE once loaded, as dropping it on the window does\n"
         "  --search TEXT             start with TEXT in the search panel\n"
         "  --dump-state-on-exit FILE write the view and selection to FILE at exit and on SIGUSR1\n"
         "  --version, --help\n"
         "\n"
         "timeline: wheel zooms at the cursor, drag pans, arrows or WASD pan and zoom,\n"
         "click selects, double click zooms to an item, Alt+Left/Right go back/forward.\n"
         "Drop trace files on the window (or File > Open...) to add them to the same time axis.\n";
}

bool parse_args(int argc, char** argv, Options* out, std::string* error) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    auto value = [&]() -> std::string { return argv[++i]; };
    if (a == "--") {
      out->record.assign(argv + i + 1, argv + argc);
      if (out->record.empty()) return *error = "-- wants a PROGRAM to record", false;
      out->follow = true;
      break;
    }
    if (a == "--help" || a == "-h") {
      out->help = true;
    } else if (a == "--version") {
      out->version = true;
    } else if (a == "--screenshot" && has_value) {
      out->screenshot = value();
    } else if (a == "--size" && has_value) {
      if (!parse_size(value(), out)) return *error = "--size wants WxH, e.g. 1600x1000 (200x150 or more)", false;
    } else if (a == "--range" && has_value) {
      if (!parse_range(value(), out)) return *error = "--range wants BEGIN:END (ns, or with a unit: 1.2s:1.25s, 300ms:310ms) with END > BEGIN", false;
    } else if (a == "--select" && has_value) {
      if (value() != "longest-stall") return *error = "--select knows one item: longest-stall", false;
      out->select_longest_stall = true;
    } else if (a == "--panels" && has_value) {
      if (!parse_panels(value(), out, error)) return false;
    } else if (a == "--dump-state-on-exit" && has_value) {
      out->dump_state = value();
    } else if (a == "--follow" && has_value) {
      out->follow = true;
      out->files.push_back(value());
    } else if (a == "--drop" && has_value) {
      out->drop.push_back(value());
    } else if (a == "--search" && has_value) {
      out->search = value();
    } else if (a.rfind("--", 0) == 0) {
      *error = "unknown option, or one missing its value: " + a;
      return false;
    } else {
      out->files.push_back(a);
    }
  }
  if (out->follow && out->record.empty() && out->files.size() != 1)
    return *error = "--follow wants exactly one FILE", false;
  if (!out->record.empty() && !out->files.empty())
    return *error = "-- PROGRAM records a new trace: give no FILE with it", false;
  return true;
}

}  // namespace gs::viewer
