// unwind_binding.h: where this process's C++ exceptions unwind. libstdc++
// calls _Unwind_RaiseException; it must bind to libgcc_s, not to
// libunwind.so.8's unversioned copy (24x slower: runtime/CMakeLists.txt).
#pragma once

#include <dlfcn.h>
#include <link.h>

#include <cstring>
#include <string>

namespace gs::test {

// first_of() is whichever of two modules comes first in the global lookup
// scope (dl_iterate_phdr's order: load order, which is the search order of
// everything loaded at start-up); "" if neither is loaded.
inline std::string first_of(const char* a, const char* b) {
  struct Search {
    const char* a;
    const char* b;
    std::string found;
  } s{a, b, {}};
  ::dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) {
        auto* search = static_cast<Search*>(data);
        const char* name = info->dlpi_name != nullptr ? info->dlpi_name : "";
        if (std::strstr(name, search->a) != nullptr || std::strstr(name, search->b) != nullptr) {
          search->found = name;
          return 1;
        }
        return 0;
      },
      &s);
  return s.found;
}

// unwind_binding_problem() is "" if _Unwind_RaiseException resolves to
// libgcc_s, else what it resolves to. A sanitizer runtime intercepts it and
// forwards to the next definition in lookup order: then that one is checked.
inline std::string unwind_binding_problem() {
  Dl_info info{};
  void* f = ::dlsym(RTLD_DEFAULT, "_Unwind_RaiseException");
  if (f == nullptr || ::dladdr(f, &info) == 0 || info.dli_fname == nullptr) {
    return "_Unwind_RaiseException not found";
  }
  std::string where = info.dli_fname;
  // gcc's sanitizers are libasan.so / libtsan.so; clang links its runtime
  // into the program, where the interceptor is also __interceptor_<name>.
  const bool intercepted = where.find("libasan") != std::string::npos || where.find("libtsan") != std::string::npos ||
                           ::dlsym(RTLD_DEFAULT, "__interceptor__Unwind_RaiseException") == f;
  if (intercepted) {
    where = first_of("libgcc_s", "libunwind.so");
  }
  if (where.find("libgcc_s") != std::string::npos) return {};
  return "_Unwind_RaiseException resolves to " + where;
}

}  // namespace gs::test
