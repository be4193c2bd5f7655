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
