// model_levels.cpp: pack_own_levels(), pack_extra_levels() (model_levels.h)
// and SpanColumns::window() (model.h).
#include "model_levels.h"

#include <algorithm>
#include <iterator>
#include <tuple>

namespace gs::analysis {

std::pair<std::size_t, std::size_t> SpanColumns::window(std::int64_t from, std::int64_t to) const {
  // Spans on a level do not overlap, so ends are sorted like begins: the
  // first span ending after `from`, then the first from there beginning at
  // or after `to`.
  const auto first = std::upper_bound(end.begin(), end.end(), from) - end.begin();
  const auto last = std::lower_bound(begin.begin() + first, begin.end(), to) - begin.begin();
  return {static_cast<std::size_t>(first), static_cast<std::size_t>(std::max(first, last))};
}

namespace detail {

namespace {

bool by_time(const PendingSpan& x, const PendingSpan& y) {
  return std::tie(x.begin, x.end, x.order) < std::tie(y.begin, y.end, y.order);
}

void shrink(std::vector<SpanColumns>& levels) {
  for (SpanColumns& c : levels) {
    c.begin.shrink_to_fit();
    c.end.shrink_to_fit();
    c.kind.shrink_to_fit();
    c.code.shrink_to_fit();
    c.info.shrink_to_fit();
    c.clipped.shrink_to_fit();
  }
}

// BusyLevel is one level of the stall area while it is packed: spans come
// in any order, so it keeps them in a set to find neighbours.
class BusyLevel {
 public:
  bool fits(std::int64_t b, std::int64_t e) const {
    auto it = spans_.lower_bound({b, INT64_MIN});
    if (it != spans_.begin() && overlaps(b, e, std::prev(it)->first, std::prev(it)->second)) return false;
    for (; it != spans_.end() && it->first < e; ++it)
      if (overlaps(b, e, it->first, it->second)) return false;
    return true;
  }
  void add(std::int64_t b, std::int64_t e) { spans_.emplace(b, e); }

 private:
  std::set<std::pair<std::int64_t, std::int64_t>> spans_;
};

}  // namespace

void append_span(SpanColumns& c, const PendingSpan& s) {
  c.begin.push_back(s.begin);
  c.end.push_back(s.end);
  c.kind.push_back(s.kind);
  c.code.push_back(s.code);
  c.info.push_back(s.info);
  c.clipped.push_back(s.clipped);
}

std::vector<SpanColumns> pack_own_levels(std::vector<PendingSpan> spans) {
  // In begin order a level's latest end is its last span's: one compare.
  // A greenlet's runs and waits come sorted already (they alternate).
  if (!std::is_sorted(spans.begin(), spans.end(), by_time)) std::sort(spans.begin(), spans.end(), by_time);
  std::vector<SpanColumns> levels;
  for (const PendingSpan& s : spans) {
    std::size_t level = s.level;
    while (level < levels.size() && !levels[level].end.empty() && levels[level].end.back() > s.begin) ++level;
    if (level >= levels.size()) levels.resize(level + 1);
    append_span(levels[level], s);
  }
  shrink(levels);
  return levels;
}

std::vector<SpanColumns> pack_extra_levels(std::vector<PendingSpan> spans) {
  std::stable_sort(spans.begin(), spans.end(), [](const PendingSpan& x, const PendingSpan& y) {
    const bool xs = x.kind == SpanKind::Stall, ys = y.kind == SpanKind::Stall;
    return xs != ys ? xs : by_time(x, y);
  });
  std::vector<BusyLevel> busy;
  std::vector<std::vector<PendingSpan>> placed;  // [0]: the track's last level
  for (const PendingSpan& s : spans) {
    std::size_t level = 0;
    while (level < busy.size() && !busy[level].fits(s.begin, s.end)) ++level;
    if (level == busy.size()) {
      busy.emplace_back();
      placed.emplace_back();
    }
    busy[level].add(s.begin, s.end);
    placed[level].push_back(s);
  }
  std::vector<SpanColumns> levels(placed.size());
  for (std::size_t i = 0; i < placed.size(); ++i) {
    std::sort(placed[i].begin(), placed[i].end(), by_time);
    for (const PendingSpan& s : placed[i]) append_span(levels[placed.size() - 1 - i], s);
  }
  shrink(levels);
  return levels;
}

}  // namespace detail

}  // namespace gs::analysis
