// flame_graph.cpp: see flame_graph.h.
#include "flame_graph.h"

#include <imgui.h>

#include <algorithm>
#include <functional>

#include "colors.h"

namespace gs::viewer {
namespace {

constexpr float kBoxHeight = 17;
constexpr std::size_t kMaxDepth = 64;  // deeper frames are left out (a runaway recursion)

// add_path() adds `count` samples along `names` (outermost first).
void add_path(FlameNode& root, const std::vector<std::string>& names, std::size_t count) {
  root.samples += count;
  FlameNode* at = &root;
  for (std::size_t d = 0; d < names.size() && d < kMaxDepth; ++d) {
    auto it = std::find_if(at->children.begin(), at->children.end(),
                           [&](const FlameNode& n) { return n.name == names[d]; });
    if (it == at->children.end()) {
      at->children.push_back(FlameNode{names[d], 0, {}});
      it = at->children.end() - 1;
    }
    it->samples += count;
    at = &*it;
  }
}

void sort_children(FlameNode& n) {
  std::stable_sort(n.children.begin(), n.children.end(),
                   [](const FlameNode& a, const FlameNode& b) { return a.samples > b.samples; });
  for (FlameNode& c : n.children) sort_children(c);
}

int depth_of(const FlameNode& n) {
  int d = 0;
  for (const FlameNode& c : n.children) d = std::max(d, 1 + depth_of(c));
  return d;
}

// box_color() is a warm hue hashed from the name, as flame graphs colour.
ImU32 box_color(const std::string& name) {
  const std::size_t h = std::hash<std::string>()(name);
  const int r = 200 + static_cast<int>(h % 55), g = 90 + static_cast<int>((h >> 8) % 110), b = 40 + static_cast<int>((h >> 16) % 40);
  return IM_COL32(r, g, b, 255);
}

void draw_level(ImDrawList* dl, const FlameNode& n, float x, float width, float y, std::size_t total) {
  float cx = x;
  for (const FlameNode& c : n.children) {
    const float w = width * static_cast<float>(c.samples) / static_cast<float>(n.samples);
    const ImVec2 a(cx, y), b(cx + std::max(w - 1, 1.0f), y + kBoxHeight - 1);
    dl->AddRectFilled(a, b, box_color(c.name));
    if (w > 30) {
      dl->PushClipRect(a, b, true);
      dl->AddText(ImVec2(a.x + 3, a.y + 1), IM_COL32(20, 20, 20, 255), c.name.c_str());
      dl->PopClipRect();
    }
    if (ImGui::IsMouseHoveringRect(a, b))
      ImGui::SetTooltip("%s\n%zu of %zu samples (%.0f%%)", c.name.c_str(), c.samples, total,
                        100.0 * static_cast<double>(c.samples) / static_cast<double>(total));
    draw_level(dl, c, cx, w, y + kBoxHeight, total);
    cx += w;
  }
}

}  // namespace

std::vector<std::string> frame_names(const std::vector<std::string>& lines) {
  std::vector<std::string> names;
  for (const std::string& line : lines) {
    if (line.empty() || line[0] != '#') continue;  // an inlined scope's caller line: the frame has its name
    const auto space = line.find(' ');
    std::string name = space == std::string::npos ? line : line.substr(space + 1);
    // "func (file:line) [inlined]" -> "func": the last " (" that opens the location.
    const auto paren = name.rfind(" (");
    if (paren != std::string::npos && paren > 0) name.resize(paren);
    names.push_back(name);
  }
  std::reverse(names.begin(), names.end());  // lines are innermost first
  return names;
}

FlameNode build_flame(const analysis::Model& m, std::uint32_t process,
                      const std::vector<std::pair<std::uint64_t, std::size_t>>& stacks) {
  FlameNode root{"all samples", 0, {}};
  for (const auto& [stack, count] : stacks) {
    std::vector<std::string> names = stack == 0 ? std::vector<std::string>{} : frame_names(m.frame_lines(process, stack));
    if (names.empty()) names = {"(no stack)"};
    add_path(root, names, count);
  }
  sort_children(root);
  return root;
}

void draw_flame_graph(const FlameNode& root) {
  if (root.samples == 0) return;
  const float width = std::max(ImGui::GetContentRegionAvail().x, 100.0f);
  const ImVec2 at = ImGui::GetCursorScreenPos();
  const int depth = depth_of(root);
  ImGui::Dummy(ImVec2(width, static_cast<float>(depth) * kBoxHeight));
  if (!ImGui::IsItemVisible()) return;
  draw_level(ImGui::GetWindowDrawList(), root, at.x, width, at.y, root.samples);
}

}  // namespace gs::viewer
