// process_modules.h: what modules.cpp knows about the calling process beyond
// the public module list, for the Symbolizer and for_this_process().
#pragma once

#include <cstdint>
#include <string_view>

namespace gs::symbols::detail {

// LoadCounts are dl_iterate_phdr's counters of objects ever loaded and
// unloaded: any dlopen or dlclose that changes the module list bumps one.
struct LoadCounts {
  std::uint64_t adds = 0;
  std::uint64_t subs = 0;
  bool operator==(const LoadCounts&) const = default;
};

// load_counts() reads the counters (one dl_iterate_phdr step).
LoadCounts load_counts();

// vdso_image() is this process's vDSO, a complete ELF image in memory
// (empty if the kernel maps none). It lives as long as the process.
std::string_view vdso_image();

// kVdsoName is the path loaded_modules() gives the vDSO: it is no file.
inline constexpr std::string_view kVdsoName = "[vdso]";

}  // namespace gs::symbols::detail
