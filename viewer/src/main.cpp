// main.cpp: greenscope-viewer, the timeline GUI. It reads traces through
// greenscope::analysis (over greenscope::traceio) only, never the runtime.
#include <cstdio>
#include <string>

#include "app.h"
#include "args.h"
#include "greenscope/trace_format.h"
#include "window.h"

#ifndef GS_VERSION
#define GS_VERSION "unknown"
#endif

int main(int argc, char** argv) {
  gs::viewer::Options options;
  std::string error;
  if (!gs::viewer::parse_args(argc, argv, &options, &error)) {
    std::fprintf(stderr, "greenscope-viewer: %s\n%s", error.c_str(), gs::viewer::usage_text());
    return 2;
  }
  if (options.help) {
    std::fputs(gs::viewer::usage_text(), stdout);
    return 0;
  }
  if (options.version) {
    std::printf("greenscope-viewer %s (trace format %u.%u)\n", GS_VERSION,
                static_cast<unsigned>(gs::trace_format::kFormatMajor),
                static_cast<unsigned>(gs::trace_format::kFormatMinor));
    return 0;
  }
  if (!options.screenshot.empty() && options.files.empty()) {
    std::fprintf(stderr, "greenscope-viewer: --screenshot needs a trace file to show\n");
    return 2;
  }
  gs::viewer::App app(std::move(options));
  return gs::viewer::run_window(app);
}
