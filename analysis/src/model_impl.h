// model_impl.h: Model::Impl, what the Model keeps besides its public tables:
// the traces (for stacks and symbols), their StackNames, the string table
// and the wall-clock time the axis starts at. Private to greenscope::analysis.
#pragma once

#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "greenscope/analysis/model.h"
#include "greenscope/analysis/stack_names.h"
#include "greenscope/analysis/stall_model.h"
#include "switch_store.h"

namespace gs::analysis {

struct Model::Impl {
  struct Process {
    std::shared_ptr<const traceio::Trace> trace;
    std::unique_ptr<StackNames> names;  // made by the first frame_lines() on it
  };

  Impl() { ids.emplace(texts.front(), 0); }

  std::vector<Process> processes;  // as Model::processes
  std::vector<detail::SwitchStore> switches;  // as Model::threads
  // texts: a deque, so that text() references and the ids' views stay valid
  // as it grows.
  std::deque<std::string> texts{std::string()};
  std::unordered_map<std::string_view, std::uint32_t> ids;
  // base_wall_ns: the wall-clock time of the axis' 0, the earliest start of
  // the traces that know theirs.
  bool have_base = false;
  std::int64_t base_wall_ns = 0;
  // names_mutex: frame_lines() and stall_summary() are const, but fill
  // StackNames' caches and stall_summaries.
  std::mutex names_mutex;
  // stall_summaries: by index in Model::stalls, with the samples and end
  // they were made from (a followed trace's stall grows).
  struct KeptSummary {
    std::size_t samples = 0;
    bool has_end = false;
    StallSummary summary;
  };
  std::unordered_map<std::size_t, KeptSummary> stall_summaries;
};

}  // namespace gs::analysis
