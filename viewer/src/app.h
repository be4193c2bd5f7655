// app.h: App, the viewer's state between frames, and the panel functions
// that draw it (one file per panel, as Tracy's View::DrawXxx()).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "args.h"
#include "greenscope/analysis/model.h"
#include "loader.h"
#include "view.h"

namespace gs::viewer {

// Rect is a screen rectangle in window pixels (what the state dump reports).
struct Rect {
  float x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  bool valid() const { return x1 > x0 && y1 > y0; }
};

// FrameNotes is what the last frame drew that the state dump and the
// interactive test need: no drawing code reads it.
struct FrameNotes {
  Rect longest_stall;            // the longest stall's box on the timeline, if drawn
  std::string details_heading;   // the details panel's first line
};

// TimelineState is the timeline's input state between frames.
struct TimelineState {
  bool pressed = false;        // the left button went down over the tracks
  bool dragging = false;       // ... and moved: a pan, not a click
  bool wheel_streak = false;   // the last input was a wheel turn (one history step per streak)
  float scroll_y = 0;          // vertical drag to apply to the tracks' scroll
};

struct App {
  explicit App(Options o) : options(std::move(o)) {}

  Options options;
  Loader loader;
  std::unique_ptr<analysis::Model> model;  // null while loading
  std::vector<LoadError> load_errors;
  TimeView view;
  Selection selection;
  std::int64_t longest_stall = -1;         // index into model->stalls, -1 none
  std::uint32_t scroll_to_track = UINT32_MAX;  // the timeline scrolls this track into view
  std::uint64_t frame = 0;
  FrameNotes notes;
  TimelineState timeline;

  bool loaded() const { return model != nullptr; }
  // start() begins loading the files given on the command line.
  void start();
  // frame_ui() draws one frame of every panel (between ImGui::NewFrame and Render).
  void frame_ui();
};

// Panels: each draws one ImGui window at the position layout() gave it.
void draw_loading_panel(App& app);
void draw_timeline_panel(App& app);
void draw_details_panel(App& app);
void draw_stalls_panel(App& app);
void draw_greenlets_panel(App& app);
void draw_info_panel(App& app);

// Navigation shared by the panels (navigate.cpp).
void select_stall(App& app, std::size_t stall, bool zoom);
void select_greenlet(App& app, std::size_t greenlet, bool zoom);
void select_span(App& app, std::uint32_t track, std::uint32_t level, std::size_t span);
void zoom_to(App& app, std::int64_t begin, std::int64_t end);
std::int64_t stall_end(const traceio::StallInfo& s);
// hub_track_of() is the hub track of (process, the trace's thread index), or UINT32_MAX.
std::uint32_t hub_track_of(const analysis::Model& m, std::uint32_t process, std::uint32_t thread_index);

}  // namespace gs::viewer
