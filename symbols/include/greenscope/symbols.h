// symbols.h: greenscope::symbols, turning code addresses into function
// names and file:line, in the process that owns them (the tracer's writer
// thread, gs::format_stack) or offline from a trace's module map (the CLI).
// Built on elfutils' libdw: unlike dladdr it sees static, hidden and
// executable-local functions, gives file:line and inline scopes, and reads
// separate debug info by build-id. No dependency on the runtime.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace gs::symbols {

// Module is one loaded object: where it sits and how to find its file.
struct Module {
  std::string path;          // absolute; the main program included
  std::string build_id;      // raw bytes of NT_GNU_BUILD_ID ("" if none)
  std::uint64_t base = 0;    // load bias (dl_phdr_info::dlpi_addr)
  std::uint64_t lo = 0;      // lowest and highest address of its PT_LOAD
  std::uint64_t hi = 0;      //   segments, as loaded: [lo, hi)
};

// loaded_modules() lists the calling process's modules (dl_iterate_phdr;
// about 60 us). Skips the vDSO's nameless entry but keeps its range, named
// "[vdso]".
std::vector<Module> loaded_modules();

// modules_changed() is true when objects were loaded or unloaded since the
// previous call (cheap: dl_iterate_phdr's adds/subs counters). The first
// call is true. for_this_process() keeps its own count, so calling this
// never hides a change from it.
bool modules_changed();

// Scope is one function scope at an address; inlined calls give several.
struct Scope {
  // function: demangled; "" if unknown. An address no symbol covers (a
  // static function of a library stripped to its .dynsym) is named after
  // the function starting below it, marked as a guess: "deflate?+0x26".
  std::string function;
  std::string file;      // "" if no line info
  unsigned line = 0;
};

// Location is what an address resolves to.
struct Location {
  const Module* module = nullptr;  // null: in no known module; else one of
                                   // the Symbolizer's modules(): valid while it lives
  std::uint64_t offset = 0;        // address - module->base
  std::vector<Scope> scopes;       // innermost (inlined) first; empty if unknown
};

// describe() is one line for a Location, innermost scope first:
//   "function (file:line)"           one scope
//   "inner (file:line) [inlined into] outer (file:line)"
//                                    inlined calls; each outer scope's
//                                    file:line is its call site, as in
//                                    addr2line -i
//   "function"                       no line info
//   "module+0xoffset (file:line)"    a line but no function
//   "module+0xoffset"                the module alone
//   "0xaddress"                      in no known module
std::string describe(std::uint64_t address, const Location& where);
// module_name() is the last path component.
std::string module_name(const Module& m);
// build_id_hex() is a raw build-id in lower-case hex, as readelf -n and
// /usr/lib/debug/.build-id/ spell it ("" for "").
std::string build_id_hex(const std::string& build_id);

// Symbolizer resolves lookup addresses (see trace_format.h: return address
// - 1 for callers) against a fixed module list. Results are cached per
// address; thread-safe (one lock; resolving is the writer's or the CLI's
// work, never a hook's). Never uses the network: debuginfod is not
// consulted even when DEBUGINFOD_URLS is set.
class Symbolizer {
 public:
  explicit Symbolizer(std::vector<Module> modules);
  ~Symbolizer();
  Symbolizer(const Symbolizer&) = delete;
  Symbolizer& operator=(const Symbolizer&) = delete;

  Location lookup(std::uint64_t address);
  const std::vector<Module>& modules() const;
  // problems() lists modules that could not be opened, or whose file's
  // build-id no longer matches (rebuilt since the trace), one line each,
  // saying how to fix it. Not listed: such a module whose debug file (by
  // build-id, under /usr/lib/debug/.build-id/) is installed; it serves
  // instead. Nor the vDSO, which is no file.
  std::vector<std::string> problems() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// for_this_process() is the process's shared Symbolizer, rebuilt when
// modules_changed(). Thread-safe. For threads that share the program's fd
// table: libdw keeps every module's file open, and the Symbolizer that
// closes them closes those numbers in the table of the thread that drops
// it last.
std::shared_ptr<Symbolizer> for_this_process();

// for_this_thread() is a Symbolizer of the calling thread's own, rebuilt
// when objects come or go, and destroyed when the thread ends. For a thread
// that keeps an fd table of its own (the stall monitor's, the tracer's): a
// Symbolizer must be used and destroyed in the table it was built in. One
// built in such a table and dropped last by a program's thread closed the
// program's fds of the same numbers.
std::shared_ptr<Symbolizer> for_this_thread();

}  // namespace gs::symbols
