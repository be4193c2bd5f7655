// model_stats.h: figures the panels need that the Model does not keep,
// computed from its public data (the analysis model is another engineer's:
// this stays in the viewer until it belongs there).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "greenscope/analysis/model.h"

namespace gs::viewer {

// SpanRef is one span: where it is.
struct SpanRef {
  std::uint32_t track = 0, level = 0;
  std::size_t index = 0;
};

// CallbackStats is one kind of hub callback: a watcher kind, or run_callback().
struct CallbackStats {
  std::string kind;            // "io", "timer", ..., "run_callback"
  std::uint64_t count = 0;
  std::int64_t total_ns = 0, max_ns = 0;
  SpanRef longest;             // the longest one, to jump to
};

// callback_stats() sums every hub's Watcher and Callback spans by kind,
// most total time first.
std::vector<CallbackStats> callback_stats(const analysis::Model& m);

// for_each_run() calls `out` with every Running span of every greenlet row.
void for_each_run(const analysis::Model& m, const std::function<void(const SpanRef&, std::int64_t ns)>& out);

// RunHistogram counts runs by length in powers of two: bin i holds runs of
// [2^(first + i), 2^(first + i + 1)) ns (runs under 1 ns count as 1 ns).
struct RunHistogram {
  int first = 0;
  std::vector<std::uint64_t> counts;
  std::uint64_t total = 0;
};

RunHistogram run_histogram(const analysis::Model& m);
// bin_of() is a run's bin exponent: floor(log2(max(ns, 1))).
int bin_of(std::int64_t ns);
// longest_runs_in() is up to `n` runs of exponent `bin`, longest first.
std::vector<SpanRef> longest_runs_in(const analysis::Model& m, int bin, std::size_t n);

}  // namespace gs::viewer
