// symbols_test.cpp: greenscope::symbols against this very process: its own
// functions, libc's (symbols and lines from libc6-dbg's debug file), the
// vDSO, and module lists that no longer match the files on disk.
#include <arpa/inet.h>
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <netinet/in.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "greenscope/function_summary.h"
#include "greenscope/symbols.h"
#include "inline_fixture.h"
#include "../runtime/unloaded_library.h"

namespace {

using gs::symbols::Location;
using gs::symbols::Module;
using gs::symbols::Symbolizer;
using gs::test::unloaded_library;
using gs_symbols_test::caller_address;

volatile int g_sink = 0;

// plain_function() is file-static and never inlined: dladdr could not name
// it, libdw can. line gets the line of its call to caller_address().
[[gnu::noinline]] std::uintptr_t plain_function(int& line) {
  line = __LINE__; const std::uintptr_t at = caller_address();
  g_sink = g_sink + 1;
  return at;
}

bool ends_with(const std::string& text, const std::string& tail) {
  return text.size() >= tail.size() && text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string base_name(const std::string& path) { return path.substr(path.rfind('/') + 1); }

// libc_symbol() is libc's own definition, not a sanitizer's interceptor of
// the same name (ASan and TSan intercept qsort).
std::uintptr_t libc_symbol(const char* name) {
  void* libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  void* symbol = libc == nullptr ? nullptr : dlsym(libc, name);
  if (libc != nullptr) dlclose(libc);
  return reinterpret_cast<std::uintptr_t>(symbol);
}

const Module* module_named(const std::vector<Module>& modules, const std::string& name) {
  for (const Module& m : modules)
    if (gs::symbols::module_name(m) == name) return &m;
  return nullptr;
}

const Module* module_containing(const std::vector<Module>& modules, std::uintptr_t address) {
  for (const Module& m : modules)
    if (m.lo <= address && address < m.hi) return &m;
  return nullptr;
}

bool file_exists(const std::string& path) { return access(path.c_str(), R_OK) == 0; }

std::string debug_file_of(const Module& m) {
  const std::string hex = gs::symbols::build_id_hex(m.build_id);
  return hex.size() < 3 ? std::string() : "/usr/lib/debug/.build-id/" + hex.substr(0, 2) + "/" + hex.substr(2) + ".debug";
}

// vdso_symbol() is the address of a symbol of this process's vDSO, read
// from the image's own section headers (0 if there is none).
std::uintptr_t vdso_symbol(const char* wanted) {
  const std::uintptr_t base = getauxval(AT_SYSINFO_EHDR);
  if (base == 0) return 0;
  const auto* ehdr = reinterpret_cast<const ElfW(Ehdr)*>(base);
  const auto* sections = reinterpret_cast<const ElfW(Shdr)*>(base + ehdr->e_shoff);
  for (int i = 0; i < ehdr->e_shnum; ++i) {
    if (sections[i].sh_type != SHT_DYNSYM) continue;
    const auto* symbols = reinterpret_cast<const ElfW(Sym)*>(base + sections[i].sh_offset);
    const char* names = reinterpret_cast<const char*>(base + sections[sections[i].sh_link].sh_offset);
    for (std::size_t j = 0; j < sections[i].sh_size / sizeof(ElfW(Sym)); ++j)
      if (symbols[j].st_value != 0 && std::strcmp(names + symbols[j].st_name, wanted) == 0)
        return base + symbols[j].st_value;
  }
  return 0;
}

TEST(LoadedModules, ListMainProgramLibcAndVdso) {
  const std::vector<Module> modules = gs::symbols::loaded_modules();
  ASSERT_FALSE(modules.empty());
  char exe[PATH_MAX];
  ASSERT_NE(realpath("/proc/self/exe", exe), nullptr);
  EXPECT_EQ(modules.front().path, exe);
  EXPECT_FALSE(modules.front().build_id.empty()) << "Debian's gcc links with --build-id";
  const Module* main_program = module_containing(modules, reinterpret_cast<std::uintptr_t>(&plain_function));
  ASSERT_NE(main_program, nullptr);
  EXPECT_EQ(main_program->path, exe);

  const Module* libc = module_containing(modules, libc_symbol("getpid"));
  ASSERT_NE(libc, nullptr);
  EXPECT_EQ(gs::symbols::module_name(*libc), "libc.so.6");
  EXPECT_EQ(libc->path.front(), '/');
  EXPECT_EQ(libc->build_id.size(), 20u);
  EXPECT_LE(libc->lo, libc->hi);

  if (getauxval(AT_SYSINFO_EHDR) != 0) {
    const Module* vdso = module_named(modules, "[vdso]");
    ASSERT_NE(vdso, nullptr);
    EXPECT_EQ(vdso->lo, getauxval(AT_SYSINFO_EHDR));
  }
  for (const Module& m : modules) {
    EXPECT_FALSE(m.path.empty());
    EXPECT_LT(m.lo, m.hi) << m.path;
  }
}

TEST(ModuleName, IsTheLastPathComponent) {
  Module m;
  m.path = "/lib/x86_64-linux-gnu/libc.so.6";
  EXPECT_EQ(gs::symbols::module_name(m), "libc.so.6");
  m.path = "[vdso]";
  EXPECT_EQ(gs::symbols::module_name(m), "[vdso]");
  EXPECT_EQ(gs::symbols::build_id_hex(std::string("\x01\xab\xff", 3)), "01abff");
}

TEST(Symbolizer, StaticFunctionOfTheProgramHasItsNameFileAndLine) {
  int line = 0;
  const std::uintptr_t address = plain_function(line);
  const Location where = gs::symbols::for_this_process()->lookup(address);
  ASSERT_NE(where.module, nullptr);
  EXPECT_EQ(base_name(where.module->path), "symbols_test");
  EXPECT_EQ(where.offset, address - where.module->base);
  ASSERT_EQ(where.scopes.size(), 1u) << gs::symbols::describe(address, where);
  EXPECT_EQ(where.scopes[0].function, "(anonymous namespace)::plain_function(int&)");
  EXPECT_TRUE(ends_with(where.scopes[0].file, "tests/symbols/symbols_test.cpp")) << where.scopes[0].file;
  EXPECT_EQ(where.scopes[0].line, static_cast<unsigned>(line));
  EXPECT_EQ(gs::symbols::describe(address, where), "(anonymous namespace)::plain_function(int&) (" +
                                                       where.scopes[0].file + ":" + std::to_string(line) + ")");
}

TEST(Symbolizer, LibcFunctionsHaveTheirNames) {
  const auto symbolizer = gs::symbols::for_this_process();
  for (const char* name : {"getpid", "qsort"}) {
    const std::uintptr_t address = libc_symbol(name);
    ASSERT_NE(address, 0u) << name;
    const Location where = symbolizer->lookup(address);
    ASSERT_NE(where.module, nullptr) << name;
    EXPECT_EQ(gs::symbols::module_name(*where.module), "libc.so.6");
    ASSERT_FALSE(where.scopes.empty()) << name;
    EXPECT_EQ(where.scopes.back().function, name);
    // libc6-dbg's debug file, found by build-id, adds the source line.
    if (file_exists(debug_file_of(*where.module))) {
      EXPECT_FALSE(where.scopes.back().file.empty()) << name;
    }
  }
}

// compare_ints() records who called it: libc's sort, a function that only
// the separate debug file's symbol table names.
std::uintptr_t g_compare_caller = 0;
[[gnu::noinline]] int compare_ints(const void* a, const void* b) {
  g_compare_caller = reinterpret_cast<std::uintptr_t>(__builtin_return_address(0)) - 1;
  return *static_cast<const int*>(a) - *static_cast<const int*>(b);
}

TEST(Symbolizer, LibcInternalFunctionHasAName) {
  using Qsort = void (*)(void*, std::size_t, std::size_t, int (*)(const void*, const void*));
  const auto libc_qsort = reinterpret_cast<Qsort>(libc_symbol("qsort"));
  ASSERT_NE(libc_qsort, nullptr);
  int values[] = {3, 1, 2, 5, 4};
  libc_qsort(values, 5, sizeof(int), compare_ints);
  ASSERT_NE(g_compare_caller, 0u);
  const Location where = gs::symbols::for_this_process()->lookup(g_compare_caller);
  ASSERT_NE(where.module, nullptr);
  EXPECT_EQ(gs::symbols::module_name(*where.module), "libc.so.6");
  const std::string text = gs::symbols::describe(g_compare_caller, where);
  EXPECT_FALSE(where.scopes.empty()) << text;
  EXPECT_FALSE(contains(text, "libc.so.6+0x")) << text;
}

// plt_address() is an address inside the .plt of the loaded library
// `soname` (found by `symbol`), read from the file's section headers; 0 if
// it has none.
std::uintptr_t plt_address(const char* soname, const char* symbol) {
  void* handle = dlopen(soname, RTLD_LAZY | RTLD_NOLOAD);
  if (handle == nullptr) return 0;
  Dl_info info{};
  void* sym = dlsym(handle, symbol);
  const bool found = sym != nullptr && dladdr(sym, &info) != 0 && info.dli_fname != nullptr;
  dlclose(handle);
  if (!found) return 0;
  FILE* f = std::fopen(info.dli_fname, "rb");
  if (f == nullptr) return 0;
  ElfW(Ehdr) eh{};
  std::vector<ElfW(Shdr)> sh;
  std::string names;
  bool ok = std::fread(&eh, sizeof eh, 1, f) == 1 && eh.e_shnum > 0 && eh.e_shstrndx < eh.e_shnum;
  if (ok) {
    sh.resize(eh.e_shnum);
    ok = std::fseek(f, static_cast<long>(eh.e_shoff), SEEK_SET) == 0 &&
         std::fread(sh.data(), sizeof(ElfW(Shdr)), sh.size(), f) == sh.size();
  }
  if (ok) {
    names.resize(sh[eh.e_shstrndx].sh_size);
    ok = std::fseek(f, static_cast<long>(sh[eh.e_shstrndx].sh_offset), SEEK_SET) == 0 &&
         std::fread(names.data(), 1, names.size(), f) == names.size();
  }
  std::fclose(f);
  if (!ok) return 0;
  for (const ElfW(Shdr)& s : sh)
    if (s.sh_name < names.size() && std::strcmp(names.c_str() + s.sh_name, ".plt") == 0 && s.sh_size > 32)
      return reinterpret_cast<std::uintptr_t>(info.dli_fbase) + s.sh_addr + 20;  // inside the second stub
  return 0;
}

// A sample in a stripped library's PLT (the library calling out, e.g. into
// a sanitizer's memset) is named as such: .eh_frame covers the PLT with an
// FDE of its own, and it showed as a bare "[libz.so.1+0x3020]" (ASan run of
// LibraryStallTest.ZlibStallIsCpuBoundAndLedByTheProgramsFunction).
TEST(Symbolizer, APltStubIsNamedAsOne) {
  const std::uintptr_t address = plt_address("libz.so.1", "compress2");
  if (address == 0) GTEST_SKIP() << "libz.so.1 is not loaded here, or has no .plt";
  const Location where = gs::symbols::for_this_process()->lookup(address);
  ASSERT_NE(where.module, nullptr);
  EXPECT_EQ(gs::symbols::module_name(*where.module), "libz.so.1");
  ASSERT_FALSE(where.scopes.empty()) << gs::symbols::describe(address, where);
  EXPECT_EQ(where.scopes.back().function, "[libz.so.1 PLT stub]");
}

TEST(Symbolizer, InlinedFunctionGivesTwoScopesInnermostFirst) {
  const gs_symbols_test::InlineProbe probe = gs_symbols_test::inline_host();
  const Location where = gs::symbols::for_this_process()->lookup(probe.address);
  const std::string text = gs::symbols::describe(probe.address, where);
  ASSERT_EQ(where.scopes.size(), 2u) << text;
  // DWARF has no linkage name for a function of an anonymous namespace: its
  // plain name is what there is.
  EXPECT_TRUE(contains(where.scopes[0].function, "inlined_leaf")) << text;
  EXPECT_TRUE(ends_with(where.scopes[0].file, "tests/symbols/inline_fixture.cpp")) << text;
  EXPECT_EQ(where.scopes[0].line, static_cast<unsigned>(probe.inner_line)) << text;
  EXPECT_EQ(where.scopes[1].function, "gs_symbols_test::inline_host()") << text;
  EXPECT_TRUE(ends_with(where.scopes[1].file, "tests/symbols/inline_fixture.cpp")) << text;
  EXPECT_EQ(where.scopes[1].line, static_cast<unsigned>(probe.call_line)) << text;
  EXPECT_EQ(text, where.scopes[0].function + " (" + where.scopes[0].file + ":" + std::to_string(probe.inner_line) +
                      ") [inlined into] gs_symbols_test::inline_host() (" + where.scopes[1].file + ":" +
                      std::to_string(probe.call_line) + ")");
}

TEST(Symbolizer, VdsoFunctionHasItsName) {
  const std::uintptr_t address = vdso_symbol("__vdso_clock_gettime");
  if (address == 0) GTEST_SKIP() << "no vDSO, or no __vdso_clock_gettime in it";
  const Location where = gs::symbols::for_this_process()->lookup(address);
  ASSERT_NE(where.module, nullptr);
  EXPECT_EQ(where.module->path, "[vdso]");
  ASSERT_FALSE(where.scopes.empty());
  EXPECT_TRUE(ends_with(where.scopes.back().function, "clock_gettime")) << where.scopes.back().function;
}

TEST(Symbolizer, OfflineFromAModuleListResolvesAsInProcess) {
  int line = 0;
  const std::vector<std::uintptr_t> addresses = {plain_function(line), gs_symbols_test::inline_host().address,
                                                 libc_symbol("getpid"), libc_symbol("qsort") + 5};
  Symbolizer offline(gs::symbols::loaded_modules());
  const auto live = gs::symbols::for_this_process();
  EXPECT_TRUE(offline.problems().empty()) << offline.problems().front();
  EXPECT_TRUE(live->problems().empty()) << live->problems().front();
  for (const std::uintptr_t address : addresses) {
    const std::string text = gs::symbols::describe(address, offline.lookup(address));
    EXPECT_EQ(text, gs::symbols::describe(address, live->lookup(address)));
    EXPECT_FALSE(contains(text, "+0x")) << text;
  }
}

// clang writes no .debug_aranges unless asked (-gdwarf-aranges), and libdw
// finds an address's unit by them: no address of a clang-built program had
// a file:line or an inline chain. This binary with its .debug_aranges taken
// out (objcopy) must resolve exactly as it does with them.
TEST(Symbolizer, ABinaryWithoutDebugArangesResolvesAsOneWithThem) {
  int line = 0;
  const std::vector<std::uintptr_t> addresses = {plain_function(line), gs_symbols_test::inline_host().address};
  std::vector<Module> modules = gs::symbols::loaded_modules();
  const Module* found = module_containing(modules, addresses[0]);
  ASSERT_NE(found, nullptr);
  Module& program = modules[static_cast<std::size_t>(found - modules.data())];
  const std::string copy = ::testing::TempDir() + "symbols_test_without_aranges_" + std::to_string(::getpid());
  const std::string strip = "objcopy --remove-section=.debug_aranges '" + program.path + "' '" + copy + "'";
  ASSERT_EQ(std::system(strip.c_str()), 0) << strip;
  EXPECT_NE(std::system(("readelf -S '" + copy + "' | grep -q debug_aranges").c_str()), 0) << "the copy still has them";
  program.path = copy;
  Symbolizer without(modules);
  Symbolizer with(gs::symbols::loaded_modules());
  EXPECT_TRUE(without.problems().empty()) << without.problems().front();
  for (const std::uintptr_t address : addresses) {
    const std::string text = gs::symbols::describe(address, without.lookup(address));
    EXPECT_EQ(text, gs::symbols::describe(address, with.lookup(address)));
    EXPECT_TRUE(contains(text, ".cpp:")) << text;
  }
  EXPECT_EQ(without.lookup(addresses[1]).scopes.size(), 2u) << "the inline chain";
  std::remove(copy.c_str());
}

TEST(Symbolizer, RebuiltModuleIsAProblemAndShowsAsModulePlusOffset) {
  int line = 0;
  const std::uintptr_t address = plain_function(line);
  const std::vector<Module> modules = gs::symbols::loaded_modules();
  const Module* found = module_containing(modules, address);
  ASSERT_NE(found, nullptr);
  Module rebuilt = *found;
  ASSERT_FALSE(rebuilt.build_id.empty());
  rebuilt.build_id[0] = static_cast<char>(rebuilt.build_id[0] ^ 0x5a);  // the build that "ran" is not the file's
  Symbolizer symbolizer({rebuilt});
  ASSERT_EQ(symbolizer.problems().size(), 1u);
  const std::string problem = symbolizer.problems()[0];
  EXPECT_TRUE(contains(problem, rebuilt.path)) << problem;
  EXPECT_TRUE(contains(problem, "changed since the trace")) << problem;
  EXPECT_TRUE(contains(problem, gs::symbols::build_id_hex(rebuilt.build_id))) << problem;
  EXPECT_TRUE(contains(problem, "/usr/lib/debug/.build-id/")) << problem;
  const Location where = symbolizer.lookup(address);
  ASSERT_NE(where.module, nullptr);
  EXPECT_TRUE(where.scopes.empty());
  char expected[64];
  std::snprintf(expected, sizeof expected, "symbols_test+0x%jx", static_cast<std::uintmax_t>(address - rebuilt.base));
  EXPECT_EQ(gs::symbols::describe(address, where), expected);
}

TEST(Symbolizer, MissingFileIsAProblem) {
  const Module gone{.path = "/nonexistent/greenscope/libgone.so.1", .build_id = "", .base = 0x100000,
                    .lo = 0x100000, .hi = 0x200000};
  Symbolizer symbolizer({gone});
  ASSERT_EQ(symbolizer.problems().size(), 1u);
  EXPECT_TRUE(contains(symbolizer.problems()[0], gone.path)) << symbolizer.problems()[0];
  EXPECT_TRUE(contains(symbolizer.problems()[0], "No such file")) << symbolizer.problems()[0];
  const Location where = symbolizer.lookup(0x100123);
  ASSERT_NE(where.module, nullptr);
  EXPECT_EQ(where.offset, 0x123u);
  EXPECT_EQ(gs::symbols::describe(0x100123, where), "libgone.so.1+0x123");
  EXPECT_EQ(symbolizer.modules().size(), 1u);
}

// fifo_module_exit_code() symbolizes with a module whose path is a FIFO:
// 0 if that is one problem saying so, 1 otherwise. An alarm ends a reader
// that waits for the FIFO's writer, as the reader before this test did.
int fifo_module_exit_code(const Module& fifo) {
  ::alarm(20);
  Symbolizer symbolizer({fifo});
  const std::vector<std::string> problems = symbolizer.problems();
  return problems.size() == 1 && contains(problems[0], "not a regular file") ? 0 : 1;
}

// A trace names the files to read: a FIFO in a module's place (damage, or a
// trace made to hang the CLI or the viewer) is a problem, not a hang.
TEST(Symbolizer, FifoInPlaceOfAModuleIsAProblemNotAHang) {
  const std::string path = ::testing::TempDir() + "symbols_test_fifo_" + std::to_string(::getpid());
  ::unlink(path.c_str());
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0) << std::strerror(errno);
  Module fifo;
  fifo.path = path;
  fifo.base = fifo.lo = 0x100000;
  fifo.hi = 0x200000;
  EXPECT_EXIT(std::_Exit(fifo_module_exit_code(fifo)), ::testing::ExitedWithCode(0), "");
  ::unlink(path.c_str());
}

TEST(Symbolizer, GoneFileIsReplacedByItsInstalledDebugFile) {
  const std::vector<Module> modules = gs::symbols::loaded_modules();
  const std::uintptr_t address = libc_symbol("qsort");
  const Module* libc = module_containing(modules, address);
  ASSERT_NE(libc, nullptr);
  if (!file_exists(debug_file_of(*libc))) GTEST_SKIP() << "libc6-dbg is not installed";
  Module moved = *libc;
  moved.path = "/nonexistent/greenscope/libc.so.6";
  Symbolizer symbolizer({moved});
  EXPECT_TRUE(symbolizer.problems().empty()) << symbolizer.problems().front();
  const Location where = symbolizer.lookup(address);
  ASSERT_FALSE(where.scopes.empty());
  EXPECT_EQ(where.scopes.back().function, "qsort");
  EXPECT_FALSE(where.scopes.back().file.empty());
}

TEST(Symbolizer, AddressInNoModuleIsHex) {
  Symbolizer symbolizer(gs::symbols::loaded_modules());
  const Location where = symbolizer.lookup(0x10);
  EXPECT_EQ(where.module, nullptr);
  EXPECT_TRUE(where.scopes.empty());
  EXPECT_EQ(gs::symbols::describe(0x10, where), "0x10");
}

TEST(Symbolizer, RepeatedLookupsAgree) {
  int line = 0;
  const std::uintptr_t address = plain_function(line);
  Symbolizer symbolizer(gs::symbols::loaded_modules());
  const std::string first = gs::symbols::describe(address, symbolizer.lookup(address));
  EXPECT_EQ(gs::symbols::describe(address, symbolizer.lookup(address)), first);
  EXPECT_EQ(gs::symbols::describe(address, symbolizer.lookup(address)), first);
}

TEST(Symbolizer, ConcurrentLookupsAgree) {
  int line = 0;
  const std::vector<std::uintptr_t> addresses = {plain_function(line), gs_symbols_test::inline_host().address,
                                                 libc_symbol("getpid"), libc_symbol("qsort") + 3, 0x10};
  std::vector<std::string> expected;
  for (const std::uintptr_t a : addresses)
    expected.push_back(gs::symbols::describe(a, Symbolizer(gs::symbols::loaded_modules()).lookup(a)));
  std::vector<std::vector<std::string>> seen(4);
  std::vector<std::thread> threads;
  for (auto& mine : seen)
    threads.emplace_back([&addresses, &mine] {
      for (int round = 0; round < 20; ++round)
        for (const std::uintptr_t a : addresses)
          mine.push_back(gs::symbols::describe(a, gs::symbols::for_this_process()->lookup(a)));
    });
  for (auto& t : threads) t.join();
  for (const auto& mine : seen)
    for (std::size_t i = 0; i < mine.size(); ++i) EXPECT_EQ(mine[i], expected[i % addresses.size()]);
}

// libdw's standard find_debuginfo callback would connect to this listening
// socket (checked by hand: it does, even with DEBUGINFOD_URLS set after
// start-up); the Symbolizer's own callbacks must not.
TEST(Symbolizer, NeverAsksDebuginfod) {
  const std::vector<Module> modules = gs::symbols::loaded_modules();
  const Module* undebugged = nullptr;  // a module without a local debug file: libdw will look for one
  for (const Module& m : modules)
    if (m.path.front() == '/' && !m.build_id.empty() && !file_exists(debug_file_of(m))) undebugged = &m;
  if (undebugged == nullptr) GTEST_SKIP() << "every module has its debug file here";
  const int server = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  ASSERT_GE(server, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  ASSERT_EQ(bind(server, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(listen(server, 16), 0);
  ASSERT_EQ(getsockname(server, reinterpret_cast<sockaddr*>(&address), &size), 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  setenv("DEBUGINFOD_URLS", url.c_str(), 1);
  setenv("DEBUGINFOD_TIMEOUT", "1", 1);
  {
    Symbolizer symbolizer(modules);
    const std::uintptr_t inside = undebugged->lo + (undebugged->hi - undebugged->lo) / 2;
    const Location where = symbolizer.lookup(inside);
    EXPECT_EQ(where.module->path, undebugged->path);
  }
  unsetenv("DEBUGINFOD_URLS");
  unsetenv("DEBUGINFOD_TIMEOUT");
  const int client = accept(server, nullptr, nullptr);
  EXPECT_LT(client, 0) << "something connected to DEBUGINFOD_URLS while " << undebugged->path << " was symbolized";
  EXPECT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK) << std::strerror(errno);
  if (client >= 0) close(client);
  close(server);
}

TEST(ModulesChanged, FlipsAfterDlopen) {
  const std::string name = unloaded_library();
  if (name.empty()) GTEST_SKIP() << "no library of the base system is left unloaded";
  const auto before = gs::symbols::for_this_process();
  gs::symbols::modules_changed();  // whatever happened before the test
  EXPECT_FALSE(gs::symbols::modules_changed());
  void* library = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(library, nullptr) << dlerror();
  EXPECT_TRUE(gs::symbols::modules_changed());
  EXPECT_FALSE(gs::symbols::modules_changed());
  EXPECT_NE(module_named(gs::symbols::loaded_modules(), name), nullptr) << name;
  const auto after = gs::symbols::for_this_process();
  EXPECT_NE(after, before) << "for_this_process() sees the new object although modules_changed() was called";
  EXPECT_NE(module_named(after->modules(), name), nullptr) << name;
  EXPECT_EQ(gs::symbols::for_this_process(), after);
  dlclose(library);
}

}  // namespace

// clang links a sanitizer's runtime into the program (g++ loads libasan.so):
// its functions share the program's module but are not the program's code,
// so a stall spinning in __asan_memset is still led by the program's caller.
TEST(FunctionSummary, ASanitizerRuntimeInTheProgramIsNotItsOwnCode) {
  using gs::symbols::SampledFrame;
  const SampledFrame asan{"__asan_memset", "", 0, "/tmp/prog"};
  const SampledFrame interceptor{"__interceptor_memcpy", "", 0, "/tmp/prog"};
  const SampledFrame runtime_internal{"__sanitizer::StackDepotBase<>::Put(...)", "", 0, "/tmp/prog"};
  const SampledFrame from_compiler_rt{"memset", "/build/llvm-14/compiler-rt/lib/asan/asan_interceptors.cpp", 90, "/tmp/prog"};
  const SampledFrame own{"zz_compress_archive(std::vector<unsigned char>&)", "/src/zz.cpp", 31, "/tmp/prog"};
  for (const SampledFrame& f : {asan, interceptor, runtime_internal, from_compiler_rt}) {
    EXPECT_TRUE(gs::symbols::is_sanitizer_runtime(f)) << f.function;
    EXPECT_FALSE(gs::symbols::is_own_code(f)) << f.function;
  }
  EXPECT_FALSE(gs::symbols::is_sanitizer_runtime(own));
  EXPECT_TRUE(gs::symbols::is_own_code(own));
  // clang's path to a libstdc++ header, as its driver found it.
  const SampledFrame header{"__gthread_mutex_lock(pthread_mutex_t*)",
                            "/usr/bin/../lib/gcc/x86_64-linux-gnu/12/../../../../include/x86_64-linux-gnu/c++/12/bits/"
                            "gthr-default.h",
                            749, "/tmp/prog"};
  EXPECT_TRUE(gs::symbols::is_system_source(header.file));
  EXPECT_FALSE(gs::symbols::is_own_code(header));
  EXPECT_FALSE(gs::symbols::is_system_source("../../src/zz.cpp"));  // stays relative after resolving
  EXPECT_FALSE(gs::symbols::is_system_source("/usr/include/../../home/me/zz.cpp"));

  gs::symbols::FunctionSummaryBuilder builder;
  const SampledFrame memset_libc{"__memset_avx512_unaligned_erms", "", 0, "/usr/lib/x86_64-linux-gnu/libc.so.6"};
  for (int i = 0; i < 3; ++i) builder.add({memset_libc, asan, own});
  const gs::symbols::FunctionSummary summary = builder.finish();
  ASSERT_NE(summary.culprit_row(), nullptr);
  EXPECT_EQ(summary.culprit_row()->function, own.function);
}
