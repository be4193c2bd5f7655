// follow.cpp: live mode (--follow FILE, -- PROGRAM). The first load reads
// the followed file through an analysis::Follow (loader.cpp); from then on,
// every kCheckEverySeconds, or every frame while it is still catching up,
// the frame asks it for what the file gained (at most kPieceBytes a frame,
// so that a burst of events cannot freeze the window) and the model grows
// in place: nothing already read is read again. A file replaced under its
// path (the program ran again) is read anew from its start.
#include <chrono>

#include "app.h"

namespace gs::viewer {
namespace {

constexpr double kCheckEverySeconds = 0.25;
constexpr std::uint64_t kPieceBytes = 512u << 10;

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// pin_to_end() shows the newest events: the current width, ending a little
// after the model's end.
void pin_to_end(App& app) {
  const std::int64_t len = app.view.range().length();
  const std::int64_t end = app.model->end_ns() + len / 20;
  app.view.set({end - len, end});
  app.follow.pinned_range = app.view.range();
}

}  // namespace

void follow_tick(App& app) {
  FollowState& f = app.follow;
  app.recorder.poll();
  // follow_tick() runs before the panels: a range other than the one the
  // pin set means the user panned or zoomed in the last frame.
  if (f.pinned && app.loaded() && app.view.range() != f.pinned_range && f.pinned_range.length() > 0) f.pinned = false;
  if (app.live == nullptr || app.reloading() || !app.loaded()) return;
  const double now = now_seconds();
  if (app.live->at_end() && now < f.next_check) return;
  f.next_check = now + kCheckEverySeconds;
  const std::string error = app.live->update(kPieceBytes);
  if (app.live->replaced()) {
    app.live.reset();
    ++f.reloads;
    app.begin_load(true);
    return;
  }
  if (!error.empty()) {
    app.load_errors.push_back({app.files.front(), error});
    app.live.reset();
    return;
  }
  if (!app.live->changed()) return;
  ++f.updates;
  app.model_grew();
  if (f.pinned) pin_to_end(app);
}

void follow_on_reloaded(App& app) {
  if (app.follow.pinned) pin_to_end(app);
}

}  // namespace gs::viewer
