// unloaded_library.h: a library of Debian's base system that this process
// has not loaded, for tests that need the loader's counters to move (a
// process's Symbolizer is rebuilt then). libdw itself pulls in libz,
// liblzma and libbz2.
#pragma once

#include <dlfcn.h>
#include <unistd.h>

#include <string>

namespace gs::test {

// unloaded_library() is such a library's soname, "" if none is left.
inline std::string unloaded_library() {
  for (const char* name : {"libcrypt.so.1", "libanl.so.1", "libutil.so.1", "libnss_dns.so.2", "libBrokenLocale.so.1"}) {
    if (void* loaded = ::dlopen(name, RTLD_LAZY | RTLD_NOLOAD)) {
      ::dlclose(loaded);
      continue;
    }
    for (const char* dir : {"/lib/x86_64-linux-gnu/", "/usr/lib/x86_64-linux-gnu/", "/lib64/", "/usr/lib64/"})
      if (::access((std::string(dir) + name).c_str(), R_OK) == 0) return name;
  }
  return {};
}

}  // namespace gs::test
