// view.cpp: TimeView's history and limits.
#include "view.h"

#include <algorithm>
#include <cmath>

namespace gs::viewer {

void TimeView::set_limits(std::int64_t begin, std::int64_t end) {
  min_ns_ = begin;
  max_ns_ = std::max(end, begin + 1000);
}

// clamp() keeps the range at least 100 ns wide and at most four traces
// wide, and near the trace, so that no key press loses it for good.
Range TimeView::clamp(Range r) const {
  const std::int64_t span = max_ns_ - min_ns_;
  std::int64_t len = std::clamp<std::int64_t>(r.length(), 100, 4 * span);
  if (len != r.length()) {
    const std::int64_t mid = r.begin + r.length() / 2;
    r = {mid - len / 2, mid - len / 2 + len};
  }
  const std::int64_t lo = min_ns_ - span, hi = max_ns_ + span;
  if (r.begin < lo) r = {lo, lo + len};
  if (r.end > hi) r = {hi - len, hi};
  return r;
}

void TimeView::set(Range r) { range_ = clamp(r); }

void TimeView::reset(Range r) {
  set(r);
  history_.assign(1, range_);
  at_ = 0;
}

void TimeView::commit() {
  if (history_[at_] == range_) return;
  history_.resize(at_ + 1);
  history_.push_back(range_);
  at_ = history_.size() - 1;
}

void TimeView::jump(Range r) {
  commit();
  set(r);
  commit();
}

void TimeView::back() {
  commit();
  if (at_ == 0) return;
  range_ = history_[--at_];
}

void TimeView::forward() {
  if (!can_forward()) return;
  range_ = history_[++at_];
}

void TimeView::zoom(double factor, std::int64_t center_ns) {
  const double len = static_cast<double>(range_.length());
  const double left = static_cast<double>(center_ns - range_.begin) / len;
  const double new_len = std::max(100.0, len * factor);
  const auto begin = center_ns - static_cast<std::int64_t>(std::llround(left * new_len));
  set({begin, begin + static_cast<std::int64_t>(std::llround(new_len))});
}

const char* to_string(Selection::Kind kind) {
  switch (kind) {
    case Selection::Kind::None: return "none";
    case Selection::Kind::Span: return "span";
    case Selection::Kind::Stall: return "stall";
    case Selection::Kind::Crash: return "crash";
    case Selection::Kind::Greenlet: return "greenlet";
    case Selection::Kind::RunInfo: return "run-info";
  }
  return "?";
}

}  // namespace gs::viewer
