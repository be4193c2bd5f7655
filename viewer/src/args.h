// args.h: greenscope-viewer's command line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gs::viewer {

// Panel names the windows --panels can pick.
enum class Panel : std::uint8_t { Timeline, Details, Stalls, Greenlets, Info, Search, Callbacks, Histogram };
inline constexpr std::size_t kPanelCount = 8;

struct Options {
  std::vector<std::string> files;
  std::string screenshot;               // --screenshot OUT.png: render, write, exit
  int width = 1600, height = 1000;      // --size WxH
  std::optional<std::pair<std::int64_t, std::int64_t>> range;  // --range BEGIN_NS:END_NS
  bool select_longest_stall = false;    // --select longest-stall
  bool panels[kPanelCount] = {true, true, true, true, true, true, true, true};  // --panels a,b,...
  std::string dump_state;               // --dump-state-on-exit FILE (also on SIGUSR1)
  bool follow = false;                  // --follow FILE: re-read it as it grows, view pinned to now
  std::vector<std::string> record;      // -- PROGRAM ARGS: record it (greenscope record) and follow
  std::vector<std::string> drop;        // --drop FILE: as if FILE were dropped on the window once loaded
  std::string search;                   // --search TEXT: the search panel's query at start
  bool help = false, version = false;
};

// parse_args() fills `out` from argv; false with `error` saying what was
// wrong (the caller prints usage).
bool parse_args(int argc, char** argv, Options* out, std::string* error);
const char* usage_text();
const char* panel_name(Panel p);

}  // namespace gs::viewer
