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

// shown_into() is shown() for a signal handler (the crash report's fallback,
// when the monitor thread does not answer): no allocation, no locale, no
// stdio. It writes at most `cap` - 1 bytes and a NUL into `out`, cutting
// before an escape or a UTF-8 sequence rather than through it, and returns
// the length written. Precondition: cap >= 1.
inline std::size_t shown_into(std::string_view name, char* out, std::size_t cap) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::size_t w = 0;
  const auto room = [&](std::size_t n) { return w + n < cap; };
  for (std::size_t i = 0; i < name.size();) {
    // The pieces terminal_text() keeps and escapes, by its own rules.
    namespace rules = traceio::safe_text_detail;
    const auto c = static_cast<unsigned char>(name[i]);
    const std::size_t n = rules::plain(c, false) ? 1 : c < 0x80 ? 0 : traceio::utf8_length(name, i);
    const bool c1 = rules::c1_control(name, i, n);
    if (n != 0 && !c1) {  // printable ASCII, or a well-formed sequence past ASCII
      if (!room(n)) break;
      for (std::size_t k = 0; k < n; ++k) out[w++] = name[i + k];
      i += n;
      continue;
    }
    const std::size_t bytes = c1 ? 2 : 1;  // a C1 control shows as its two bytes
    if (!room(4 * bytes)) break;
    for (std::size_t k = 0; k < bytes; ++k) {
      const auto b = static_cast<unsigned char>(name[i + k]);
      out[w++] = '\\';
      out[w++] = 'x';
      out[w++] = kHex[b >> 4];
      out[w++] = kHex[b & 0xF];
    }
    i += bytes;
  }
  out[w] = '\0';
  return w;
}

// described() is "'name' (id N)".
inline std::string described(const GreenletInfo& g) {
  return "'" + shown(g.name()) + "' (id " + std::to_string(g.id()) + ")";
}

}  // namespace gs::detail
