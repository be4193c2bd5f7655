// viewer_frame.cpp: the CPU that greenscope-viewer spends to build one
// frame (docs/benchmarks.md, "Viewer frames"): every panel of the real
// viewer (greenscope_viewer_ui) drawn into ImGui's draw lists, with no
// window and no GL, so only the viewer's own work is timed (rendering the
// lists is the GPU's, or Mesa's, job).
//
//   gs_viewer_frame_bench FILE [FRAMES]
//
// Loads FILE into a Model, then for each view (the whole trace; 1 ms,
// 1 us windows at the trace's middle; a 10 ms window panned 1 % a frame;
// the longest stall selected) draws FRAMES frames (default 100) after 3
// unmeasured ones, and prints each view's median, 90th percentile and
// worst thread CPU time per frame, and the draw lists' vertex count.
#include <imgui.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app.h"
#include "greenscope/analysis/model.h"

namespace {

using gs::viewer::App;

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// frame() builds one frame as window.cpp's loop does, without rendering it.
int frame(App& app) {
  ImGui::NewFrame();
  app.frame_ui();
  ImGui::Render();
  return ImGui::GetDrawData()->TotalVtxCount;
}

// measure() runs `frames` frames, calling step() before each, and prints
// the CPU each took.
void measure(App& app, const char* name, int frames, const std::function<void(int)>& step) {
  for (int i = 0; i < 3; ++i) {
    step(i);
    frame(app);
  }
  std::vector<double> ms;
  int vertices = 0;
  for (int i = 0; i < frames; ++i) {
    step(3 + i);
    const double t0 = thread_cpu_ms();
    vertices = std::max(vertices, frame(app));
    ms.push_back(thread_cpu_ms() - t0);
  }
  std::sort(ms.begin(), ms.end());
  std::printf("%-34s median %6.2f ms  p90 %6.2f ms  worst %6.2f ms  (%d vertices)\n", name, ms[ms.size() / 2],
              ms[ms.size() * 9 / 10], ms.back(), vertices);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: gs_viewer_frame_bench FILE [FRAMES]\n");
    return 2;
  }
  const int frames = argc > 2 ? std::max(1, std::atoi(argv[2])) : 100;
  auto model = std::make_unique<gs::analysis::Model>();
  std::string error;
  if (!model->load(argv[1], &error)) {
    std::fprintf(stderr, "gs_viewer_frame_bench: %s\n", error.c_str());
    return 1;
  }
  std::printf("%s: %zu tracks, %zu spans, %zu greenlets, %zu stalls\n", argv[1], model->tracks.size(),
              model->span_count(), model->greenlets.size(), model->stalls.size());

  ImGui::CreateContext();
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;
  io.DisplaySize = ImVec2(1600, 1000);
  io.DeltaTime = 1.0f / 60;
  unsigned char* pixels = nullptr;
  int w = 0, h = 0;
  io.Fonts->GetTexDataAsRGBA32(&pixels, &w, &h);  // builds the font atlas, as the GL backend does
  ImGui::StyleColorsDark();
  ImGui::GetStyle().WindowRounding = 0;

  App app{gs::viewer::Options{}};
  app.show(std::move(model));
  const gs::analysis::Model& m = *app.model;
  const std::int64_t mid = m.begin_ns() + (m.end_ns() - m.begin_ns()) / 2;
  const auto window = [&app](std::int64_t begin, std::int64_t length) {
    return [&app, begin, length](int) { app.view.set({begin, begin + length}); };
  };
  const gs::viewer::Range whole = app.view.range();
  measure(app, "whole trace", frames, [&app, whole](int) { app.view.set(whole); });
  measure(app, "1 ms window", frames, window(mid, 1'000'000));
  measure(app, "1 us window", frames, window(mid, 1'000));
  measure(app, "10 ms window panned 1 % a frame", frames,
          [&app, mid](int i) { app.view.set({mid + i * 100'000LL, mid + i * 100'000LL + 10'000'000}); });
  if (app.longest_stall >= 0) {
    gs::viewer::select_stall(app, static_cast<std::size_t>(app.longest_stall), true);
    const gs::viewer::Range stall = app.view.range();
    measure(app, "longest stall selected", frames, [&app, stall](int) { app.view.set(stall); });
  }
  ImGui::DestroyContext();
  return 0;
}
