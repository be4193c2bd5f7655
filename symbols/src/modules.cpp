// modules.cpp: the calling process's module map from dl_iterate_phdr, which
// sees what the dynamic loader sees (dlopen'd objects included) without
// reading /proc/self/maps.
#include <elf.h>
#include <link.h>
#include <sys/auxv.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "greenscope/symbols.h"
#include "process_modules.h"

namespace gs::symbols {
namespace {

// note_build_id() is the NT_GNU_BUILD_ID in one PT_NOTE segment ("" if none).
// Notes are 4-aligned unless the segment says 8 (.note.gnu.property).
std::string note_build_id(const char* p, std::size_t size, std::size_t align) {
  const auto up = [align](std::size_t n) { return (n + align - 1) & ~(align - 1); };
  std::size_t at = 0;
  while (at + sizeof(ElfW(Nhdr)) <= size) {
    ElfW(Nhdr) note;
    std::memcpy(&note, p + at, sizeof note);
    const std::size_t name_at = at + sizeof note;
    const std::size_t desc_at = name_at + up(note.n_namesz);
    if (desc_at + note.n_descsz > size) break;
    if (note.n_type == NT_GNU_BUILD_ID && note.n_namesz == 4 && std::memcmp(p + name_at, "GNU", 4) == 0)
      return std::string(p + desc_at, note.n_descsz);
    at = desc_at + up(note.n_descsz);
  }
  return {};
}

std::string main_program_path() {
  char resolved[PATH_MAX];
  if (realpath("/proc/self/exe", resolved) != nullptr) return resolved;
  return "/proc/self/exe";
}

// absolute() keeps the loader's absolute names as they are (no syscall) and
// resolves the rare relative ones (dlopen("./x.so")).
std::string absolute(const char* name) {
  if (name[0] == '/') return name;
  char resolved[PATH_MAX];
  return realpath(name, resolved) != nullptr ? std::string(resolved) : std::string(name);
}

Module module_of(const dl_phdr_info& info) {
  Module m;
  m.base = info.dlpi_addr;
  m.lo = UINT64_MAX;
  for (int i = 0; i < info.dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info.dlpi_phdr[i];
    if (ph.p_type == PT_LOAD) {
      m.lo = std::min<std::uint64_t>(m.lo, info.dlpi_addr + ph.p_vaddr);
      m.hi = std::max<std::uint64_t>(m.hi, info.dlpi_addr + ph.p_vaddr + ph.p_memsz);
    } else if (ph.p_type == PT_NOTE && m.build_id.empty()) {
      m.build_id = note_build_id(reinterpret_cast<const char*>(info.dlpi_addr + ph.p_vaddr), ph.p_filesz,
                                 ph.p_align == 8 ? 8 : 4);
    }
  }
  if (m.lo == UINT64_MAX) m.lo = 0;
  return m;
}

struct Listing {
  std::vector<Module> modules;
  std::uint64_t vdso = getauxval(AT_SYSINFO_EHDR);
  bool first = true;
};

int add_module(dl_phdr_info* info, std::size_t, void* data) {
  auto& listing = *static_cast<Listing*>(data);
  const bool first = std::exchange(listing.first, false);
  Module m = module_of(*info);
  if (m.hi == 0) return 0;
  if (listing.vdso != 0 && m.lo <= listing.vdso && listing.vdso < m.hi) {
    m.path = detail::kVdsoName;
  } else if (info->dlpi_name != nullptr && info->dlpi_name[0] != '\0') {
    m.path = absolute(info->dlpi_name);
  } else if (first) {  // glibc lists the main program first, nameless
    m.path = main_program_path();
  } else {
    return 0;
  }
  listing.modules.push_back(std::move(m));
  return 0;
}

int read_counts(dl_phdr_info* info, std::size_t size, void* data) {
  auto& counts = *static_cast<detail::LoadCounts*>(data);
  if (size >= offsetof(dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
    counts.adds = info->dlpi_adds;
    counts.subs = info->dlpi_subs;
  }
  return 1;  // the counters are the same in every entry: stop at the first
}

}  // namespace

std::vector<Module> loaded_modules() {
  Listing listing;
  dl_iterate_phdr(add_module, &listing);
  return std::move(listing.modules);
}

bool modules_changed() {
  static std::mutex mutex;
  static detail::LoadCounts seen;  // {0, 0}: never looked, so the first call is true
  const detail::LoadCounts now = detail::load_counts();
  std::lock_guard lock(mutex);
  return std::exchange(seen, now) != now;
}

std::string module_name(const Module& m) {
  const std::size_t slash = m.path.rfind('/');
  return slash == std::string::npos ? m.path : m.path.substr(slash + 1);
}

std::string build_id_hex(const std::string& build_id) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(build_id.size() * 2);
  for (const unsigned char byte : build_id) {
    hex += kDigits[byte >> 4];
    hex += kDigits[byte & 15];
  }
  return hex;
}

namespace detail {

LoadCounts load_counts() {
  LoadCounts counts;
  dl_iterate_phdr(read_counts, &counts);
  return counts;
}

std::string_view vdso_image() {
  static const std::string_view image = [] {
    const auto* ehdr = reinterpret_cast<const ElfW(Ehdr)*>(getauxval(AT_SYSINFO_EHDR));
    if (ehdr == nullptr) return std::string_view();
    // The kernel maps the whole file: headers, segments, section headers.
    std::size_t size = ehdr->e_shoff + std::size_t{ehdr->e_shnum} * ehdr->e_shentsize;
    const auto* phdr = reinterpret_cast<const ElfW(Phdr)*>(reinterpret_cast<const char*>(ehdr) + ehdr->e_phoff);
    for (int i = 0; i < ehdr->e_phnum; ++i)
      if (phdr[i].p_type == PT_LOAD) size = std::max<std::size_t>(size, phdr[i].p_offset + phdr[i].p_filesz);
    return std::string_view(reinterpret_cast<const char*>(ehdr), size);
  }();
  return image;
}

}  // namespace detail
}  // namespace gs::symbols
