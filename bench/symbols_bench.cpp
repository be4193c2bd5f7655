// symbols_bench.cpp: gs_symbols_bench, what greenscope::symbols costs
// (docs/benchmarks.md, "Symbolization"). Two modules are measured: this
// program ("Exe", built with the tree's flags, -g included in
// RelWithDebInfo) and libc ("Libc": symbols and lines from libc6-dbg's
// separate debug file, found by build-id).
//
// Benchmarks:
//   BM_LoadedModules            loaded_modules(): dl_iterate_phdr, build-ids
//   BM_ModulesChanged           modules_changed() when nothing changed
//   BM_ForThisProcess           for_this_process() when nothing changed
//   BM_NewSymbolizer            Symbolizer(loaded_modules()): every module's
//                               file opened and its build-id checked
//   BM_FirstLookup/Exe|Libc     the first lookup in a module of a fresh
//                               Symbolizer: loads the module's ELF and
//                               DWARF and builds its function table (the
//                               Symbolizer's construction is not timed)
//   BM_CachedLookup/Exe|Libc    the same address again: the per-address cache
//   BM_UncachedLookup/Exe|Libc  a new address every iteration (stepping 37
//                               bytes through the module's code; a fresh,
//                               warmed Symbolizer, untimed, when the code is
//                               used up): table search, DWARF scopes and
//                               lines, demangling
//   BM_Describe/OneScope|Inlined  describe() of a resolved Location
#include <benchmark/benchmark.h>
#include <link.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <greenscope/symbols.h>

namespace {

using gs::symbols::Symbolizer;

// TextRange is a module's executable segment, as loaded.
struct TextRange {
  std::uintptr_t lo = 0;
  std::uintptr_t hi = 0;
};

TextRange text_range_of(std::uintptr_t inside) {
  struct Search {
    std::uintptr_t inside;
    TextRange found;
  } search{inside, {}};
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) {
        auto& s = *static_cast<Search*>(data);
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          const std::uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
          if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X) != 0 && lo <= s.inside && s.inside < lo + ph.p_memsz) {
            s.found = {lo, lo + ph.p_memsz};
            return 1;
          }
        }
        return 0;
      },
      &search);
  return search.found;
}

[[gnu::noinline]] std::uintptr_t exe_function() {
  benchmark::ClobberMemory();
  return reinterpret_cast<std::uintptr_t>(__builtin_return_address(0)) - 1;
}

// exe_address() and libc_address() are one address in each measured
// module: a call in this program, and inside libc's qsort.
std::uintptr_t exe_address() {
  static const std::uintptr_t address = exe_function();
  return address;
}
std::uintptr_t libc_address() { return reinterpret_cast<std::uintptr_t>(&qsort) + 16; }

std::uintptr_t address_in(const benchmark::State& state) {
  return state.range(0) == 0 ? exe_address() : libc_address();
}

void set_label(benchmark::State& state) { state.SetLabel(state.range(0) == 0 ? "exe" : "libc"); }

void BM_LoadedModules(benchmark::State& state) {
  std::size_t count = 0;
  for (auto _ : state) count = gs::symbols::loaded_modules().size();
  state.counters["modules"] = static_cast<double>(count);
}
BENCHMARK(BM_LoadedModules);

void BM_ModulesChanged(benchmark::State& state) {
  gs::symbols::modules_changed();
  for (auto _ : state) benchmark::DoNotOptimize(gs::symbols::modules_changed());
}
BENCHMARK(BM_ModulesChanged);

void BM_ForThisProcess(benchmark::State& state) {
  gs::symbols::for_this_process();
  for (auto _ : state) benchmark::DoNotOptimize(gs::symbols::for_this_process());
}
BENCHMARK(BM_ForThisProcess);

void BM_NewSymbolizer(benchmark::State& state) {
  const std::vector<gs::symbols::Module> modules = gs::symbols::loaded_modules();
  for (auto _ : state) {
    Symbolizer symbolizer(modules);
    benchmark::DoNotOptimize(&symbolizer);
  }
}
BENCHMARK(BM_NewSymbolizer)->Unit(benchmark::kMicrosecond);

void BM_FirstLookup(benchmark::State& state) {
  const std::vector<gs::symbols::Module> modules = gs::symbols::loaded_modules();
  const std::uintptr_t address = address_in(state);
  for (auto _ : state) {
    state.PauseTiming();
    auto symbolizer = std::make_unique<Symbolizer>(modules);
    state.ResumeTiming();
    benchmark::DoNotOptimize(symbolizer->lookup(address));
    state.PauseTiming();
    symbolizer.reset();
    state.ResumeTiming();
  }
  set_label(state);
}
BENCHMARK(BM_FirstLookup)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_CachedLookup(benchmark::State& state) {
  Symbolizer symbolizer(gs::symbols::loaded_modules());
  const std::uintptr_t address = address_in(state);
  symbolizer.lookup(address);
  for (auto _ : state) benchmark::DoNotOptimize(symbolizer.lookup(address));
  set_label(state);
}
BENCHMARK(BM_CachedLookup)->Arg(0)->Arg(1);

void BM_UncachedLookup(benchmark::State& state) {
  const std::vector<gs::symbols::Module> modules = gs::symbols::loaded_modules();
  const TextRange text = text_range_of(address_in(state));
  constexpr std::uintptr_t kStep = 37;  // odd: lands mid-instruction and mid-function alike
  std::unique_ptr<Symbolizer> symbolizer;
  std::uintptr_t next = text.hi;
  std::size_t with_function = 0;
  std::size_t scopes = 0;
  for (auto _ : state) {
    if (next >= text.hi) {
      state.PauseTiming();
      symbolizer = std::make_unique<Symbolizer>(modules);
      symbolizer->lookup(text.lo);  // loads the module and builds its table
      next = text.lo + 1;
      state.ResumeTiming();
    }
    const gs::symbols::Location where = symbolizer->lookup(next);
    next += kStep;
    with_function += !where.scopes.empty() && !where.scopes.back().function.empty();
    scopes += where.scopes.size();
  }
  set_label(state);
  state.counters["named"] = static_cast<double>(with_function) / static_cast<double>(state.iterations());
  state.counters["scopes"] = static_cast<double>(scopes) / static_cast<double>(state.iterations());
  state.counters["code_KiB"] = static_cast<double>(text.hi - text.lo) / 1024;
}
BENCHMARK(BM_UncachedLookup)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_Describe(benchmark::State& state) {
  gs::symbols::Location where;
  gs::symbols::Module module;
  module.path = "/usr/lib/x86_64-linux-gnu/libexample.so.1";
  where.module = &module;
  where.offset = 0x1234;
  // Innermost scope first. Pushed in order: an insert() at the front made
  // GCC 12 -O3 warn (a false -Wnull-dereference) and -Werror fail the build.
  if (state.range(0) == 1) where.scopes.push_back({"example::Lexer::peek() const", "/build/example/src/lexer.h", 88});
  where.scopes.push_back({"example::Parser::next_token(std::basic_string_view<char, std::char_traits<char> >)",
                          "/build/example/src/parser.cpp", 412});
  for (auto _ : state) benchmark::DoNotOptimize(gs::symbols::describe(0x7f0000001234, where));
  state.SetLabel(state.range(0) == 0 ? "one scope" : "inlined: two scopes");
}
BENCHMARK(BM_Describe)->Arg(0)->Arg(1);

}  // namespace

BENCHMARK_MAIN();
