// debuginfo.cpp: local-only replacements for libdw's find_elf and
// find_debuginfo callbacks (see debuginfo.h for why).
#include "debuginfo.h"

#include <elfutils/libdwelf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "greenscope/symbols.h"

namespace gs::symbols::detail {
namespace {

// libelf_ready() initialises libelf once; elf_begin fails until then.
void libelf_ready() {
  static const bool ready = elf_version(EV_CURRENT) != EV_NONE;
  (void)ready;
}

// open_regular() opens path for reading if it is a regular file, else
// returns -1 with *error set. The paths come from a trace, which may be
// damaged or hostile: a FIFO there would block open() for ever, waiting for
// a writer (O_NONBLOCK), and a device is no module either.
int open_regular(const std::string& path, std::string* error) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    *error = std::strerror(errno);
    return -1;
  }
  struct stat st{};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    *error = "not a regular file";
    close(fd);
    return -1;
  }
  return fd;
}

std::string directory_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

std::string base_name(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// open_if_matches() opens path when it is not the main file itself and its
// build-id is want (any file when want is empty). Returns the fd or -1.
int open_if_matches(const std::string& path, const std::string& want, const struct stat* main_file) {
  std::string error;
  const int fd = open_regular(path, &error);
  if (fd < 0) return -1;
  struct stat st{};
  bool ok = fstat(fd, &st) == 0 &&
            (main_file == nullptr || st.st_ino != main_file->st_ino || st.st_dev != main_file->st_dev);
  if (ok && !want.empty()) {
    libelf_ready();
    Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
    ok = elf != nullptr && elf_build_id(elf) == want;
    elf_end(elf);
  }
  if (!ok) {
    close(fd);
    return -1;
  }
  return fd;
}

// first_match() tries the candidates in order; libdwfl frees *found_name.
int first_match(const std::vector<std::string>& candidates, const std::string& want,
                const struct stat* main_file, char** found_name) {
  for (const std::string& path : candidates) {
    const int fd = open_if_matches(path, want, main_file);
    if (fd < 0) continue;
    *found_name = strdup(path.c_str());
    return fd;
  }
  return -1;
}

// find_alt_file() finds the dwz file that a module's DWARF points to.
int find_alt_file(Dwfl_Module* mod, const char* file_name, char** found_name) {
  Dwarf_Addr bias = 0;
  Dwarf* dwarf = dwfl_module_getdwarf(mod, &bias);
  const char* alt_name = nullptr;
  const void* alt_id = nullptr;
  const ssize_t alt_id_size = dwarf == nullptr ? -1 : dwelf_dwarf_gnu_debugaltlink(dwarf, &alt_name, &alt_id);
  if (alt_id_size <= 0) return -1;
  const std::string want(static_cast<const char*>(alt_id), static_cast<std::size_t>(alt_id_size));
  std::vector<std::string> candidates = {debug_file_by_build_id(want)};
  const std::string name = alt_name;
  if (name.starts_with('/'))
    candidates.push_back(name);
  else if (file_name != nullptr)
    candidates.push_back(directory_of(file_name) + "/" + name);
  candidates.push_back(std::string(kDebugRoot) + "/.dwz/" + base_name(name));
  return first_match(candidates, want, nullptr, found_name);
}

}  // namespace

std::string debug_file_by_build_id(const std::string& build_id) {
  if (build_id.empty()) return {};
  const std::string hex = build_id_hex(build_id);
  return std::string(kDebugRoot) + "/.build-id/" + hex.substr(0, 2) + "/" + hex.substr(2) + ".debug";
}

std::string elf_build_id(Elf* elf) {
  const void* bits = nullptr;
  const ssize_t size = elf == nullptr ? -1 : dwelf_elf_gnu_build_id(elf, &bits);
  return size > 0 ? std::string(static_cast<const char*>(bits), static_cast<std::size_t>(size)) : std::string();
}

std::string image_build_id(std::string& image) {
  libelf_ready();
  Elf* elf = elf_memory(image.data(), image.size());
  std::string build_id = elf_build_id(elf);
  elf_end(elf);
  return build_id;
}

FileBuildId read_build_id(const std::string& path) {
  FileBuildId result;
  const int fd = open_regular(path, &result.error);
  if (fd < 0) return result;
  libelf_ready();
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  if (elf == nullptr || elf_kind(elf) != ELF_K_ELF) {
    result.error = elf == nullptr ? elf_errmsg(-1) : "not an ELF file";
  } else {
    result.opened = true;
    result.build_id = elf_build_id(elf);
  }
  elf_end(elf);
  close(fd);
  return result;
}

int find_local_debuginfo(Dwfl_Module* mod, void**, const char*, Dwarf_Addr, const char* file_name,
                         const char* debuglink_file, GElf_Word debuglink_crc, char** debuginfo_file_name) {
  // find_local_debuginfo() may open the module's DWARF to read its alt link,
  // and libdwfl calls back here if that DWARF is missing: one level only.
  static thread_local bool inside = false;
  if (inside) return -1;
  inside = true;
  struct Leave {
    ~Leave() { inside = false; }
  } leave;

  // libdwfl asks for the dwz alt file with the .gnu_debugaltlink name and a
  // zero CRC, once the module's own DWARF is open; a real .gnu_debuglink
  // CRC is never zero in practice.
  if (debuglink_file != nullptr && debuglink_crc == 0) return find_alt_file(mod, file_name, debuginfo_file_name);

  const unsigned char* bits = nullptr;
  GElf_Addr vaddr = 0;
  const int size = dwfl_module_build_id(mod, &bits, &vaddr);
  const std::string want = size > 0 ? std::string(reinterpret_cast<const char*>(bits), size) : std::string();
  std::vector<std::string> candidates;
  if (!want.empty()) candidates.push_back(debug_file_by_build_id(want));
  struct stat main_file{};
  const bool have_main = file_name != nullptr && stat(file_name, &main_file) == 0;
  if (debuglink_file != nullptr && file_name != nullptr) {
    // Without a build-id to check, a debuglink candidate is taken on its
    // name (libdw would check the CRC; such modules are rare here).
    const std::string dir = directory_of(file_name);
    candidates.push_back(dir + "/" + debuglink_file);
    candidates.push_back(dir + "/.debug/" + debuglink_file);
    candidates.push_back(std::string(kDebugRoot) + dir + "/" + debuglink_file);
  }
  return first_match(candidates, want, have_main ? &main_file : nullptr, debuginfo_file_name);
}

int find_image_elf(Dwfl_Module*, void** userdata, const char*, Dwarf_Addr, char**, Elf** elfp) {
  auto* image = userdata == nullptr ? nullptr : static_cast<std::string*>(*userdata);
  if (image == nullptr || image->empty()) return -1;
  libelf_ready();
  *elfp = elf_memory(image->data(), image->size());
  return -1;
}

}  // namespace gs::symbols::detail
