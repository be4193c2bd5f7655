// search.cpp: search_model(). Stacks are symbolized once per search and
// stack (many waits share a stack), so a search costs one pass over the
// waits plus one frame_lines() per distinct stack.
#include "search.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>

#include "format.h"
#include "span_text.h"

namespace gs::viewer {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// StackMatcher answers "does this stack have a frame matching the query",
// and with which line, caching per (process, stack).
class StackMatcher {
 public:
  StackMatcher(const analysis::Model& m, std::string query) : m_(m), query_(std::move(query)) {}
  // match() is the first matching frame line, or nothing.
  std::optional<std::string> match(std::uint32_t process, std::uint64_t stack) {
    if (stack == 0) return std::nullopt;
    const auto key = std::make_pair(process, stack);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
    std::optional<std::string> found;
    for (const std::string& line : m_.frame_lines(process, stack))
      if (lower(line).find(query_) != std::string::npos) {
        found = line;
        break;
      }
    cache_.emplace(key, found);
    return found;
  }

 private:
  const analysis::Model& m_;
  std::string query_;
  std::map<std::pair<std::uint32_t, std::uint64_t>, std::optional<std::string>> cache_;
};

struct Collector {
  std::vector<SearchHit> hits;
  bool more = false;
  bool add(Selection what, std::string text) {
    if (hits.size() >= kMaxHits) return more = true, false;
    hits.push_back({what, std::move(text)});
    return true;
  }
};

void search_greenlets(const analysis::Model& m, const std::string& q, Collector& c) {
  for (std::size_t i = 0; i < m.greenlets.size(); ++i) {
    const analysis::GreenletSummary& g = m.greenlets[i];
    if (lower(m.text(g.name)).find(q) == std::string::npos) continue;
    if (!c.add({Selection::Kind::Greenlet, 0, 0, i}, "greenlet " + greenlet_label(m, g.process, g.id))) return;
  }
}

// search_stalls() lists matching stalls longest first, as the stalls panel does.
void search_stalls(const analysis::Model& m, StackMatcher& sm, Collector& c) {
  std::vector<std::size_t> order(m.stalls.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&m](std::size_t a, std::size_t b) { return m.stalls[a].duration_ns > m.stalls[b].duration_ns; });
  for (const std::size_t i : order) {
    const std::uint32_t process = i < m.stall_process.size() ? m.stall_process[i] : 0;
    std::set<std::uint64_t> seen;
    for (const traceio::StallSampleInfo& s : m.stalls[i].samples) {
      if (!seen.insert(s.stack).second) continue;
      if (auto line = sm.match(process, s.stack)) {
        if (!c.add({Selection::Kind::Stall, 0, 0, i},
                   "stall " + format_duration(m.stalls[i].duration_ns) + " (" + stall_culprit(m, i) + "): " + *line))
          return;
        break;
      }
    }
  }
}

void search_crashes(const analysis::Model& m, StackMatcher& sm, Collector& c) {
  for (std::size_t i = 0; i < m.crashes.size(); ++i) {
    const std::uint32_t process = i < m.crash_process.size() ? m.crash_process[i] : 0;
    if (auto line = sm.match(process, m.crashes[i].stack))
      if (!c.add({Selection::Kind::Crash, 0, 0, i}, "crash " + signal_name(m.crashes[i].signal) + ": " + *line)) return;
  }
}

// search_waits() looks at every span that carries a stack: waits and
// blocking calls.
void search_waits(const analysis::Model& m, StackMatcher& sm, Collector& c) {
  for (std::uint32_t t = 0; t < m.tracks.size(); ++t) {
    const analysis::Track& track = m.tracks[t];
    for (std::uint32_t l = 0; l < track.levels.size(); ++l) {
      const analysis::SpanColumns& col = track.levels[l];
      for (std::size_t i = 0; i < col.size(); ++i) {
        const std::uint64_t stack = m.infos[col.info[i]].stack;
        if (stack == 0) continue;
        auto line = sm.match(track.process, stack);
        if (!line) continue;
        const std::string what = std::string(kind_name(col.kind[i])) + " " + span_label(m, track, col, i);
        if (!c.add({Selection::Kind::Span, t, l, i}, what + " at " + format_time(col.begin[i]) + ": " + *line)) return;
      }
    }
  }
}

}  // namespace

std::vector<SearchHit> search_model(const analysis::Model& m, const std::string& query, bool* more) {
  const std::string q = lower(query);
  Collector c;
  StackMatcher sm(m, q);
  search_greenlets(m, q, c);
  search_stalls(m, sm, c);
  search_crashes(m, sm, c);
  search_waits(m, sm, c);
  *more = c.more;
  return std::move(c.hits);
}

}  // namespace gs::viewer
