// fuzz_model_load.cpp: libFuzzer over the loading path the viewer and the
// CLI take: Model::load() (inputs framed as tests/traceio/fuzz_frame.h
// does), then every query the viewer makes of a loaded model, and the CLI's
// report and stall models over traceio::load(), and the viewer's live path:
// analysis::Follow reading the same file in 4 KiB pieces. Nothing may crash, and a
// loaded model must keep the invariants the timeline's binary searches rely
// on (model.h): on every level, begins and ends sorted, no overlap, every
// index in range. A broken invariant traps, as a crash would.
#include <algorithm>
#include <cstdint>
#include <string>

#include "fuzz_frame.h"
#include "greenscope/analysis/model.h"
#include "greenscope/analysis/report_model.h"
#include "greenscope/analysis/stack_names.h"
#include "greenscope/analysis/stall_model.h"
#include "greenscope/traceio.h"

namespace {

using gs::analysis::Model;
using gs::analysis::SpanColumns;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void check_level(const Model& m, const SpanColumns& l) {
  const std::size_t n = l.size();
  check(l.end.size() == n && l.kind.size() == n && l.code.size() == n && l.info.size() == n && l.clipped.size() == n);
  for (std::size_t i = 0; i < n; ++i) {
    check(l.begin[i] <= l.end[i]);
    check(l.info[i] < m.infos.size());
    check(static_cast<std::size_t>(l.kind[i]) < gs::analysis::kSpanKindCount);
    if (i > 0) check(l.begin[i - 1] <= l.begin[i] && l.end[i - 1] <= l.begin[i]);
  }
  if (n > 0) {  // a window is what the viewer asks for: its bounds must hold
    const auto [first, last] = l.window(l.begin[n / 2], l.end[n / 2] + 1);
    check(first <= last && last <= n);
  }
}

void check_model(const Model& m) {
  for (const gs::analysis::Track& t : m.tracks) {
    check(t.process < m.processes.size() && t.thread < m.threads.size());
    check(t.own_levels <= t.levels.size());
    for (const SpanColumns& l : t.levels) check_level(m, l);
  }
  for (const gs::analysis::ThreadSummary& t : m.threads) {
    check(t.hub_track == UINT32_MAX || t.hub_track < m.tracks.size());
    check(t.worker_track == UINT32_MAX || t.worker_track < m.tracks.size());
    for (const std::uint32_t g : t.greenlet_tracks) check(g < m.tracks.size());
  }
  for (const gs::analysis::GreenletSummary& g : m.greenlets) {
    check(g.track == UINT32_MAX || g.track < m.tracks.size());
    check(g.process < m.processes.size());
    (void)m.text(g.name);
  }
  const auto links = m.switch_links();
  check(links.size() == m.switch_count());
  for (std::size_t i = 0; i < links.size(); ++i) {
    check(links[i].from_track < m.tracks.size() && links[i].to_track < m.tracks.size());
    if (i > 0) check(links[i - 1].time_ns <= links[i].time_ns);
  }
  for (std::size_t i = 0; i < m.stalls.size(); ++i) {
    check(m.stall_process[i] < m.processes.size());
    for (const gs::traceio::StallSampleInfo& s : m.stalls[i].samples) (void)m.frame_lines(m.stall_process[i], s.stack);
  }
  for (std::size_t i = 0; i < m.crashes.size(); ++i) (void)m.frame_lines(m.crash_process[i], m.crashes[i].stack);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = gs::fuzz::write_input(data, size);
  if (path.empty()) return 0;
  Model m;
  std::string error;
  if (m.load(path, &error)) {
    check_model(m);
  } else {
    check(!error.empty() && m.tracks.empty() && m.processes.empty());
  }
  // The live path: the file followed a piece at a time, as --follow reads a
  // growing one; its model keeps the same invariants.
  {
    Model followed;
    gs::analysis::Follow follow(followed, path);
    for (int polls = 0; polls < 100000; ++polls) {
      if (!follow.update(4096).empty() || follow.at_end()) break;
    }
    check_model(followed);
  }
  // The CLI's models, over the same file.
  const gs::traceio::LoadResult r = gs::traceio::load(path);
  if (r.trace != nullptr) {
    (void)gs::analysis::build_report(*r.trace);
    gs::analysis::StackNames names(*r.trace);
    gs::analysis::StackKeys keys(*r.trace, names);
    (void)gs::analysis::build_stall_model(*r.trace, keys, 0);
  }
  return 0;
}
