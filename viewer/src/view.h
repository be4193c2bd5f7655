// view.h: what the user looks at: the visible time range with its
// back/forward history, and the selected item.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace gs::viewer {

struct Range {
  std::int64_t begin = 0, end = 1;
  std::int64_t length() const { return end - begin; }
  bool operator==(const Range&) const = default;
};

// TimeView is the visible range plus a browser-like history of ranges.
class TimeView {
 public:
  const Range& range() const { return range_; }
  // reset() shows `r` with an empty history (a newly loaded trace).
  void reset(Range r);
  // set() changes the range without a history entry (wheel, drag, keys).
  void set(Range r);
  // jump() changes the range as one step the user can go back from.
  void jump(Range r);
  // commit() records the range as a history step (the start of a drag).
  void commit();
  bool can_back() const { return at_ > 0 || range_ != history_[at_]; }
  bool can_forward() const { return at_ + 1 < history_.size(); }
  void back();
  void forward();
  // zoom() scales the range by `factor` (< 1 zooms in) around `center_ns`.
  void zoom(double factor, std::int64_t center_ns);
  void pan(std::int64_t delta_ns) { set({range_.begin + delta_ns, range_.end + delta_ns}); }
  // limits() bounds every range: at least 100 ns, at most 4x the trace.
  void set_limits(std::int64_t begin, std::int64_t end);

 private:
  Range clamp(Range r) const;

  Range range_{0, 1'000'000};
  std::vector<Range> history_{Range{0, 1'000'000}};
  std::size_t at_ = 0;
  std::int64_t min_ns_ = 0, max_ns_ = 1'000'000;
};

// Selection is the item the details panel describes.
struct Selection {
  enum class Kind : std::uint8_t { None, Span, Stall, Crash, Greenlet, RunInfo };
  Kind kind = Kind::None;
  std::uint32_t track = 0, level = 0;  // Span: where it is
  std::size_t index = 0;               // Span: in its level; else index into the model's list
  bool operator==(const Selection&) const = default;
};

const char* to_string(Selection::Kind kind);

}  // namespace gs::viewer
