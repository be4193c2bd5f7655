// inline_fixture.h: code with known shapes for symbols_test, some of it
// compiled -O2 (inline_fixture.cpp) whatever the build type.
#pragma once

#include <cstdint>

namespace gs_symbols_test {

// caller_address() is its return address minus 1: an address inside the
// call instruction that called it, as a stack walk reports callers.
std::uintptr_t caller_address();

// InlineProbe is an address inside an always_inline function inlined into
// a noinline one, and the lines that addr2line -i gives for it.
struct InlineProbe {
  std::uintptr_t address = 0;
  int inner_line = 0;  // the call inside the inlined function
  int call_line = 0;   // where the noinline function calls the inlined one
};

InlineProbe inline_host();

}  // namespace gs_symbols_test
