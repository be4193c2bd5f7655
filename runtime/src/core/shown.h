// shown.h: names the program gave (greenlets, threads) as the runtime's own
// stderr shows them. A name may hold anything (NUL, ESC, invalid UTF-8: a
// greenlet named after a request's path); stall reports, run-info dumps and
// crash reports print control characters and bad bytes as \xNN, as the CLI
// does, so that no name can move the cursor or rewrite the terminal.
#pragma once

#include <string>
#include <string_view>

#include "greenscope/detail/greenlet_base.h"
#include "greenscope/safe_text.h"  // header-only, shared with the trace reader

namespace gs::detail {

inline std::string shown(std::string_view name) { return traceio::terminal_text(name); }

// described() is "'name' (id N)".
inline std::string described(const GreenletInfo& g) {
  return "'" + shown(g.name()) + "' (id " + std::to_string(g.id()) + ")";
}

}  // namespace gs::detail
