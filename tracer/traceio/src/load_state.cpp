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

void LoadState::use_stack(std::uint64_t id, std::uint64_t offset) {
  if (id == 0 || stacks.contains(id)) return;
  if (missing_stacks.empty()) first_missing_stack_offset = offset;
  missing_stacks.insert(id);
}

std::uint64_t LoadState::add_synthetic_stack(std::vector<std::uint64_t> frames) {
  while (stacks.contains(next_synthetic_stack)) --next_synthetic_stack;
  const std::uint64_t id = next_synthetic_stack--;
  stacks.emplace(id, std::move(frames));
  return id;
}

}  // namespace gs::traceio::detail
