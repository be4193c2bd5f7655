// model_build.h: one trace into the Model's tables. Private to
// greenscope::analysis; Model::add() calls it and owns placing the trace on
// the time axis and undoing a cancelled build.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "greenscope/analysis/model.h"
#include "switch_store.h"

namespace gs::analysis::detail {

// BuildProgress is told the fraction of threads built; false cancels.
using BuildProgress = std::function<bool(double done)>;

// build_trace() appends `trace` to `model` as its next process, every time
// moved by `offset_ns`: the process, its threads, tracks, greenlets, span
// infos, stalls, crashes and run infos. Its switches go to `switches`, one
// store per thread it added, for the caller to keep. False when cancelled: the model then
// holds part of the trace, which the caller takes back out.
// Threads build on up to one worker per core; progress is told on the
// calling thread. thread_done(index), if given, is told each thread's
// index once its events have been read (Model::load() releases them then),
// on the worker that read them: calls for different threads can overlap.
bool build_trace(Model& model, const traceio::Trace& trace, std::int64_t offset_ns, const BuildProgress& progress,
                 std::vector<SwitchStore>* switches, const std::function<void(std::uint32_t)>& thread_done = {});

// valid_text() makes a run-info dump's trigger and text valid UTF-8 to draw
// (traceio::valid_utf8(); the text keeps its lines), as Model::intern()
// does for names. Load and follow both call it.
void valid_text(traceio::RunInfoDump& dump);

}  // namespace gs::analysis::detail
