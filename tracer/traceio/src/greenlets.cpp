// greenlets.cpp: GreenletTable (greenlets.h) and build_greenlets().
#include "greenlets.h"

namespace gs::traceio::detail {
namespace {

std::string default_name(std::uint64_t id) { return "Greenlet-" + std::to_string(id); }

}  // namespace

void GreenletTable::add(std::uint32_t thread, const Event& e) {
  switch (e.type) {
    case EventType::Spawn: return spawn(thread, e);
    case EventType::Rename: return rename(thread, e.a, texts_.at(e.str));
    case EventType::Exit: return exit(thread, e);
    case EventType::HubStart: return hub_start(thread, e);
    case EventType::Switch:
      seen(thread, e.a);
      seen(thread, e.b);
      return;
    default: return;
  }
}

// touch() is the entry for `id`, created (as alive since before the trace)
// when the id first shows up. Id 0 means "unknown": it gets none.
GreenletInfo* GreenletTable::touch(std::uint32_t thread, std::uint64_t id) {
  if (id == 0) return nullptr;
  auto [it, added] = greenlets_.try_emplace(id);
  if (added) {
    it->second.id = id;
    it->second.name = default_name(id);
    it->second.thread = thread;
  }
  if (touched_ != nullptr && (added || touched_->empty() || touched_->back() != id)) touched_->push_back(id);
  return &it->second;
}

// seen() is touch() for the ids of switches, most of which are known
// already: a small cache of recent ids spares the map lookup.
void GreenletTable::seen(std::uint32_t thread, std::uint64_t id) {
  std::uint64_t& slot = recent_[id % recent_.size()];
  if (slot == id) return;
  slot = id;
  if (id == 0 || greenlets_.contains(id)) return;
  touch(thread, id);
}

void GreenletTable::spawn(std::uint32_t thread, const Event& e) {
  GreenletInfo* g = touch(thread, e.a);
  if (g == nullptr) return;
  g->spawner = e.b;
  g->spawn_ns = e.time_ns;
  g->thread = thread;
  if (e.str != 0) g->name = texts_.at(e.str);
}

void GreenletTable::rename(std::uint32_t thread, std::uint64_t id, const std::string& name) {
  GreenletInfo* g = touch(thread, id);
  if (g != nullptr) g->name = name.empty() ? default_name(id) : name;
}

void GreenletTable::exit(std::uint32_t thread, const Event& e) {
  GreenletInfo* g = touch(thread, e.a);
  if (g == nullptr) return;
  g->exit_ns = e.time_ns;
  g->exit_kind = static_cast<ExitKind>(e.code);
  g->error = texts_.at(e.str);
}

// hub_start() names the thread's hub (which starts now) and its main
// greenlet (which ran before the trace did).
void GreenletTable::hub_start(std::uint32_t thread, const Event& e) {
  rename(thread, e.a, "hub");
  rename(thread, e.b, "main");
  if (GreenletInfo* hub = touch(thread, e.a)) hub->spawn_ns = e.time_ns;
}

std::map<std::uint64_t, GreenletInfo> build_greenlets(const LoadState& state) {
  std::map<std::uint64_t, GreenletInfo> greenlets;
  GreenletTable table(state.texts, greenlets);
  for (const auto& [index, thread] : state.threads) {
    for (const Event& e : thread.events) table.add(index, e);
  }
  return greenlets;
}

}  // namespace gs::traceio::detail
