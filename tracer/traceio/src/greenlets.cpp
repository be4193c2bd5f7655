// greenlets.cpp: one GreenletInfo per greenlet id, from the lifecycle
// events of every thread (a greenlet lives on one thread).
#include <array>
#include <string>

#include "load_state.h"

namespace gs::traceio::detail {
namespace {

class GreenletTable {
 public:
  explicit GreenletTable(const LoadState& state) : state_(state) {}

  void add(std::uint32_t thread, const Event& e) {
    switch (e.type) {
      case EventType::Spawn: return spawn(thread, e);
      case EventType::Rename: return rename(thread, e.a, state_.texts.at(e.str));
      case EventType::Exit: return exit(thread, e);
      case EventType::HubStart: return hub_start(thread, e);
      case EventType::Switch:
        seen(thread, e.a);
        seen(thread, e.b);
        return;
      default: return;
    }
  }

  std::map<std::uint64_t, GreenletInfo> take() { return std::move(greenlets_); }

 private:
  static std::string default_name(std::uint64_t id) { return "Greenlet-" + std::to_string(id); }

  // touch() is the entry for `id`, created (as alive since before the
  // trace) when the id first shows up. Id 0 means "unknown": it gets none.
  GreenletInfo* touch(std::uint32_t thread, std::uint64_t id) {
    if (id == 0) return nullptr;
    auto [it, added] = greenlets_.try_emplace(id);
    if (added) {
      it->second.id = id;
      it->second.name = default_name(id);
      it->second.thread = thread;
    }
    return &it->second;
  }

  // seen() is touch() for the ids of switches, most of which are known
  // already: a small cache of recent ids spares the map lookup.
  void seen(std::uint32_t thread, std::uint64_t id) {
    std::uint64_t& slot = recent_[id % recent_.size()];
    if (slot == id) return;
    slot = id;
    touch(thread, id);
  }

  void spawn(std::uint32_t thread, const Event& e) {
    GreenletInfo* g = touch(thread, e.a);
    if (g == nullptr) return;
    g->spawner = e.b;
    g->spawn_ns = e.time_ns;
    g->thread = thread;
    if (e.str != 0) g->name = state_.texts.at(e.str);
  }

  void rename(std::uint32_t thread, std::uint64_t id, const std::string& name) {
    GreenletInfo* g = touch(thread, id);
    if (g != nullptr) g->name = name.empty() ? default_name(id) : name;
  }

  void exit(std::uint32_t thread, const Event& e) {
    GreenletInfo* g = touch(thread, e.a);
    if (g == nullptr) return;
    g->exit_ns = e.time_ns;
    g->exit_kind = static_cast<ExitKind>(e.code);
    g->error = state_.texts.at(e.str);
  }

  // hub_start() names the thread's hub (which starts now) and its main
  // greenlet (which ran before the trace did).
  void hub_start(std::uint32_t thread, const Event& e) {
    rename(thread, e.a, "hub");
    rename(thread, e.b, "main");
    if (GreenletInfo* hub = touch(thread, e.a)) hub->spawn_ns = e.time_ns;
  }

  const LoadState& state_;
  std::map<std::uint64_t, GreenletInfo> greenlets_;
  std::array<std::uint64_t, 256> recent_{};  // ids known to have an entry (0: none)
};

}  // namespace

std::map<std::uint64_t, GreenletInfo> build_greenlets(const LoadState& state) {
  GreenletTable table(state);
  for (const auto& [index, thread] : state.threads) {
    for (const Event& e : thread.events) table.add(index, e);
  }
  return table.take();
}

}  // namespace gs::traceio::detail
