// demangle.h: C++ names for people.
#pragma once

#include <string>

namespace gs::symbols::detail {

// demangle() is abi::__cxa_demangle's reading of a mangled name (clone
// suffixes included: "f() [clone .isra.0]"), or the name unchanged when it
// is not a C++ one. About 400 ns: callers cache.
std::string demangle(const char* name);

}  // namespace gs::symbols::detail
