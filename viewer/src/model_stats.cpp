// model_stats.cpp: see model_stats.h.
#include "model_stats.h"

#include <algorithm>
#include <bit>
#include <map>

namespace gs::viewer {

using analysis::SpanKind;

std::vector<CallbackStats> callback_stats(const analysis::Model& m) {
  std::map<std::string, CallbackStats> by_kind;
  for (std::uint32_t t = 0; t < m.tracks.size(); ++t) {
    const analysis::Track& track = m.tracks[t];
    if (track.type != analysis::Track::Type::Hub) continue;
    const auto own = std::min<std::uint32_t>(track.own_levels, static_cast<std::uint32_t>(track.levels.size()));
    for (std::uint32_t l = 0; l < own; ++l) {
      const analysis::SpanColumns& col = track.levels[l];
      for (std::size_t i = 0; i < col.size(); ++i) {
        if (col.kind[i] != SpanKind::Watcher && col.kind[i] != SpanKind::Callback) continue;
        const std::string kind = col.kind[i] == SpanKind::Callback
                                     ? "run_callback"
                                     : std::string(traceio::to_string(static_cast<traceio::WatcherKind>(col.code[i])));
        CallbackStats& s = by_kind[kind];
        const std::int64_t ns = col.end[i] - col.begin[i];
        s.kind = kind;
        ++s.count;
        s.total_ns += ns;
        if (s.count == 1 || ns > s.max_ns) s.max_ns = ns, s.longest = {t, l, i};
      }
    }
  }
  std::vector<CallbackStats> out;
  for (auto& [kind, s] : by_kind) out.push_back(s);
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.total_ns > b.total_ns; });
  return out;
}

void for_each_run(const analysis::Model& m, const std::function<void(const SpanRef&, std::int64_t ns)>& out) {
  for (std::uint32_t t = 0; t < m.tracks.size(); ++t) {
    const analysis::Track& track = m.tracks[t];
    if (track.type != analysis::Track::Type::Greenlet) continue;
    const auto own = std::min<std::uint32_t>(track.own_levels, static_cast<std::uint32_t>(track.levels.size()));
    for (std::uint32_t l = 0; l < own; ++l) {
      const analysis::SpanColumns& col = track.levels[l];
      for (std::size_t i = 0; i < col.size(); ++i)
        if (col.kind[i] == SpanKind::Running) out({t, l, i}, col.end[i] - col.begin[i]);
    }
  }
}

int bin_of(std::int64_t ns) {
  return static_cast<int>(std::bit_width(static_cast<std::uint64_t>(std::max<std::int64_t>(ns, 1)))) - 1;
}

RunHistogram run_histogram(const analysis::Model& m) {
  std::vector<std::uint64_t> by_bin(64, 0);
  RunHistogram h;
  for_each_run(m, [&](const SpanRef&, std::int64_t ns) {
    ++by_bin[static_cast<std::size_t>(bin_of(ns))];
    ++h.total;
  });
  std::size_t lo = 0, hi = by_bin.size();
  while (lo < hi && by_bin[lo] == 0) ++lo;
  while (hi > lo && by_bin[hi - 1] == 0) --hi;
  h.first = static_cast<int>(lo);
  h.counts.assign(by_bin.begin() + static_cast<std::ptrdiff_t>(lo), by_bin.begin() + static_cast<std::ptrdiff_t>(hi));
  return h;
}

std::vector<SpanRef> longest_runs_in(const analysis::Model& m, int bin, std::size_t n) {
  std::vector<std::pair<std::int64_t, SpanRef>> found;
  for_each_run(m, [&](const SpanRef& r, std::int64_t ns) {
    if (bin_of(ns) == bin) found.emplace_back(ns, r);
  });
  const auto keep = std::min(n, found.size());
  std::partial_sort(found.begin(), found.begin() + static_cast<std::ptrdiff_t>(keep), found.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<SpanRef> out;
  for (std::size_t i = 0; i < keep; ++i) out.push_back(found[i].second);
  return out;
}

}  // namespace gs::viewer
