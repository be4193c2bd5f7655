// inline_fixture.cpp: built -O2 (tests/symbols/CMakeLists.txt) so that
// inlined_leaf() is inlined even in the Debug build.
#include "inline_fixture.h"

namespace gs_symbols_test {
namespace {

volatile int g_sink = 0;  // stores after each call: no tail calls

// inlined_leaf() keeps its own line and the call in one statement line, so
// the call instruction's line is the one recorded.
[[gnu::always_inline]] inline std::uintptr_t inlined_leaf(int& line) {
  line = __LINE__; const std::uintptr_t at = caller_address();
  g_sink = g_sink + 1;
  return at;
}

}  // namespace

[[gnu::noinline]] std::uintptr_t caller_address() {
  asm volatile("");
  return reinterpret_cast<std::uintptr_t>(__builtin_return_address(0)) - 1;
}

[[gnu::noinline]] InlineProbe inline_host() {
  InlineProbe probe;
  probe.call_line = __LINE__; probe.address = inlined_leaf(probe.inner_line);
  g_sink = g_sink + 1;
  return probe;
}

}  // namespace gs_symbols_test
