// timeline.h: the timeline panel's parts (panel_timeline.cpp lays them
// out; timeline_ruler.cpp, timeline_track.cpp and timeline_input.cpp draw
// and drive them).
#pragma once

#include <cstdint>
#include <vector>

#include "app.h"
#include "fold.h"

struct ImDrawList;

namespace gs::viewer {

inline constexpr float kLabelWidth = 190;  // the row names' column
inline constexpr float kRowHeight = 18;
inline constexpr float kRulerHeight = 24;
inline constexpr float kMinBlockPx = 3;    // spans narrower than this fold

// TimeMap turns times into x and back for the time area [x0, x1).
struct TimeMap {
  Range range;
  float x0 = 0, x1 = 1;
  double ns_per_px() const { return static_cast<double>(range.length()) / static_cast<double>(x1 - x0); }
  float x(std::int64_t ns) const {
    return x0 + static_cast<float>(static_cast<double>(ns - range.begin) / ns_per_px());
  }
  std::int64_t ns(float px) const {
    return range.begin + static_cast<std::int64_t>(static_cast<double>(px - x0) * ns_per_px());
  }
};

// Hover is the item under the mouse in this frame.
struct Hover {
  bool valid = false;
  std::uint32_t track = 0, level = 0;
  Block block;
};

// TimelineFrame is what the timeline's parts share during one frame.
struct TimelineFrame {
  TimeMap map;
  Hover hover;
  std::int64_t hover_run_info = -1;  // a run-info marker under the mouse: its index
  float mouse_x = 0, mouse_y = 0;
  std::vector<float> track_y;        // per track: its main row's middle, -1 if not drawn
};

// ruler_step() is the labelled tick spacing: 1, 2 or 5 x 10^k ns, about
// 100 px apart.
std::int64_t ruler_step(double ns_per_px);
void draw_ruler(ImDrawList* dl, const TimelineFrame& f, float y0, float y1);
void draw_grid(ImDrawList* dl, const TimelineFrame& f, float y0, float y1);
// draw_track() draws a track's rows at the cursor, one per level (the hub's
// stall level first), and notes the hovered item.
void draw_track(App& app, TimelineFrame& f, std::uint32_t track);
void draw_hover_tooltip(const App& app, const TimelineFrame& f);
// draw_run_info_markers() marks the run-info dumps of the hub's process on
// its loop row (y0..y1): a click opens the dump in Details.
void draw_run_info_markers(App& app, TimelineFrame& f, std::uint32_t track, float y0, float y1);
// draw_switch_arrows() draws, for the selected span or greenlet, an arrow
// per switch at its ends: from the row that ran before to the row that ran
// after (timeline_arrows.cpp).
void draw_switch_arrows(const App& app, const TimelineFrame& f);
// handle_timeline_input() applies wheel, drag, click and keys.
void handle_timeline_input(App& app, TimelineFrame& f, bool hovered);

}  // namespace gs::viewer
