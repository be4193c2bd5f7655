// model_query.cpp: what the viewer asks the Model (model.h): texts,
// greenlets, stacks and their names, its extent and its size.
#include <algorithm>
#include <climits>
#include <tuple>

#include "greenscope/safe_text.h"
#include "model_impl.h"

namespace gs::analysis {

namespace {

template <typename T>
std::size_t bytes(const std::vector<T>& v) {
  return v.capacity() * sizeof(T);
}

std::size_t bytes(const SpanColumns& c) {
  return bytes(c.begin) + bytes(c.end) + bytes(c.kind) + bytes(c.code) + bytes(c.info) + c.clipped.capacity() / 8;
}

std::size_t bytes(const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 : 0; }

// trace_bytes() estimates one kept trace: its events, stacks and symbols
// (a map node is about 64 bytes besides what it holds).
std::size_t trace_bytes(const traceio::Trace& t) {
  std::size_t n = sizeof t + t.greenlets().size() * (64 + sizeof(traceio::GreenletInfo));
  for (const traceio::ThreadInfo& th : t.threads()) n += sizeof th + bytes(th.events);
  for (const auto& [id, stack] : t.stacks()) n += 64 + bytes(stack);
  return n + t.symbol_count() * 128 + t.modules().size() * sizeof(traceio::ModuleInfo);
}

}  // namespace

std::int64_t Model::begin_ns() const {
  std::int64_t begin = INT64_MAX;
  for (const Track& t : tracks)
    for (const SpanColumns& level : t.levels)
      if (level.size() != 0) begin = std::min(begin, level.begin.front());
  for (const ProcessSummary& p : processes) begin = std::min(begin, p.begin_ns);
  return begin == INT64_MAX ? 0 : begin;
}

std::int64_t Model::end_ns() const {
  std::int64_t end = INT64_MIN;
  for (const Track& t : tracks)
    for (const SpanColumns& level : t.levels)
      if (level.size() != 0) end = std::max(end, level.end.back());
  for (const ProcessSummary& p : processes) end = std::max(end, p.end_ns);
  return end == INT64_MIN ? 0 : end;
}

const std::string& Model::text(std::uint32_t id) const {
  return id < impl_->texts.size() ? impl_->texts[id] : impl_->texts.front();
}

namespace {
// printable_ascii() is true when `s` holds only ' ' to '~': nothing to fix.
bool printable_ascii(const std::string& s) {
  for (const char c : s)
    if (static_cast<unsigned char>(c) - 0x20u >= 0x5Fu) return false;
  return true;
}
}  // namespace

std::uint32_t Model::intern(const std::string& raw) {
  // The table holds text to draw (Dear ImGui wants UTF-8, and a name is one
  // line): what is not printable UTF-8 is stored as U+FFFD.
  std::string fixed;
  const std::string& s = printable_ascii(raw) ? raw : (fixed = traceio::valid_utf8(raw));
  Impl& impl = *impl_;
  if (const auto it = impl.ids.find(s); it != impl.ids.end()) return it->second;
  const auto id = static_cast<std::uint32_t>(impl.texts.size());
  impl.texts.push_back(s);
  impl.ids.emplace(impl.texts.back(), id);
  return id;
}

const GreenletSummary* Model::greenlet(std::uint32_t process, std::uint64_t id) const {
  const auto it = std::lower_bound(greenlets.begin(), greenlets.end(), std::tuple(process, id),
                                   [](const GreenletSummary& g, const std::tuple<std::uint32_t, std::uint64_t>& key) {
                                     return std::tuple(g.process, g.id) < key;
                                   });
  return it != greenlets.end() && it->process == process && it->id == id ? &*it : nullptr;
}

const std::vector<std::uint64_t>* Model::stack(std::uint32_t process, std::uint64_t id) const {
  if (process >= impl_->processes.size()) return nullptr;
  return impl_->processes[process].trace->stack(id);
}

std::vector<std::string> Model::frame_lines(std::uint32_t process, std::uint64_t stack_id) const {
  if (process >= impl_->processes.size()) return {"(no process " + std::to_string(process) + " in the model)"};
  const std::lock_guard lock(impl_->names_mutex);
  Impl::Process& p = impl_->processes[process];
  if (p.names == nullptr) p.names = std::make_unique<StackNames>(*p.trace);
  std::vector<std::string> lines = p.names->lines(stack_id);
  for (std::string& line : lines)  // function names and paths from the trace, drawn as text
    if (!printable_ascii(line)) line = traceio::valid_utf8(line);
  return lines;
}

StallSummary Model::stall_summary(std::size_t i) const {
  if (i >= stalls.size()) return {};
  const std::uint32_t process = i < stall_process.size() ? stall_process[i] : 0;
  if (process >= impl_->processes.size()) return {};
  const std::lock_guard lock(impl_->names_mutex);
  const traceio::StallInfo& s = stalls[i];
  if (const auto it = impl_->stall_summaries.find(i);
      it != impl_->stall_summaries.end() && it->second.samples == s.samples.size() && it->second.has_end == s.has_end)
    return it->second.summary;
  Impl::Process& p = impl_->processes[process];
  if (p.names == nullptr) p.names = std::make_unique<StackNames>(*p.trace);
  StallSummary summary = summarize_stall(*p.trace, *p.names, s);
  for (symbols::FunctionRow& r : summary.functions.rows)  // names from the trace, drawn as text
    if (!printable_ascii(r.function)) r.function = traceio::valid_utf8(r.function);
  impl_->stall_summaries[i] = Impl::KeptSummary{s.samples.size(), s.has_end, summary};
  return summary;
}

std::vector<SwitchLink> Model::switch_links(std::int64_t from, std::int64_t to) const {
  std::vector<SwitchLink> links;
  for (const detail::SwitchStore& s : impl_->switches) s.collect(from, to, links);
  // Collected thread by thread, in the model's thread order: a stable sort
  // leaves equal times in that order.
  std::stable_sort(links.begin(), links.end(),
                   [](const SwitchLink& x, const SwitchLink& y) { return x.time_ns < y.time_ns; });
  return links;
}

std::vector<SwitchLink> Model::switch_links_of(std::uint32_t track, std::int64_t from, std::int64_t to,
                                               std::size_t max) const {
  std::vector<SwitchLink> links;
  if (track >= tracks.size() || tracks[track].thread >= impl_->switches.size()) return links;
  impl_->switches[tracks[track].thread].collect_touching(track, from, to, max, links);
  return links;
}

std::size_t Model::switch_count() const {
  std::size_t n = 0;
  for (const detail::SwitchStore& s : impl_->switches) n += s.size();
  return n;
}

std::size_t Model::span_count() const {
  std::size_t n = 0;
  for (const Track& t : tracks)
    for (const SpanColumns& level : t.levels) n += level.size();
  return n;
}

std::size_t Model::resident_bytes() const {
  std::size_t n = sizeof *this + sizeof(Impl) + retained_trace_bytes();
  for (const ProcessSummary& p : processes) n += bytes(p.problems) + bytes(p.threads);
  n += bytes(processes) + bytes(threads) + bytes(tracks) + bytes(greenlets) + bytes(infos);
  for (const ThreadSummary& t : threads) n += bytes(t.greenlet_tracks);
  for (const Track& t : tracks) {
    n += bytes(t.levels);
    for (const SpanColumns& level : t.levels) n += bytes(level);
  }
  n += bytes(stalls) + bytes(stall_process) + bytes(crashes) + bytes(crash_process) + bytes(run_infos) +
       bytes(run_info_process);
  for (const traceio::StallInfo& s : stalls) n += bytes(s.samples);
  for (const traceio::RunInfoDump& r : run_infos) n += bytes(r.text) + bytes(r.trigger);
  for (const std::string& s : impl_->texts) n += sizeof s + bytes(s) + 32;  // 32: its entry in the ids
  for (const detail::SwitchStore& s : impl_->switches) n += s.bytes();
  return n;
}

std::size_t Model::retained_trace_bytes() const {
  std::size_t n = 0;
  for (const Impl::Process& p : impl_->processes) n += trace_bytes(*p.trace);
  return n;
}

}  // namespace gs::analysis
