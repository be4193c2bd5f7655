#include <algorithm>

#include "greenscope/traceio.h"

namespace gs::traceio {

const std::string& Trace::text(std::uint32_t id) const {
  return id < texts_.size() ? texts_[id] : texts_[0];
}

std::string Trace::greenlet_name(std::uint64_t id) const {
  const auto it = greenlets_.find(id);
  return it != greenlets_.end() ? it->second.name : "#" + std::to_string(id);
}

const ThreadInfo* Trace::thread(std::uint32_t index) const {
  const auto it =
      std::lower_bound(threads_.begin(), threads_.end(), index,
                       [](const ThreadInfo& t, std::uint32_t i) { return t.index < i; });
  return it != threads_.end() && it->index == index ? &*it : nullptr;
}

std::uint64_t ThreadInfo::wait_stack(std::size_t at) const {
  if (at == 0 || at >= events.size()) return 0;
  const Event& sw = events[at];
  const Event& before = events[at - 1];
  if (sw.type != EventType::Switch || before.type != EventType::WaitStack) return 0;
  return before.greenlet == sw.a ? before.a : 0;
}

void Trace::release_events() {
  for (ThreadInfo& t : threads_) std::vector<Event>().swap(t.events);
}

void Trace::release_events(std::uint32_t index) {
  for (ThreadInfo& t : threads_)
    if (t.index == index) std::vector<Event>().swap(t.events);
}

// without_events() copies the thread list's headers only: copying the
// Trace and releasing afterwards would hold the events twice meanwhile.
std::unique_ptr<Trace> Trace::without_events() const {
  auto copy = std::make_unique<Trace>();
  copy->path_ = path_;
  copy->process_ = process_;
  copy->threads_.reserve(threads_.size());
  for (const ThreadInfo& t : threads_) {
    ThreadInfo header;
    header.index = t.index;
    header.os_tid = t.os_tid;
    header.name = t.name;
    header.has_hub = t.has_hub;
    header.hub_greenlet = t.hub_greenlet;
    header.main_greenlet = t.main_greenlet;
    header.event_total = t.event_total;
    copy->threads_.push_back(std::move(header));
  }
  copy->greenlets_ = greenlets_;
  copy->texts_ = texts_;
  copy->problems_ = problems_;
  copy->stats_ = stats_;
  copy->begin_ns_ = begin_ns_;
  copy->end_ns_ = end_ns_;
  copy->modules_ = modules_;
  copy->stacks_ = stacks_;
  copy->symbols_ = symbols_;
  copy->run_infos_ = run_infos_;
  copy->stalls_ = stalls_;
  copy->crashes_ = crashes_;
  return copy;
}

std::size_t Trace::event_count() const {
  std::size_t n = 0;
  for (const ThreadInfo& t : threads_) n += t.events.size();
  return n;
}

const ModuleInfo* Trace::module_at(std::uint64_t address) const {
  const ModuleInfo* found = nullptr;
  for (const ModuleInfo& m : modules_)
    if (address >= m.lo && address < m.hi) found = &m;  // modules_ is by id: the last is the latest loaded
  return found;
}

const std::vector<std::uint64_t>* Trace::stack(std::uint64_t id) const {
  const auto it = stacks_.find(id);
  return id != 0 && it != stacks_.end() ? &it->second : nullptr;
}

const std::vector<SymbolScope>* Trace::symbols(std::uint64_t address) const {
  const auto it = symbols_.find(address);
  return it != symbols_.end() ? &it->second : nullptr;
}

}  // namespace gs::traceio
