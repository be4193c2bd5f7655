// stack_chunks.cpp: the chunks format 2.0 added for stacks: the module map,
// the stack table, the writer's symbols, and run-info dumps. Entries are
// parsed as Strings entries are: the first malformed one is reported and the
// rest of its chunk skipped (the checksum held, so it is a writer's bug and
// nothing after it can be trusted); the first definition of an id wins.
#include <string>
#include <string_view>

#include "byte_reader.h"
#include "chunk_parsers.h"

namespace gs::traceio::detail {
namespace {

namespace tf = trace_format;

// kMaxScopes bounds the inline scopes of one SymbolEntry: inlining nests
// far less deep than a stack, so more is damage.
constexpr std::uint64_t kMaxScopes = tf::kMaxStackFrames;

// EntryReader walks a chunk's repeated entries and reports the first bad one.
class EntryReader {
 public:
  EntryReader(const ChunkBytes& chunk, std::string_view what, LoadState& state)
      : in(chunk.data, chunk.data + chunk.size), chunk_(chunk), what_(what), state_(state) {}

  // next() is true while there is another entry; it remembers where it starts.
  bool next() {
    at_ = in.position();
    return !in.at_end();
  }

  // bad() reports the entry that began at the last next() as malformed.
  void bad(const std::string& why = "") {
    state_.problem(chunk_.offset, "chunk at offset " + std::to_string(chunk_.offset) + ": malformed " +
                                      std::string(what_) + " entry at payload byte " + std::to_string(at_) +
                                      (why.empty() ? "" : " (" + why + ")") +
                                      "; the rest of the chunk is skipped");
  }

  ByteReader in;

 private:
  const ChunkBytes& chunk_;
  std::string_view what_;
  LoadState& state_;
  std::size_t at_ = 0;
};

}  // namespace

void parse_modules(const ChunkBytes& chunk, LoadState& state) {
  EntryReader r(chunk, "module", state);
  while (r.next()) {
    ModuleInfo m;
    std::string_view path, build_id;
    if (!(r.in.varint(m.id) && r.in.varint(m.base) && r.in.varint(m.lo) && r.in.varint(m.hi) &&
          r.in.string(path) && r.in.string(build_id))) {
      return r.bad();
    }
    if (m.hi < m.lo) return r.bad("its address range ends before it begins");
    m.path = path;
    m.build_id = build_id;
    state.modules.try_emplace(m.id, std::move(m));
  }
}

// parse_stacks() rejects a stack deeper than kMaxStackFrames before reading
// its frames: the count is never trusted to size anything.
void parse_stacks(const ChunkBytes& chunk, LoadState& state) {
  EntryReader r(chunk, "stack", state);
  while (r.next()) {
    std::uint64_t id = 0, count = 0;
    if (!r.in.varint(id) || !r.in.varint(count)) return r.bad();
    if (count > tf::kMaxStackFrames) {
      return r.bad(std::to_string(count) + " frames, over the limit of " + std::to_string(tf::kMaxStackFrames));
    }
    std::vector<std::uint64_t> frames(static_cast<std::size_t>(count));
    for (std::uint64_t& address : frames) {
      if (!r.in.varint(address)) return r.bad();
    }
    if (id == 0) return r.bad("stack id 0 means \"no stack\"");
    state.stacks.try_emplace(id, std::move(frames));
  }
}

void parse_symbols(const ChunkBytes& chunk, LoadState& state) {
  EntryReader r(chunk, "symbol", state);
  while (r.next()) {
    std::uint64_t address = 0, count = 0;
    if (!r.in.varint(address) || !r.in.varint(count)) return r.bad();
    if (count == 0 || count > kMaxScopes) return r.bad(std::to_string(count) + " scopes");
    std::vector<SymbolScope> scopes(static_cast<std::size_t>(count));
    for (SymbolScope& scope : scopes) {
      std::string_view function, file;
      std::uint64_t line = 0;
      if (!(r.in.string(function) && r.in.string(file) && r.in.varint(line)) || line > UINT32_MAX) {
        return r.bad();
      }
      scope.function = function;
      scope.file = file;
      scope.line = static_cast<std::uint32_t>(line);
    }
    state.symbols.try_emplace(address, std::move(scopes));
  }
}

// parse_run_info() reads the chunk's one entry; its time is converted once
// the clock is fitted (finish_stalls() runs after decoding).
void parse_run_info(const ChunkBytes& chunk, LoadState& state) {
  EntryReader r(chunk, "run-info", state);
  if (!r.next()) return r.bad("empty");
  std::uint64_t ticks = 0;
  std::string_view trigger, text;
  if (!(r.in.varint(ticks) && r.in.string(trigger) && r.in.string(text))) return r.bad();
  RunInfoDump dump;
  dump.trigger = trigger;
  dump.text = text;
  state.run_infos.emplace_back(ticks, std::move(dump));
}

}  // namespace gs::traceio::detail
