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

}  // namespace gs::traceio
