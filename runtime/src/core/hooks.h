// hooks.h: the switch path's hooks (hub.cpp), turned on by the observer
// and by the stall monitor (monitor.cpp), which sees no more of the hub.
#pragma once

#include <atomic>
#include <cstdint>

namespace gs::detail {

// g_hooks says whether the switch path must leave its fast lane: bit 0, an
// observer is installed; bit 1, the stall monitor stamps switches. One load
// and branch per switch when both are off.
inline constexpr std::uint8_t kHookObserver = 1, kHookMonitor = 2;
extern std::atomic<std::uint8_t> g_hooks [[gnu::visibility("hidden")]];
inline bool hooks_on() { return g_hooks.load(std::memory_order_relaxed) != 0; }
void set_hook(std::uint8_t bit, bool on);

}  // namespace gs::detail
