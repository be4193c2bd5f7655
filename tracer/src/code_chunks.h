// code_chunks.h: what a trace needs to name code: the module map (Modules
// chunks), the session's stacks (Stacks chunks) and what their addresses
// resolve to (Symbols chunks). Writer thread only; the stack table it drains
// is filled by hooks (stack_table.h).
//
// Streaming, each tick writes what is new: new modules, new stacks (before
// the Events chunks that name them, see Session::tick()), and the symbols
// resolved since, by a thread of their own (symbol_resolver.h) so that a
// slow libdw lookup never delays the events. The flight recorder resolves
// in the background the same way and writes everything at each dump.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "chunk_file.h"
#include "greenscope/symbols.h"
#include "stack_table.h"
#include "symbol_resolver.h"

namespace gs::trace::detail {

class CodeChunks {
 public:
  explicit CodeChunks(StackTable& table) : table_(table) {}

  // write_modules() writes the modules loaded since the last call (every
  // one the first time, or with `all`).
  void write_modules(ChunkFile& file, bool all);
  // write_new_stacks() drains the table's new stacks into a Stacks chunk
  // and queues their addresses for the resolver.
  void write_new_stacks(ChunkFile& file);
  // collect_new_stacks() drains them without writing (flight recorder).
  void collect_new_stacks();
  // collect_symbols() takes what the resolver has finished, after waiting
  // up to `wait_ms` for it to finish everything queued (0: no wait).
  void collect_symbols(unsigned wait_ms);
  // write_new_symbols() writes the entries collected since the last call.
  void write_new_symbols(ChunkFile& file);
  // write_all_stacks() and write_all_symbols() are a dump's share: every
  // module and stack, and then (after its events) every symbol known once
  // the resolver has had up to `wait_ms` more.
  void write_all_stacks(ChunkFile& file);
  void write_all_symbols(ChunkFile& file, unsigned wait_ms);

 private:
  void refresh_modules(bool force);
  bool in_known_module(std::uintptr_t address) const;
  void queue_addresses(const std::uintptr_t* addresses, std::size_t n);
  void write_stacks(ChunkFile& file, const std::vector<const StackEntry*>& stacks);
  void write_symbols(ChunkFile& file, const std::vector<std::uintptr_t>& addresses);

  StackTable& table_;
  std::vector<symbols::Module> modules_;  // id = index + 1
  std::size_t modules_written_ = 0;
  std::unordered_set<std::uintptr_t> seen_;  // queued or resolved: each address once a session
  // resolved_ maps an address to its encoded SymbolEntry; empty when libdw
  // knew nothing (no entry is written: a reader resolves it offline).
  std::unordered_map<std::uintptr_t, std::vector<std::uint8_t>> resolved_;
  std::vector<std::uintptr_t> unwritten_;
  SymbolResolver resolver_;  // last: its thread stops before the rest goes
};

}  // namespace gs::trace::detail
