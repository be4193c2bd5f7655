// fuzz_load.cpp: libFuzzer over load() (inputs framed by fuzz_frame.h).
// load() must return a trace or an error, never crash.
#include <cstdint>
#include <string>

#include "fuzz_frame.h"
#include "greenscope/trace_format.h"
#include "greenscope/traceio.h"

namespace tf = gs::trace_format;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = gs::fuzz::write_input(data, size);
  if (path.empty()) return 0;
  const gs::traceio::LoadResult r = gs::traceio::load(path);
  if (r.trace == nullptr && r.error.empty()) __builtin_trap();
  if (r.trace != nullptr) {
    for (const gs::traceio::StallInfo& s : r.trace->stalls())
      if (s.duration_ns < 0) __builtin_trap();
    for (const auto& [id, frames] : r.trace->stacks())
      if (frames.size() > tf::kMaxStackFrames) __builtin_trap();
  }
  return 0;
}
