// stack_names.h: the names of a trace's stack addresses, for people (one
// line per scope) and for flame-graph tools (folded frames). An address is
// named, in order of preference, by the writer's SymbolEntry (Symbols
// chunks), by resolving it here against the trace's module map
// (greenscope::symbols: the same files, found by path and checked by
// build-id), or as module+0xoffset.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "greenscope/traceio.h"

namespace gs::symbols {
class Symbolizer;
}

namespace gs::analysis {

// AddressName is what one address is called.
struct AddressName {
  std::vector<traceio::SymbolScope> scopes;  // innermost (inlined) first; empty: unknown
  std::string fallback;                      // "module+0xoffset" or "0xaddress"
};

class StackNames {
 public:
  explicit StackNames(const traceio::Trace& trace);
  ~StackNames();
  StackNames(const StackNames&) = delete;
  StackNames& operator=(const StackNames&) = delete;

  // name() resolves `address` once and caches it.
  const AddressName& name(std::uint64_t address);

  // lines() is the stack for people, innermost first, one line per scope:
  //   "#0 inner (a.h:3) [inlined]", "   outer (a.cpp:9)", "#1 module+0x1f0".
  // Stack id 0 or a lost stack gives one line that says so.
  std::vector<std::string> lines(std::uint64_t stack_id);
  std::vector<std::string> lines(const std::vector<std::uint64_t>& stack);

  // folded() is the stack as flame-graph tools read it: frames root first,
  // joined by ';', inlined scopes as frames of their own marked "_[i]" (as
  // flamegraph.pl and inferno colour them). Function names only (no
  // file:line, so a function is one frame), ';' in them replaced by ':'.
  std::string folded(const std::vector<std::uint64_t>& stack);

  // notes() lists what offline symbolization could not do (modules not
  // found, rebuilt since the trace), once; empty if it was never needed.
  std::vector<std::string> notes() const;

 private:
  AddressName resolve(std::uint64_t address);
  std::string module_offset(std::uint64_t address) const;

  const traceio::Trace& trace_;
  std::unique_ptr<symbols::Symbolizer> symbolizer_;  // made when first needed
  bool tried_symbolizer_ = false;
  std::unordered_map<std::uint64_t, AddressName> cache_;
};

}  // namespace gs::analysis
