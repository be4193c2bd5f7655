#include "load_state.h"

#include <utility>

namespace gs::traceio::detail {

std::uint32_t Texts::intern(std::string_view text) {
  if (const auto it = index_.find(text); it != index_.end()) return it->second;
  const auto index = static_cast<std::uint32_t>(texts_.size());
  texts_.emplace_back(text);
  index_.emplace(texts_.back(), index);
  return index;
}

void LoadState::problem(std::uint64_t offset, std::string message) {
  if (problems.size() >= kMaxProblems) {
    ++problems_suppressed;
    return;
  }
  problems.push_back(Problem{offset, std::move(message)});
}

ThreadInfo& LoadState::thread(std::uint32_t index) {
  auto [it, added] = threads.try_emplace(index);
  if (added) {
    it->second.index = index;
    it->second.name = "thread " + std::to_string(index);
  }
  return it->second;
}

}  // namespace gs::traceio::detail
