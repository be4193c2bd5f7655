// stall_model.cpp: build_stall_model() (stall_model.h).
#include "greenscope/analysis/stall_model.h"

#include <algorithm>
#include <tuple>
#include <unordered_map>

#include "greenscope/analysis/labels.h"

namespace gs::analysis {

using traceio::EventType;
using traceio::StallInfo;
using traceio::StallKind;
using traceio::StallOwner;

std::uint64_t StackKeys::key(std::uint64_t stack_id) {
  if (const auto it = keys_.find(stack_id); it != keys_.end()) return it->second;
  const auto* stack = trace_.stack(stack_id);
  const std::uint64_t key =
      stack == nullptr || stack->empty() ? 0 : by_folded_.try_emplace(names_.folded(*stack), stack_id).first->second;
  keys_.emplace(stack_id, key);
  return key;
}

namespace {

// add_count() adds `samples` to the entry for `stack`, appending one (so
// that `counts` stays in order of first appearance) if there is none.
void add_count(std::vector<SampleCount>& counts, std::unordered_map<std::uint64_t, std::size_t>& index,
               std::uint64_t stack, std::uint64_t samples) {
  const auto [it, added] = index.try_emplace(stack, counts.size());
  if (added) counts.push_back(SampleCount{stack, 0});
  counts[it->second].samples += samples;
}

}  // namespace

std::vector<SampleCount> sample_counts(const StallInfo& stall, StackKeys& keys) {
  std::vector<SampleCount> counts;
  std::unordered_map<std::uint64_t, std::size_t> index;
  for (const traceio::StallSampleInfo& s : stall.samples) add_count(counts, index, keys.key(s.stack), 1);
  std::stable_sort(counts.begin(), counts.end(), [](const SampleCount& x, const SampleCount& y) {
    // A usable stack outranks "no stack" at equal counts: it is the better key.
    return std::tuple(x.samples, x.stack != 0) > std::tuple(y.samples, y.stack != 0);
  });
  return counts;
}

std::string culprit_name(const traceio::Trace& trace, const StallInfo& stall) {
  if (!stall.has_begin) return "(unknown: its begin was lost)";
  switch (stall.owner) {
    case StallOwner::Greenlet:
      return stall.greenlet != 0 ? greenlet_label(trace, stall.greenlet) : std::string("a greenlet");
    case StallOwner::Hub: return "the hub";
    case StallOwner::Callback: return "a run_callback() callback";
    case StallOwner::Watcher: return "a " + std::string(traceio::to_string(stall.watcher)) + " watcher's callback";
  }
  return "(unknown owner)";
}

namespace {

// key_stack() is the stall's most sampled usable stack, 0 if none.
std::uint64_t key_stack(const std::vector<SampleCount>& counts) {
  for (const SampleCount& c : counts)
    if (c.stack != 0) return c.stack;
  return 0;
}

// GroupBuilder is a group being filled, with the index of its sample stacks.
struct GroupBuilder {
  StallGroup group;
  std::unordered_map<std::uint64_t, std::size_t> stack_index;
};

void add_to_group(GroupBuilder& b, const traceio::Trace& trace, const StallInfo& s,
                  const std::vector<SampleCount>& counts) {
  StallGroup& g = b.group;
  g.stalls.push_back(&s);
  g.total_ns += s.duration_ns;
  g.max_ns = std::max(g.max_ns, s.duration_ns);
  if (!s.has_end) ++g.kind_unknown;
  else if (s.kind == StallKind::Blocked) ++g.blocked;
  else ++g.cpu_bound;
  const std::string verdict =
      s.has_end ? verdict::short_text(traceio::stall_verdict(trace, s)) : std::string("not known (no end recorded)");
  auto v = std::find_if(g.verdicts.begin(), g.verdicts.end(), [&](const auto& p) { return p.first == verdict; });
  if (v == g.verdicts.end()) v = g.verdicts.insert(g.verdicts.end(), {verdict, 0});
  ++v->second;
  if (!s.ended()) ++g.unfinished;
  const std::string culprit = culprit_name(trace, s);
  auto c = std::find_if(g.culprits.begin(), g.culprits.end(), [&](const auto& p) { return p.first == culprit; });
  if (c == g.culprits.end()) c = g.culprits.insert(g.culprits.end(), {culprit, 0});
  ++c->second;
  g.samples += s.samples.size();
  for (const SampleCount& sc : counts) add_count(g.sample_stacks, b.stack_index, sc.stack, sc.samples);
}

// finish_group() orders a group's lists: stalls longest first, culprits and
// stacks most first, the key stack leading its stacks.
void finish_group(StallGroup& g) {
  std::stable_sort(g.stalls.begin(), g.stalls.end(),
                   [](const StallInfo* x, const StallInfo* y) { return x->duration_ns > y->duration_ns; });
  std::stable_sort(g.culprits.begin(), g.culprits.end(),
                   [](const auto& x, const auto& y) { return x.second > y.second; });
  std::stable_sort(g.verdicts.begin(), g.verdicts.end(),
                   [](const auto& x, const auto& y) { return x.second > y.second; });
  std::stable_sort(g.sample_stacks.begin(), g.sample_stacks.end(), [&g](const SampleCount& x, const SampleCount& y) {
    return std::tuple(x.stack == g.stack, x.samples) > std::tuple(y.stack == g.stack, y.samples);
  });
}

symbols::FunctionSummary group_functions(const traceio::Trace& trace, StackNames& names, const StallGroup& g);

// blocking_groups() merges the calls of one text at stacks of one key.
std::vector<BlockingGroup> blocking_groups(const std::vector<BlockingGroup>& calls) {
  std::map<std::pair<std::string, std::uint64_t>, BlockingGroup> groups;
  for (const BlockingGroup& c : calls) {
    BlockingGroup& g = groups[{c.call, c.stack}];
    g.call = c.call.empty() ? "(unknown call)" : c.call;
    g.stack = c.stack;
    g.count += c.count;
    g.total_ns += c.total_ns;
    g.max_ns = std::max(g.max_ns, c.max_ns);
  }
  std::vector<BlockingGroup> out;
  for (auto& [key, g] : groups) out.push_back(std::move(g));
  std::stable_sort(out.begin(), out.end(),
                   [](const BlockingGroup& x, const BlockingGroup& y) { return x.total_ns > y.total_ns; });
  return out;
}

}  // namespace

void StallEvents::events(const traceio::ThreadInfo& thread, std::span<const traceio::Event> events) {
  for (const traceio::Event& e : events) {
    if (e.type == EventType::BlockingCall) {
      const auto [it, added] = call_index_.try_emplace({e.str, e.a}, calls_.size());
      if (added) calls_.push_back(Calls{e.str, e.a});
      Calls& c = calls_[it->second];
      ++c.count;
      const auto ns = static_cast<std::int64_t>(e.b);
      c.total_ns += ns;
      c.max_ns = std::max(c.max_ns, ns);
    } else if (e.type == EventType::LoopLag) {
      LagRow& row = lags_[thread.index];
      row.thread = thread.index;
      ++row.count;
      row.total_ns += e.c;
      row.max_ns = std::max(row.max_ns, e.c);
    }
  }
}

StallModel build_stall_model(const traceio::Trace& trace, StackKeys& keys, std::int64_t min_ns) {
  StallEvents events;
  for (const traceio::ThreadInfo& th : trace.threads()) events.events(th, th.events);
  return build_stall_model(trace, events, keys, min_ns);
}

StallModel build_stall_model(const traceio::Trace& trace, const StallEvents& events, StackKeys& keys,
                             std::int64_t min_ns) {
  StallModel model;
  std::map<std::uint64_t, GroupBuilder> groups;  // by key stack
  for (const StallInfo& s : trace.stalls()) {
    if (s.duration_ns < min_ns) {
      ++model.filtered_out;
      continue;
    }
    ++model.stalls;
    model.total_ns += s.duration_ns;
    model.max_ns = std::max(model.max_ns, s.duration_ns);
    if (!s.ended()) ++model.unfinished;
    const std::vector<SampleCount> counts = sample_counts(s, keys);
    const std::uint64_t key = key_stack(counts);
    GroupBuilder& b = groups[key];
    b.group.stack = key;
    add_to_group(b, trace, s, counts);
  }
  for (auto& [key, b] : groups) {
    finish_group(b.group);
    b.group.functions = group_functions(trace, keys.names(), b.group);
    model.groups.push_back(std::move(b.group));
  }
  std::stable_sort(model.groups.begin(), model.groups.end(), [](const StallGroup& x, const StallGroup& y) {
    return std::tuple(x.total_ns, x.max_ns) > std::tuple(y.total_ns, y.max_ns);
  });
  // Stack keys go to the calls' stacks in the order the events first used them.
  std::vector<BlockingGroup> calls;
  for (const StallEvents::Calls& c : events.calls_)
    calls.push_back(BlockingGroup{trace.text(c.call), keys.key(c.stack), c.count, c.total_ns, c.max_ns});
  model.blocking = blocking_groups(calls);
  for (const auto& [thread, row] : events.lags_) model.lags.push_back(row);
  return model;
}

}  // namespace gs::analysis

namespace gs::analysis {

symbols::SampledStack sampled_stack(const traceio::Trace& trace, StackNames& names, std::uint64_t stack_id) {
  symbols::SampledStack out;
  const auto* stack = stack_id == 0 ? nullptr : trace.stack(stack_id);
  if (stack == nullptr) return out;
  for (const std::uint64_t address : *stack) {
    const traceio::ModuleInfo* m = trace.module_at(address);
    const std::string module = m != nullptr ? m->path : std::string();
    const AddressName& n = names.name(address);
    if (n.scopes.empty()) {
      out.push_back({n.fallback, "", 0, module});
      continue;
    }
    for (const traceio::SymbolScope& s : n.scopes)
      out.push_back({s.function.empty() ? n.fallback : s.function, s.file, s.line, module});
  }
  return out;
}

namespace {

void add_samples(symbols::FunctionSummaryBuilder& b, const traceio::Trace& trace, StackNames& names,
                 const StallInfo& stall, std::unordered_map<std::uint64_t, symbols::SampledStack>& named) {
  for (const traceio::StallSampleInfo& s : stall.samples) {
    auto it = named.find(s.stack);
    if (it == named.end()) it = named.emplace(s.stack, sampled_stack(trace, names, s.stack)).first;
    b.add(it->second);
  }
}

}  // namespace

symbols::FunctionSummary function_summary(const traceio::Trace& trace, StackNames& names, const StallInfo& stall) {
  symbols::FunctionSummaryBuilder b;
  std::unordered_map<std::uint64_t, symbols::SampledStack> named;
  add_samples(b, trace, names, stall, named);
  return b.finish();
}

std::string StallSummary::line() const {
  std::string out = verdict::short_text(verdict);
  if (functions.samples > 0) out += ", in " + functions.line();
  return out;
}

StallSummary summarize_stall(const traceio::Trace& trace, StackNames& names, const StallInfo& stall) {
  return StallSummary{traceio::stall_verdict(trace, stall), function_summary(trace, names, stall)};
}

namespace {

// group_functions() sums up every sample of a group's stalls.
symbols::FunctionSummary group_functions(const traceio::Trace& trace, StackNames& names, const StallGroup& g) {
  symbols::FunctionSummaryBuilder b;
  std::unordered_map<std::uint64_t, symbols::SampledStack> named;
  for (const StallInfo* s : g.stalls) add_samples(b, trace, names, *s, named);
  return b.finish();
}

}  // namespace

}  // namespace gs::analysis
