// demangle.cpp: abi::__cxa_demangle with the ownership handled.
#include "demangle.h"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

namespace gs::symbols::detail {

std::string demangle(const char* name) {
  if (name == nullptr) return {};
  if (name[0] != '_' || name[1] != 'Z') return name;
  int status = 0;
  const std::unique_ptr<char, decltype(&std::free)> plain(abi::__cxa_demangle(name, nullptr, nullptr, &status),
                                                          &std::free);
  return status == 0 && plain != nullptr ? std::string(plain.get()) : std::string(name);
}

}  // namespace gs::symbols::detail
