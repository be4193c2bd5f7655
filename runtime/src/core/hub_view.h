// hub_view.h: what the stall monitor may read of a hub, without HubImpl
// (hub.cpp answers). The monitor sees hubs through their Beat and these
// two questions, asked by its sample signal's handler on the hub's own
// thread; the hub sees the monitor through beat.h and monitor.h.
#pragma once

namespace gs {
struct StackRange;
}

namespace gs::detail {

class HubImpl;

// running_stack() is the stack of the greenlet `hub` runs now, or null if
// none runs. Hub thread only; async-signal-safe (two loads).
const StackRange* running_stack(const HubImpl& hub) noexcept;

// unwinding_exception() is true while an exception is being thrown on the
// hub's thread (the unwinder's state is in flux: Seastar #2697). Hub
// thread only; async-signal-safe.
bool unwinding_exception(const HubImpl& hub) noexcept;

}  // namespace gs::detail
