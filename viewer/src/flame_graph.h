// flame_graph.h: a stall's stack samples merged into a flame graph (an
// icicle: the outermost frame on top, callees below, each box as wide as
// the share of samples that passed through it), as the details panel shows
// it above the list of distinct stacks.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "greenscope/analysis/model.h"

namespace gs::viewer {

// FlameNode is one box: a function, the samples through it, its callees.
struct FlameNode {
  std::string name;
  std::size_t samples = 0;
  std::vector<FlameNode> children;  // most samples first
};

// frame_names() turns frame_lines() into one name per frame, outermost
// first: a frame's innermost scope ("spin" of "#0 spin (x.cpp:3) [inlined]").
std::vector<std::string> frame_names(const std::vector<std::string>& lines);

// build_flame() merges stacks (distinct stack id, samples) of one process.
FlameNode build_flame(const analysis::Model& m, std::uint32_t process,
                      const std::vector<std::pair<std::uint64_t, std::size_t>>& stacks);

// draw_flame_graph() draws `root`'s children across the panel's width; a
// hover shows a box's whole name and its samples.
void draw_flame_graph(const FlameNode& root);

}  // namespace gs::viewer
