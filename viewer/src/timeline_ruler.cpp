// timeline_ruler.cpp: the time ruler and the grid lines under the tracks.
#include <imgui.h>

#include <cmath>

#include "format.h"
#include "timeline.h"

namespace gs::viewer {
namespace {

constexpr ImU32 kRulerBg = IM_COL32(30, 32, 38, 255);
constexpr ImU32 kTick = IM_COL32(170, 170, 180, 255);
constexpr ImU32 kGrid = IM_COL32(255, 255, 255, 18);

// first_tick() is the first multiple of `step` at or after `ns`.
std::int64_t first_tick(std::int64_t ns, std::int64_t step) {
  std::int64_t t = ns / step * step;
  while (t < ns) t += step;
  return t;
}

}  // namespace

std::int64_t ruler_step(double ns_per_px) {
  const double want = ns_per_px * 100;
  std::int64_t step = 1;
  for (;;) {
    for (int m : {1, 2, 5})
      if (static_cast<double>(step * m) >= want) return step * m;
    if (step > INT64_MAX / 100) return step;
    step *= 10;
  }
}

void draw_ruler(ImDrawList* dl, const TimelineFrame& f, float y0, float y1) {
  const TimeMap& m = f.map;
  dl->AddRectFilled(ImVec2(m.x0, y0), ImVec2(m.x1, y1), kRulerBg);
  const std::int64_t step = ruler_step(m.ns_per_px());
  const std::int64_t minor = step % 5 == 0 && step >= 5 ? step / 5 : step / 2 > 0 ? step / 2 : step;
  for (std::int64_t t = first_tick(m.range.begin, minor); t <= m.range.end; t += minor) {
    const float x = std::floor(m.x(t)) + 0.5f;
    const bool major = t % step == 0;
    dl->AddLine(ImVec2(x, y1 - (major ? 10.0f : 4.0f)), ImVec2(x, y1), kTick);
    if (!major) continue;
    const std::string label = format_tick(t, step);
    dl->AddText(ImVec2(x + 3, y0 + 2), kTick, label.c_str());
  }
}

void draw_grid(ImDrawList* dl, const TimelineFrame& f, float y0, float y1) {
  const TimeMap& m = f.map;
  const std::int64_t step = ruler_step(m.ns_per_px());
  for (std::int64_t t = first_tick(m.range.begin, step); t <= m.range.end; t += step) {
    const float x = std::floor(m.x(t)) + 0.5f;
    dl->AddLine(ImVec2(x, y0), ImVec2(x, y1), kGrid);
  }
}

}  // namespace gs::viewer
