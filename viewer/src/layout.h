// layout.h: where each panel's window goes. The windows tile the screen:
// the timeline on top, the other panels side by side below it.
#pragma once

#include "args.h"
#include "app.h"

namespace gs::viewer {

// panel_rect() is panel p's window for a display of w x h, given which
// panels are shown; invalid if p is hidden.
Rect panel_rect(const bool (&shown)[kPanelCount], Panel p, float w, float h);
// place_next_window() sets the next ImGui window to panel p's rect.
void place_next_window(const App& app, Panel p);

}  // namespace gs::viewer
