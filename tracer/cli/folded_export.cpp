// folded_export.cpp: fold() (folded_export.h).
#include "folded_export.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "greenscope/analysis/waits.h"

namespace gs::cli {

// The model behind this command lives in greenscope::analysis (shared with the viewer).
using analysis::Wait;
using analysis::collect_waits;

namespace {

std::uint64_t us(std::int64_t ns) { return ns <= 0 ? 0 : static_cast<std::uint64_t>(std::llround(ns / 1e3)); }

std::int64_t overlap(std::int64_t begin, std::int64_t end, const FoldedOptions& o) {
  return std::max<std::int64_t>(0, std::min(end, o.to_ns) - std::max(begin, o.from_ns));
}

// FoldedStacks names each stack id once: a trace has far more samples and
// waits than distinct stacks. "" for id 0, a lost or an empty stack.
class FoldedStacks {
 public:
  FoldedStacks(const traceio::Trace& trace, StackNames& names) : trace_(trace), names_(names) {}

  const std::string& of(std::uint64_t stack_id) {
    const auto it = cache_.find(stack_id);
    if (it != cache_.end()) return it->second;
    const auto* stack = trace_.stack(stack_id);
    return cache_.emplace(stack_id, stack == nullptr ? std::string() : names_.folded(*stack)).first->second;
  }

 private:
  const traceio::Trace& trace_;
  StackNames& names_;
  std::unordered_map<std::uint64_t, std::string> cache_;
};

// StallFolder splits each stall's duration, in whole µs, over its samples
// (the first ones taking the remainder), so that a stall's lines sum to it.
class StallFolder {
 public:
  StallFolder(const traceio::Trace& trace, StackNames& names, const FoldedOptions& o, Folded& out)
      : stacks_(trace, names), o_(o), out_(out) {}

  void add(const traceio::StallInfo& s) {
    const std::uint64_t total = us(s.duration_ns);
    if (s.samples.empty()) {
      const std::uint64_t part = us(overlap(s.start_ns, s.start_ns + s.duration_ns, o_));
      if (part > 0) ++out_.items;
      add_line(kNoStackFrame, part);
      return;
    }
    const std::uint64_t n = s.samples.size(), each = total / n, extra = total % n;
    bool counted = false;
    for (std::uint64_t i = 0; i < n; ++i) {
      const traceio::StallSampleInfo& sample = s.samples[i];
      if (sample.time_ns < o_.from_ns || sample.time_ns > o_.to_ns) continue;
      if (!counted) ++out_.items;
      counted = true;
      const std::string& frames = stacks_.of(sample.stack);
      add_line(frames.empty() ? kNoStackFrame : frames, each + (i < extra ? 1 : 0));
    }
  }

 private:
  void add_line(const std::string& line, std::uint64_t weight) {
    if (weight > 0) out_.lines[line] += weight;
  }

  FoldedStacks stacks_;
  const FoldedOptions& o_;
  Folded& out_;
};

}  // namespace

std::uint64_t Folded::total_us() const {
  std::uint64_t total = 0;
  for (const auto& [line, weight] : lines) total += weight;
  return total;
}

struct WaitFolder::Impl {
  Impl(const traceio::Trace& trace, StackNames& names, const FoldedOptions& options)
      : o(options), stacks(trace, names) {}
  const FoldedOptions o;
  FoldedStacks stacks;
  Folded out;
  std::map<std::string, std::int64_t> ns;  // summed in ns, rounded once per line
};

WaitFolder::WaitFolder(const traceio::Trace& trace, StackNames& names, const FoldedOptions& options)
    : impl_(std::make_unique<Impl>(trace, names, options)) {}

WaitFolder::~WaitFolder() = default;

void WaitFolder::add(const Wait& w) {
  Impl& m = *impl_;
  const std::int64_t part = overlap(w.begin_ns, w.end_ns, m.o);
  if (part <= 0 && !(w.begin_ns == w.end_ns && w.begin_ns >= m.o.from_ns && w.begin_ns <= m.o.to_ns)) return;
  const std::string& frames = m.stacks.of(w.stack);
  if (frames.empty()) {
    ++m.out.skipped;
    return;
  }
  ++m.out.items;
  m.ns[frames] += part;
}

Folded WaitFolder::finish() {
  Impl& m = *impl_;
  for (const auto& [line, total] : m.ns)
    if (us(total) > 0) m.out.lines[line] = us(total);
  return std::move(m.out);
}

Folded fold(const traceio::Trace& trace, StackNames& names, const FoldedOptions& options) {
  Folded out;
  if (options.of == FoldedOf::Waits) {
    WaitFolder folder(trace, names, options);
    for (const Wait& w : collect_waits(trace)) folder.add(w);
    return folder.finish();
  }
  StallFolder folder(trace, names, options, out);
  for (const traceio::StallInfo& s : trace.stalls()) folder.add(s);
  return out;
}

}  // namespace gs::cli
