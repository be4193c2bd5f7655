// scopes.h: the inline chain and source lines at an address, from DWARF.
#pragma once

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "greenscope/symbols.h"

namespace gs::symbols::detail {

// ScopeFinder answers for one module. libdw's dwarf_getscopes() walks the
// whole compilation unit from its root on every call (about 70 us in libc,
// over a millisecond in a C++ unit full of inlined templates), so the
// finder indexes each unit's functions by address on its first use and
// then walks only down one function's DIEs.
class ScopeFinder {
 public:
  explicit ScopeFinder(Dwfl_Module* module) : module_(module) {}

  // scopes_at() is the function scopes at a (biased) address, innermost
  // first, ending with the concrete function. The innermost scope's
  // file:line is the address's own line; each outer scope's is the call
  // site of the scope inside it (DW_AT_call_file/line), as addr2line -i
  // prints them. Names come from DWARF: demangled linkage names, qualified
  // and with parameters, where there are some; else the plain name (gcc
  // gives functions of an anonymous namespace none). Empty when the module
  // has no DWARF there; one nameless scope when there is a line but no
  // function DIE.
  std::vector<Scope> scopes_at(std::uint64_t address);

 private:
  // FunctionRange is one address range of a concrete function.
  struct FunctionRange {
    Dwarf_Addr lo = 0;
    Dwarf_Addr hi = 0;
    Dwarf_Die die{};
  };

  // UnitRange is one address range of a compilation unit (its DIE's
  // DW_AT_low_pc/high_pc or DW_AT_ranges).
  struct UnitRange {
    Dwarf_Addr lo = 0;
    Dwarf_Addr hi = 0;
    Dwarf_Die die{};
  };

  const std::vector<FunctionRange>& functions_of(Dwarf_Die* cu);
  bool chain_from_index(Dwarf_Die* cu, Dwarf_Addr pc, std::vector<Dwarf_Die>& chain);
  Dwarf_Die* unit_from_ranges(std::uint64_t address, Dwarf_Addr& bias);

  Dwfl_Module* module_;
  std::unordered_map<Dwarf_Off, std::vector<FunctionRange>> units_;  // by the unit DIE's offset
  // unit_ranges_: every unit's ranges by lo, built on the first address
  // libdw's own lookup misses (see unit_from_ranges()).
  std::vector<UnitRange> unit_ranges_;
  Dwarf_Addr unit_bias_ = 0;
  bool unit_ranges_built_ = false;
};

}  // namespace gs::symbols::detail
