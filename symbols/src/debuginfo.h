// debuginfo.h: finding ELF and debug files on this machine only. libdw's
// standard callbacks would ask debuginfod when DEBUGINFOD_URLS is set; a
// symbolizer that runs in the traced process's writer thread must never
// block on the network, so these replace them.
#pragma once

#include <elfutils/libdwfl.h>

#include <string>

namespace gs::symbols::detail {

// kDebugRoot is where Debian's -dbg/-dbgsym packages install debug files.
inline constexpr const char* kDebugRoot = "/usr/lib/debug";

// debug_file_by_build_id() is the path a debug file for that raw build-id
// has under kDebugRoot/.build-id ("" for an empty build-id).
std::string debug_file_by_build_id(const std::string& build_id);

// FileBuildId is what read_build_id() found in one file.
struct FileBuildId {
  bool opened = false;   // false: error says why (errno text or libelf's)
  std::string build_id;  // raw; "" if the file has none
  std::string error;
};

// read_build_id() opens an ELF file and reads its NT_GNU_BUILD_ID note.
// Anything but a regular file (a FIFO, a device) is not opened: an error.
FileBuildId read_build_id(const std::string& path);

// elf_build_id() reads the note of an ELF image already open.
std::string elf_build_id(Elf* elf);

// image_build_id() reads the note of an ELF image in memory.
std::string image_build_id(std::string& image);

// find_local_debuginfo() is a Dwfl_Callbacks::find_debuginfo: the debug
// file by build-id under kDebugRoot/.build-id, else by .gnu_debuglink
// beside the file, in its .debug/ and under kDebugRoot; the dwz alt file
// (.gnu_debugaltlink) the same way. A candidate whose build-id differs is
// skipped.
int find_local_debuginfo(Dwfl_Module* mod, void** userdata, const char* modname, Dwarf_Addr base,
                         const char* file_name, const char* debuglink_file, GElf_Word debuglink_crc,
                         char** debuginfo_file_name);

// find_image_elf() is a Dwfl_Callbacks::find_elf for modules reported
// without a file (the vDSO): the module's userdata is a std::string that
// holds its ELF image; it must outlive the Dwfl.
int find_image_elf(Dwfl_Module* mod, void** userdata, const char* modname, Dwarf_Addr base, char** file_name,
                   Elf** elfp);

}  // namespace gs::symbols::detail
