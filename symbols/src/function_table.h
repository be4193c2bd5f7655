// function_table.h: one module's functions sorted by address. libdw's own
// dwfl_module_addrinfo searches libc's 14,000-entry separate-debug symtab
// in 51-160 us per address (docs/research/unwinding-for-stall-hunting.md,
// d); this table is built once per module and then answers in nanoseconds.
#pragma once

#include <elfutils/libdwfl.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace gs::symbols::detail {

class FunctionTable {
 public:
  // Function is one STT_FUNC (or IFUNC resolver) symbol. name points into
  // the module's symbol table: valid while the Dwfl lives.
  struct Function {
    std::uint64_t lo = 0;
    std::uint64_t size = 0;  // 0: extends to the next function
    const char* name = nullptr;
  };

  // FunctionTable() reads the module's symbol table (its .symtab, the debug
  // file's, or .dynsym), keeping one name per address: aliases prefer the
  // fewest leading underscores (getpid over __getpid), then global, weak,
  // local.
  explicit FunctionTable(Dwfl_Module* module);

  // find() is the function containing a (biased) address, or null.
  const Function* find(std::uint64_t address) const;
  // nearest() is the function starting closest below `address`, whatever
  // its size says, or null: in a stripped library whose .dynsym names only
  // the exported functions, the best guess for a static one (see
  // Symbolizer::Impl::resolve()).
  const Function* nearest(std::uint64_t address) const;
  std::size_t size() const { return functions_.size(); }

 private:
  std::vector<Function> functions_;
};

// function_starts() are the first addresses (biased) of the module's
// .eh_frame FDEs, sorted, from .eh_frame_hdr's search table; empty where it
// has none or encodes it in a way not read here. Compilers write one FDE
// per function (and one per split-off .cold part), and stripping keeps
// them (unwinding needs them), so in a library stripped to its .dynsym they
// tell a static function from the exported one below it.
std::vector<std::uint64_t> function_starts(Dwfl_Module* module);

// plt_ranges() are the [lo, hi) ranges (biased) of the module's PLT
// sections (.plt, .plt.got, .plt.sec): stubs that jump out of the module,
// which .eh_frame covers with one FDE of their own and no symbol names.
std::vector<std::pair<std::uint64_t, std::uint64_t>> plt_ranges(Dwfl_Module* module);

}  // namespace gs::symbols::detail
