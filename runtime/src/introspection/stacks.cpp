// stacks.cpp: greenscope/stacks.h's stacks: capture_stack, current_stack,
// greenlet_stack, format_stack. Which frames are greenscope's own, to trim,
// is hidden_frames.cpp's; format_run_info() is run_info.cpp's.
#include <algorithm>
#include <atomic>
#include <memory>

#include "greenscope/detail/own_fd_table.h"
#include "greenscope/detail/quiet_thread.h"
#include "greenscope/errors.h"
#include "greenscope/stacks.h"
#include "greenscope/symbols.h"
#include "hidden_frames.h"
#include "hub_impl.h"
#include "stack_access.h"
#include "stall_text.h"
#include "unwind.h"
#include "shown.h"

namespace gs {
namespace detail {
namespace {

// g_top_slack is how many frames of greenscope's own sat above the user's
// at the deepest call seen so far: capture_stack() asks unw_backtrace for
// that many more than `max + skip`, so that one walk is enough. It starts
// at 1 (capture_stack's own frame, a user's call) and grows to the tracer
// hooks' depth at their first call: each extra frame walked costs ~6 ns.
std::atomic<std::size_t> g_top_slack{1};

// snapshot_buffer() is this thread's copy buffer for greenlet_stack().
std::uint8_t* snapshot_buffer() {
  thread_local std::unique_ptr<std::uint8_t[]> buffer;
  if (!buffer) buffer = std::make_unique<std::uint8_t[]>(kSnapshotBytes);
  return buffer.get();
}

}  // namespace

std::string on_full_stack(const std::function<std::string()>& fn) {
  const HubImpl* hub = HubImpl::current_if_any();
  if (hub == nullptr || hub->running() == &hub->main()) return fn();
  std::string out;
  quiet_thread([&] { out = fn(); }).join();
  return out;
}

}  // namespace detail

// capture_stack(): by frame pointers in one pass where verdicts vouch for
// every frame on the way (the usual case once a wait site was seen), else
// one unw_backtrace of max + skip + the expected number of greenscope frames
// on top, walked again, deeper, only if those were more.
std::size_t capture_stack(std::uintptr_t* out, std::size_t max, std::size_t skip) noexcept {
  constexpr std::size_t kRaw = 128;
  if (max == 0) return 0;
  if (std::size_t n = 0; detail::capture_user_frames(out, std::min(max, kRaw), skip, n)) return n;
  std::uintptr_t raw[kRaw];
  std::size_t slack = detail::g_top_slack.load(std::memory_order_relaxed);
  for (;;) {
    const std::size_t want = std::min(kRaw, std::min(max, kRaw) + std::min(skip, kRaw) + slack);
    bool bottom = false;
    const std::size_t n = detail::capture_current(raw, want, 0, bottom);
    const detail::OwnFrames t = detail::trim_own_frames(raw, n, skip, bottom);
    if (t.top_hidden > slack) detail::g_top_slack.store(t.top_hidden, std::memory_order_relaxed);
    const std::size_t kept = t.last - t.first;
    const std::size_t count = std::min(kept, max);
    // Walked short: too few frames past greenscope's on top, or the last
    // one kept is greenscope's, dropped if only greenscope's frames follow
    // it to the bottom (a greenlet's entry): walk again, deeper.
    const bool short_on_top = kept < max && t.top_hidden > slack;
    const bool ends_in_own =
        count > 0 && detail::own_frame(raw[t.first + count - 1], detail::own_module_count());
    if (!bottom && want < kRaw && (short_on_top || ends_in_own)) {
      slack = short_on_top ? t.top_hidden + 8 : kRaw;
      continue;
    }
    std::copy(raw + t.first, raw + t.first + count, out);
    return count;
  }
}

StackTrace current_stack(std::size_t skip) {
  std::uintptr_t pcs[kMaxStackDepth];
  const std::size_t n = capture_stack(pcs, kMaxStackDepth, skip);
  return StackTrace(pcs, pcs + n);
}

StackTrace greenlet_stack(const GreenletInfo& g) {
  detail::HubImpl* here = detail::HubImpl::current_if_any();
  if (here == nullptr || &g.hub() != here) {
    throw UsageError("greenscope: gs::greenlet_stack() of greenlet " + detail::described(g) +
                     " was called from another thread. A greenlet's stack can only be read on its "
                     "own hub's thread: call it there (e.g. from gs::run_callback_threadsafe(its_hub, "
                     "...)), or use gs::format_run_info(), which asks every hub.");
  }
  if (!g.started() || g.state() == GreenletState::Dead) return {};
  const auto& base = static_cast<const detail::GreenletBase&>(g);
  if (here->running() == &base) return current_stack();
  const void* ctx = detail::StackAccess::saved_context(base);
  if (ctx == nullptr) return {};
  detail::Snapshot snap;
  snap.bytes = detail::snapshot_buffer();
  snap.capacity = detail::kSnapshotBytes;
  if (!detail::snapshot_suspended(ctx, g.stack(), snap)) return {};
  constexpr std::size_t kRaw = kMaxStackDepth + 32;
  std::uintptr_t raw[kRaw];
  const std::size_t n = detail::unwind_snapshot(snap, raw, kRaw);
  const detail::OwnFrames t = detail::trim_own_frames(raw, n, 0, n < kRaw);
  return StackTrace(raw + t.first, raw + t.first + std::min(t.last - t.first, kMaxStackDepth));
}

std::string format_stack(const StackTrace& stack, const std::string& indent) {
  if (stack.empty()) return {};
  return detail::on_full_stack([&] {
    std::string text;
    const std::shared_ptr<symbols::Symbolizer> symbolizer = detail::symbolizer_for_this_thread();
    for (std::size_t i = 0; i < stack.size(); ++i) {
      const std::uintptr_t pc = stack[i];
      text += indent + "#" + std::to_string(i) + " ";
      text += symbolizer ? symbols::describe(pc, symbolizer->lookup(pc)) : symbols::describe(pc, {});
      text += '\n';
    }
    return text;
  });
}

// format_run_info() lives in run_info.cpp.

}  // namespace gs
