// stall_model.h: the numbers behind `greenscope stalls`, as plain structs
// computed from a trace by pure functions (the viewer can show the same):
// stalls grouped by where they spent their time, blocking calls grouped by
// call and stack, loop lag per thread.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "greenscope/function_summary.h"
#include "greenscope/traceio.h"
#include "greenscope/analysis/stack_names.h"

namespace gs::analysis {

// StackKeys gives every stack id a key that stacks through the same
// functions share: the first id seen with the same folded form (function
// names, root first). Stall samples interrupt at any instruction, so two
// samples of one hot loop differ in frame 0's address but not in where in
// the code they are. 0 for id 0, a lost or an empty stack.
class StackKeys {
 public:
  StackKeys(const traceio::Trace& trace, StackNames& names) : trace_(trace), names_(names) {}
  std::uint64_t key(std::uint64_t stack_id);
  StackNames& names() { return names_; }

 private:
  const traceio::Trace& trace_;
  StackNames& names_;
  std::unordered_map<std::uint64_t, std::uint64_t> keys_;      // stack id -> key
  std::unordered_map<std::string, std::uint64_t> by_folded_;  // folded form -> key
};

// SampleCount is how many samples found one stack (key; 0: no usable stack).
struct SampleCount {
  std::uint64_t stack = 0;
  std::uint64_t samples = 0;
};

// sample_counts() counts a stall's samples by stack key, most first (ties:
// the first sampled).
std::vector<SampleCount> sample_counts(const traceio::StallInfo& stall, StackKeys& keys);

// StallGroup is the stalls whose most sampled stack is the same: one place
// in the code that keeps hubs from their loops.
struct StallGroup {
  std::uint64_t stack = 0;  // the key stack (StackKeys); 0: no sample of them had a usable stack
  std::vector<const traceio::StallInfo*> stalls;  // longest first
  std::int64_t total_ns = 0, max_ns = 0;
  std::uint64_t cpu_bound = 0, blocked = 0, kind_unknown = 0;  // by StallKind; kind_unknown: no StallEnd
  // verdicts: verdict::short_text() of each stall ("cpu-bound", "blocked in
  // read", "mixed"...) with its count, most first.
  std::vector<std::pair<std::string, std::uint64_t>> verdicts;
  std::uint64_t unfinished = 0;                                // still going when the trace ended
  std::vector<std::pair<std::string, std::uint64_t>> culprits;  // culprit_name(), stalls; most first
  std::uint64_t samples = 0;                // all samples of its stalls
  std::vector<SampleCount> sample_stacks;   // every stack its samples found, most first
  symbols::FunctionSummary functions;       // all its samples by function
};

// BlockingGroup is the blocking calls of one call at one stack.
struct BlockingGroup {
  std::string call;         // "fsync()"
  std::uint64_t stack = 0;  // key
  std::uint64_t count = 0;
  std::int64_t total_ns = 0, max_ns = 0;
};

// LagRow is one thread's loop lag.
struct LagRow {
  std::uint32_t thread = 0;
  std::uint64_t count = 0;
  std::int64_t total_ns = 0, max_ns = 0;
};

struct StallModel {
  std::size_t stalls = 0;           // kept by the filter
  std::size_t filtered_out = 0;     // shorter than the minimum
  std::int64_t total_ns = 0, max_ns = 0;
  std::size_t unfinished = 0;
  std::vector<StallGroup> groups;   // by total time, most first
  std::vector<BlockingGroup> blocking;  // by total time
  std::vector<LagRow> lags;             // by thread
};

// StallEvents is what build_stall_model() reads from the events (blocking
// calls, loop lag), gathered as they stream by: a traceio::scan() sink, or
// fed by hand, threads in index order. It keeps sums, never events.
class StallEvents final : public traceio::EventSink {
 public:
  void events(const traceio::ThreadInfo& thread, std::span<const traceio::Event> events) override;

 private:
  friend StallModel build_stall_model(const traceio::Trace&, const StallEvents&, StackKeys&, std::int64_t);
  // Calls sums the blocking calls of one call text at one stack id; kept in
  // the order each first occurred, the order stack keys are handed out in.
  struct Calls {
    std::uint32_t call = 0;   // Trace::text() id
    std::uint64_t stack = 0;  // stack id
    std::uint64_t count = 0;
    std::int64_t total_ns = 0, max_ns = 0;
  };
  std::vector<Calls> calls_;
  std::map<std::pair<std::uint32_t, std::uint64_t>, std::size_t> call_index_;
  std::map<std::uint32_t, LagRow> lags_;  // by thread
};

// build_stall_model() keeps the stalls of at least `min_ns`.
StallModel build_stall_model(const traceio::Trace& trace, StackKeys& keys, std::int64_t min_ns);
// This one takes the events' part from `events` (the trace's own are not read).
StallModel build_stall_model(const traceio::Trace& trace, const StallEvents& events, StackKeys& keys,
                             std::int64_t min_ns);

// sampled_stack() names a stack's frames for a function summary: one frame
// per scope, innermost first, with its module's path (empty for id 0 or a
// lost stack).
symbols::SampledStack sampled_stack(const traceio::Trace& trace, StackNames& names, std::uint64_t stack_id);

// function_summary() sums a stall's samples up by function: inclusive and
// self counts, led by the program's own code (symbols/function_summary.h).
symbols::FunctionSummary function_summary(const traceio::Trace& trace, StackNames& names,
                                          const traceio::StallInfo& stall);

// StallSummary is one stall in a line: its verdict and its functions.
struct StallSummary {
  verdict::Verdict verdict;           // traceio::stall_verdict(trace, stall)
  symbols::FunctionSummary functions;
  // line(): "cpu-bound, in zz_compress_archive (zz.cpp:31) on 126 of 126
  // samples; self: memset (libc.so.6) 61 %..."
  std::string line() const;
};
StallSummary summarize_stall(const traceio::Trace& trace, StackNames& names, const traceio::StallInfo& stall);

// culprit_name() says what held the thread: "worker-3#12", "the hub",
// "a run_callback() callback", "a timer watcher's callback".
std::string culprit_name(const traceio::Trace& trace, const traceio::StallInfo& stall);

}  // namespace gs::analysis
