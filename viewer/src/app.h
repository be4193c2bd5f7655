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
#include "recorder.h"
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
  Rect run_info;                 // the first run-info marker on the timeline, if drawn
  Rect search_input;             // the search panel's text field
  Rect search_first_hit;         // its first hit's row
  std::string details_heading;   // the details panel's first line
};

// SearchHit is one thing the search panel found: what to select.
struct SearchHit {
  Selection what;      // Greenlet, Stall, Crash, or a Span (a wait or blocking call)
  std::string text;    // the list's line
};

// SearchState is the search panel's query and its hits (redone when the
// query or the model changes).
struct SearchState {
  char query[256] = {};
  std::string searched;          // the query the hits are for
  std::uint64_t generation = 0;  // ... and the model
  std::vector<SearchHit> hits;
  bool more = false;             // hits were left off (kMaxHits)
};

// FollowState is --follow's: when to look at the file next, and whether
// the view is pinned to the newest events.
struct FollowState {
  bool enabled = false;
  bool pinned = true;            // the "follow" toggle; panning away clears it
  Range pinned_range;            // the range the pin last set (a different one: the user moved)
  double next_check = 0;         // seconds (steady clock) of the next look at the file
  std::uint64_t updates = 0;     // times the model grew in place (analysis::Follow)
  std::uint64_t reloads = 0;     // times the file was read again from its start (it was replaced)
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
  std::vector<std::string> files;          // the traces shown (or being read)
  // loader reads `files` into a new Model in the background; the frame
  // swaps it in when done (the old model is drawn meanwhile). Null when idle.
  std::unique_ptr<Loader> loader;
  bool loader_keeps_view = false;          // a --follow re-read: keep view and selection
  std::unique_ptr<analysis::Model> model;  // null until the first load is done
  // live extends `model` as the followed file grows (--follow; null otherwise).
  std::unique_ptr<analysis::Follow> live;
  std::uint64_t generation = 0;            // bumped per model swapped in (panels' caches key on it)
  std::vector<LoadError> load_errors;
  TimeView view;
  Selection selection;
  std::int64_t longest_stall = -1;         // index into model->stalls, -1 none
  std::uint32_t scroll_to_track = UINT32_MAX;  // the timeline scrolls this track into view
  std::uint64_t frame = 0;
  FrameNotes notes;
  TimelineState timeline;
  SearchState search;
  FollowState follow;
  Recorder recorder;
  bool open_dialog = false;                // File > Open... asked for the path dialog
  std::vector<std::string> dropped;        // files dropped on the window, opened next frame

  bool loaded() const { return model != nullptr; }
  bool reloading() const { return loader != nullptr; }
  // start() begins loading the files given on the command line (or starts
  // the program to record, whose trace it then follows).
  void start();
  // open_files() adds traces to the ones shown, on the same time axis: all
  // are read again into a new model, swapped in when done.
  void open_files(const std::vector<std::string>& paths);
  // close_all() shows no trace.
  void close_all();
  // cancel_load() stops a re-read under way (files opened or dropped, a
  // --follow re-read); the traces shown stay, and so does --follow.
  void cancel_load();
  // show() puts a model loaded elsewhere on screen as a first load does
  // (bench/viewer_frame.cpp; the window's loads go through begin_load()).
  void show(std::unique_ptr<analysis::Model> m);
  // frame_ui() draws one frame of every panel (between ImGui::NewFrame and Render).
  void frame_ui();
  // begin_load() reads `files` into a new model in the background;
  // keep_view: a --follow re-read (view and selection stay).
  void begin_load(bool keep_view);
  // model_grew() is told that `live` extended the model in place: the
  // panels' caches and the view's limits follow it.
  void model_grew();

 private:
  void take_model();
};

// Panels: each draws one ImGui window at the position layout() gave it.
void draw_loading_panel(App& app);
void draw_timeline_panel(App& app);
void draw_details_panel(App& app);
void draw_stalls_panel(App& app);
void draw_greenlets_panel(App& app);
void draw_info_panel(App& app);
void draw_search_panel(App& app);
void draw_callbacks_panel(App& app);
void draw_histogram_panel(App& app);
// draw_main_menu() is the File menu (Open..., Close all, Quit) and its dialog.
void draw_main_menu(App& app);
// follow_tick() extends the model with what the followed trace gained and
// keeps the view pinned to its end (follow.cpp).
void follow_tick(App& app);
void follow_on_reloaded(App& app);

// Navigation shared by the panels (navigate.cpp).
void select_stall(App& app, std::size_t stall, bool zoom);
void select_greenlet(App& app, std::size_t greenlet, bool zoom);
void select_span(App& app, std::uint32_t track, std::uint32_t level, std::size_t span);
void zoom_to(App& app, std::int64_t begin, std::int64_t end);
// select_and_show() selects a search hit (any Selection) and brings it into view.
void select_and_show(App& app, const Selection& s);
// selection_valid() is false when `s` points past what `m` holds.
bool selection_valid(const analysis::Model& m, const Selection& s);
std::int64_t stall_end(const traceio::StallInfo& s);
// hub_track_of() is the hub track of (process, the trace's thread index), or UINT32_MAX.
std::uint32_t hub_track_of(const analysis::Model& m, std::uint32_t process, std::uint32_t thread_index);

}  // namespace gs::viewer
