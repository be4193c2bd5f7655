// symbolizer.cpp: Symbolizer, one libdw session (Dwfl) over a fixed module
// list. Every module is reported from its file at its recorded base, so the
// same code serves the live process and a trace's module map read offline.
#include <elfutils/libdwfl.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <mutex>
#include <unordered_map>

#include "debuginfo.h"
#include "demangle.h"
#include "function_table.h"
#include "greenscope/symbols.h"
#include "process_modules.h"
#include "scopes.h"

namespace gs::symbols {
namespace {

// kMaxCachedLocations bounds the per-address cache: a trace holds at most
// tens of thousands of distinct addresses; past this the cache starts over.
constexpr std::size_t kMaxCachedLocations = 1 << 16;

const Dwfl_Callbacks kCallbacks = {
    .find_elf = detail::find_image_elf,
    .find_debuginfo = detail::find_local_debuginfo,
    .section_address = nullptr,
    .debuginfo_path = nullptr,
};

struct DwflDeleter {
  void operator()(Dwfl* dwfl) const { dwfl_end(dwfl); }
};

// how_to_fix() is the end of a problem line for a module whose file is gone
// or rebuilt.
std::string how_to_fix(const Module& m) {
  std::string fix = "; its addresses show as " + module_name(m) + "+0xoffset. To symbolize them keep the binary that ran";
  if (!m.build_id.empty()) fix += ", or install its debug file as " + detail::debug_file_by_build_id(m.build_id);
  return fix;
}

}  // namespace

struct Symbolizer::Impl {
  // Entry is one module as the Symbolizer uses it.
  struct Entry {
    const Module* module = nullptr;
    Dwfl_Module* dwfl_module = nullptr;                // null: unusable, see problems
    std::unique_ptr<detail::FunctionTable> functions;  // built on the first lookup inside
    std::unique_ptr<detail::ScopeFinder> scopes;       // made with functions
    std::vector<std::pair<std::uint64_t, std::uint64_t>> plt;  // PLT sections, made with functions
    std::vector<std::uint64_t> starts;                 // .eh_frame's function starts, made with functions
  };

  explicit Impl(std::vector<Module> list);
  void report(const Module& m, Entry& entry);
  void report_vdso(const Module& m, Entry& entry);
  Entry* entry_for(std::uint64_t address);
  Location resolve(std::uint64_t address);
  std::string unnamed_function(Entry& entry, std::uint64_t address);
  const std::string& demangled(const char* name);

  const std::vector<Module> modules;
  std::vector<std::string> problems;
  std::string vdso_image;  // read by libdw through find_image_elf: declared before (outlives) dwfl
  std::unique_ptr<Dwfl, DwflDeleter> dwfl;
  std::mutex mutex;
  std::vector<Entry> entries;                                  // sorted by lo; guarded by mutex
  std::unordered_map<std::uint64_t, Location> cache;           // guarded by mutex
  std::unordered_map<const char*, std::string> demangled_names;  // by symtab name; guarded by mutex
};

Symbolizer::Impl::Impl(std::vector<Module> list) : modules(std::move(list)), dwfl(dwfl_begin(&kCallbacks)) {
  if (dwfl == nullptr)
    problems.push_back(std::string("libdw: cannot start (") + dwfl_errmsg(-1) + "); no address can be symbolized");
  else
    dwfl_report_begin(dwfl.get());
  entries.reserve(modules.size());
  for (const Module& m : modules) {
    Entry& entry = entries.emplace_back();
    entry.module = &m;
    if (dwfl == nullptr) continue;
    if (m.path == detail::kVdsoName)
      report_vdso(m, entry);
    else
      report(m, entry);
  }
  if (dwfl != nullptr) dwfl_report_end(dwfl.get(), nullptr, nullptr);
  // Equal starts keep the list's order, so the later of two objects loaded
  // at the same place in turn (dlclose, dlopen) wins.
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.module->lo < b.module->lo; });
}

// report() gives libdw the module's file when it is the one that ran. If
// it is gone or rebuilt, the separate debug file of the build that ran
// serves instead: it keeps the program headers, symbols and DWARF.
void Symbolizer::Impl::report(const Module& m, Entry& entry) {
  const detail::FileBuildId file = detail::read_build_id(m.path);
  std::string trouble;
  if (!file.opened)
    trouble = m.path + ": cannot open (" + file.error + ")";
  else if (!m.build_id.empty() && file.build_id != m.build_id)
    trouble = m.path + ": file changed since the trace (build-id " + build_id_hex(m.build_id) + " ran, the file's is " +
              (file.build_id.empty() ? std::string("none") : build_id_hex(file.build_id)) + ")";
  std::string path = m.path;
  if (!trouble.empty()) {
    const std::string debug = detail::debug_file_by_build_id(m.build_id);
    if (debug.empty() || detail::read_build_id(debug).build_id != m.build_id) {
      problems.push_back(trouble + how_to_fix(m));
      return;
    }
    path = debug;
  }
  // add_p_vaddr: base is the load bias (dlpi_addr) itself, also for objects
  // whose first PT_LOAD is not at 0.
  entry.dwfl_module = dwfl_report_elf(dwfl.get(), module_name(m).c_str(), path.c_str(), -1, m.base, true);
  if (entry.dwfl_module == nullptr) problems.push_back(path + ": libdw cannot use it (" + dwfl_errmsg(-1) + ")");
}

// report_vdso() uses this process's vDSO image when it is the same build
// (always in-process; offline on the same kernel). Otherwise the vDSO's
// addresses stay [vdso]+0xoffset: it is no file, so that is no problem.
void Symbolizer::Impl::report_vdso(const Module& m, Entry& entry) {
  const std::string_view image = detail::vdso_image();
  if (image.empty()) return;
  std::string copy(image);  // libelf may write to an image it reads
  const std::string build_id = detail::image_build_id(copy);
  const bool same = m.build_id.empty() ? m.lo == reinterpret_cast<std::uintptr_t>(image.data())
                                       : m.build_id == build_id;
  if (!same || !vdso_image.empty()) return;
  vdso_image = std::move(copy);
  entry.dwfl_module = dwfl_report_module(dwfl.get(), "[vdso]", m.lo, m.hi);
  void** userdata = nullptr;
  if (entry.dwfl_module != nullptr && dwfl_module_info(entry.dwfl_module, &userdata, nullptr, nullptr, nullptr,
                                                       nullptr, nullptr, nullptr) != nullptr)
    *userdata = &vdso_image;
}

Symbolizer::Impl::Entry* Symbolizer::Impl::entry_for(std::uint64_t address) {
  auto next = std::upper_bound(entries.begin(), entries.end(), address,
                               [](std::uint64_t a, const Entry& e) { return a < e.module->lo; });
  if (next == entries.begin()) return nullptr;
  Entry& entry = *std::prev(next);
  return address < entry.module->hi ? &entry : nullptr;
}

const std::string& Symbolizer::Impl::demangled(const char* name) {
  auto it = demangled_names.find(name);
  if (it == demangled_names.end()) it = demangled_names.emplace(name, detail::demangle(name)).first;
  return it->second;
}

// unnamed_function() names code no symbol covers. Where .eh_frame says the
// function around it begins past the end of the exported function below it,
// it is another, static one: "[libz.so.1+0x4970, after crc32_combine_op]",
// one name for all of it (a summary counts it as one function). Else the
// exported function below, marked as a guess with the offset:
// "crc32_combine_op?+0xf6" (its symbol's size may just be missing). With
// neither, "" (the module and offset are shown). A PLT stub, which .eh_frame
// also covers, is "[libz.so.1 PLT stub]".
std::string Symbolizer::Impl::unnamed_function(Entry& entry, std::uint64_t address) {
  // A PLT stub: the module calling out of itself (under a sanitizer, into
  // its interceptors). Not a function of the module's own.
  for (const auto& [lo, hi] : entry.plt)
    if (address >= lo && address < hi) return "[" + module_name(*entry.module) + " PLT stub]";
  const detail::FunctionTable::Function* below = entry.functions->nearest(address);
  const auto next = std::upper_bound(entry.starts.begin(), entry.starts.end(), address);
  const std::uint64_t start = next == entry.starts.begin() ? 0 : *std::prev(next);
  const bool other = start != 0 && (below == nullptr || (below->size != 0 && start >= below->lo + below->size));
  char text[64];
  if (other) {
    const std::string module = module_name(*entry.module);
    std::snprintf(text, sizeof text, "+0x%" PRIx64, start - entry.module->base);
    return "[" + module + text + (below != nullptr ? ", after " + demangled(below->name) : std::string()) + "]";
  }
  if (below == nullptr) return "";
  std::snprintf(text, sizeof text, "?+0x%" PRIx64, address - below->lo);
  return demangled(below->name) + text;
}

// resolve() combines the symbol table (the real function, clone suffixes
// included, even without DWARF) with DWARF's inline chain and lines.
Location Symbolizer::Impl::resolve(std::uint64_t address) {
  Location where;
  Entry* entry = entry_for(address);
  if (entry == nullptr) return where;
  where.module = entry->module;
  where.offset = address - entry->module->base;
  if (entry->dwfl_module == nullptr) return where;
  if (entry->functions == nullptr) {
    entry->functions = std::make_unique<detail::FunctionTable>(entry->dwfl_module);
    entry->scopes = std::make_unique<detail::ScopeFinder>(entry->dwfl_module);
    entry->starts = detail::function_starts(entry->dwfl_module);
    entry->plt = detail::plt_ranges(entry->dwfl_module);
  }
  where.scopes = entry->scopes->scopes_at(address);
  if (const detail::FunctionTable::Function* function = entry->functions->find(address)) {
    if (where.scopes.empty()) where.scopes.emplace_back();
    where.scopes.back().function = demangled(function->name);
  } else if (where.scopes.empty() || where.scopes.back().function.empty()) {
    // No symbol covers it: a static function of a stripped library (zlib's
    // deflate_slow), which only .dynsym describes. Debug info, where
    // installed, never gets here.
    if (where.scopes.empty()) where.scopes.emplace_back();
    where.scopes.back().function = unnamed_function(*entry, address);
  }
  return where;
}

Symbolizer::Symbolizer(std::vector<Module> modules) : impl_(std::make_unique<Impl>(std::move(modules))) {}

Symbolizer::~Symbolizer() = default;

Location Symbolizer::lookup(std::uint64_t address) {
  std::lock_guard lock(impl_->mutex);
  if (auto it = impl_->cache.find(address); it != impl_->cache.end()) return it->second;
  Location where = impl_->resolve(address);
  if (impl_->cache.size() >= kMaxCachedLocations) impl_->cache.clear();
  impl_->cache.emplace(address, where);
  return where;
}

const std::vector<Module>& Symbolizer::modules() const { return impl_->modules; }

std::vector<std::string> Symbolizer::problems() const { return impl_->problems; }

}  // namespace gs::symbols
