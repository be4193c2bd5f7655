// function_summary.h: a set of sampled stacks summed up by function, with
// inclusive and self sample counts as `perf report --children` gives them,
// led by the first frame in the program's own code, so that the culprit of
// a stall reads in one line whatever library it spins in. Used by the
// runtime's printed stall report and by the trace reader's side (analysis:
// the CLI and the viewer) alike; it works on frames already named, so it
// needs no symbolizer itself.
//
// The program's own code (is_own_code()) is every frame whose module is not
// a system one (is_system_module(): under /lib, /lib64, /usr/lib,
// /usr/lib64, /usr/libexec, the vDSO, or greenscope's own libraries,
// libgreenscope_*) and whose source file, when known, is not a system
// header (under /usr/include or /usr/lib, or greenscope's own headers,
// include/greenscope/: std::vector's code or the greenlet's entry inlined
// into the program are the libraries', not the program's), and that is not
// a sanitizer's runtime (is_sanitizer_runtime(): __asan_*, __tsan_*,
// __interceptor_*, ... or compiler-rt's sources; clang links it into the
// program, so it shares the program's module).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gs::symbols {

// SampledFrame is one function scope of a sampled stack: an address gives
// one per scope, the inlined ones first.
struct SampledFrame {
  std::string function;  // demangled; or "module+0xoffset" when unknown
  std::string file;      // "" if no line info
  unsigned line = 0;
  std::string module;    // the module's path, "" if not known
};
using SampledStack = std::vector<SampledFrame>;  // innermost first

bool is_system_module(std::string_view path);
bool is_system_source(std::string_view file);
bool is_sanitizer_runtime(const SampledFrame& frame);
bool is_own_code(const SampledFrame& frame);

// function_key() is the name a function is counted under: a name guessed
// from the nearest exported symbol ("deflate?+0x26", see Symbolizer) counts
// as "deflate?" whatever its offset.
std::string function_key(std::string_view function);

// FunctionRow is one function over all the samples.
struct FunctionRow {
  std::string function;  // function_key()
  std::string module;    // path
  std::string file;      // of its first frame seen, "" if none
  unsigned line = 0;
  bool own = false;             // the program's own code
  std::uint64_t inclusive = 0;  // samples with it anywhere on the stack
  std::uint64_t self = 0;       // samples with it innermost
  std::uint64_t leads = 0;      // samples whose innermost own-code frame it is
};

struct FunctionSummary {
  std::uint64_t samples = 0;        // with a stack
  std::uint64_t without_stack = 0;  // skipped or lost
  // rows: by inclusive count, then self, then first seen.
  std::vector<FunctionRow> rows;
  // culprit: the index in rows of the own-code function that is the
  // innermost own frame of most samples; -1 when no sample has one.
  int culprit = -1;

  const FunctionRow* culprit_row() const;  // null if none
  // hottest() is the rows by self count, most first, those with none left out.
  std::vector<const FunctionRow*> hottest() const;
  // line() is the summary in one line:
  //   "zz_compress_archive (zz.cpp:31) on 126 of 126 samples; self: memset
  //    (libc.so.6) 61 %, deflate? (libz.so.1) 30 %"
  // or, with no own-code frame, "no frame of the program's own code; self:
  // ...". `max_self` bounds the self list.
  std::string line(std::size_t max_self = 3) const;
};

// FunctionSummaryBuilder sums stacks up one sample at a time.
class FunctionSummaryBuilder {
 public:
  void add(const SampledStack& stack);
  void add_without_stack() { ++summary_.without_stack; }
  FunctionSummary finish();

 private:
  FunctionRow& row(const SampledFrame& frame, std::size_t& index);
  FunctionSummary summary_;
  std::vector<std::pair<std::string, std::size_t>> index_;  // module + '\0' + key -> row, sorted
  std::vector<std::size_t> seen_;                            // rows counted for the current sample
};

}  // namespace gs::symbols
