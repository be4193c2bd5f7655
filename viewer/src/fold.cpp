// fold.cpp: fold_window().
#include "fold.h"

#include <algorithm>

namespace gs::viewer {

// fold_window(): each step either emits one wide span, or grows a fold by
// at least min_ns with one binary search over the sorted ends (every span
// ending before fold end + min_ns lies inside it, since spans on a level do
// not overlap), so the steps per level are bounded by the pixels shown.
void fold_window(const analysis::SpanColumns& level, std::int64_t from, std::int64_t to, std::int64_t min_ns,
                 const std::function<void(const Block&)>& out) {
  auto [i, last] = level.window(from, to);
  min_ns = std::max<std::int64_t>(min_ns, 1);
  const auto& ends = level.end;
  while (i < last) {
    const std::int64_t b = level.begin[i], e = level.end[i];
    if (e - b >= min_ns) {
      out({i, 1, b, e});
      ++i;
      continue;
    }
    const std::size_t first = i++;
    std::int64_t fold_end = e;
    while (i < last) {
      const std::int64_t limit = fold_end + min_ns;
      const auto j = static_cast<std::size_t>(
          std::lower_bound(ends.begin() + static_cast<std::ptrdiff_t>(i), ends.begin() + static_cast<std::ptrdiff_t>(last),
                           limit) - ends.begin());
      if (j > i) {
        fold_end = ends[j - 1];
        i = j;
        continue;
      }
      // The next span ends past the limit: take it only if it is narrow and close.
      if (level.begin[i] < limit && ends[i] - level.begin[i] < min_ns) {
        fold_end = ends[i++];
        continue;
      }
      break;
    }
    out({first, i - first, b, fold_end});
  }
}

}  // namespace gs::viewer
