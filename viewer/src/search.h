// search.h: find greenlets by name and stack frames by function name in
// every stack the model holds: waits and blocking calls, stall samples,
// crashes. The search panel shows the hits; each selects its item.
#pragma once

#include <string>
#include <vector>

#include "app.h"

namespace gs::viewer {

inline constexpr std::size_t kMaxHits = 500;

// search_model() lists what matches `query` (case-insensitive substring),
// greenlets first, then stalls, crashes and waits in model order; `more`
// is set when hits past kMaxHits were left off.
std::vector<SearchHit> search_model(const analysis::Model& m, const std::string& query, bool* more);

}  // namespace gs::viewer
