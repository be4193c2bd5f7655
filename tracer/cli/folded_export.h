// folded_export.h: stacks in the folded format of flamegraph.pl,
// speedscope and inferno: one line per distinct stack, "outer;...;inner N",
// frames root first, N an integer weight (here microseconds).
#pragma once

#include <climits>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "greenscope/analysis/stack_names.h"
#include "greenscope/analysis/waits.h"
#include "greenscope/traceio.h"

namespace gs::cli {

using analysis::StackNames;

enum class FoldedOf {
  Stalls,  // every stall sample, weighted by its share of its stall: duration / samples
  Waits,   // every wait that recorded a stack, weighted by its duration
};

struct FoldedOptions {
  FoldedOf of = FoldedOf::Stalls;
  // [from_ns, to_ns]: stall samples taken inside it, and the part of each
  // wait (or of a stall without samples) that overlaps it.
  std::int64_t from_ns = INT64_MIN, to_ns = INT64_MAX;
};

struct Folded {
  std::map<std::string, std::uint64_t> lines;  // folded stack -> µs; no zero weights
  std::uint64_t items = 0;     // stalls or waits that contributed
  std::uint64_t skipped = 0;   // waits without a recorded stack (not shown)
  std::uint64_t total_us() const;
};

// kNoStackFrame stands for the samples that found no usable stack, so that
// a stall's whole time shows.
inline constexpr const char* kNoStackFrame = "[no stack sampled]";

Folded fold(const traceio::Trace& trace, StackNames& names, const FoldedOptions& options);

// WaitFolder is fold() of the waits (FoldedOf::Waits) given one at a time,
// in collect_waits() order (analysis::WaitSink streams them from a scan).
class WaitFolder {
 public:
  WaitFolder(const traceio::Trace& trace, StackNames& names, const FoldedOptions& options);
  ~WaitFolder();
  void add(const analysis::Wait& w);
  Folded finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gs::cli
