// scopes.cpp: walking libdw's scopes at an address into Scope values.
#include "scopes.h"

#include <dwarf.h>
#include <elfutils/libdw.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "demangle.h"

namespace gs::symbols::detail {
namespace {

// function_name() prefers the linkage name, which demangles to the
// qualified name with its parameters, like the symbol table's names do.
std::string function_name(Dwarf_Die* die) {
  for (const int name_attribute : {DW_AT_linkage_name, DW_AT_MIPS_linkage_name}) {
    Dwarf_Attribute attribute;
    if (dwarf_attr_integrate(die, name_attribute, &attribute) != nullptr)
      if (const char* linkage = dwarf_formstring(&attribute)) return demangle(linkage);
  }
  const char* name = dwarf_diename(die);
  return name != nullptr ? name : "";
}

// source_path() is a line table's file name with its "." and ".." steps
// resolved: clang writes header paths as its driver found them
// ("/usr/bin/../lib/gcc/x86_64-linux-gnu/12/../../../../include/c++/12/..."),
// which reads badly and hides that the file is a system header.
std::string source_path(const char* file) {
  const std::string_view path(file);
  if (path.find("/./") == std::string_view::npos && path.find("/../") == std::string_view::npos) return std::string(path);
  return std::filesystem::path(path).lexically_normal().string();
}

// call_site() is where an inlined_subroutine DIE was called from.
void call_site(Dwarf_Die* inlined, Scope& caller) {
  Dwarf_Attribute attribute;
  Dwarf_Word file = 0;
  Dwarf_Word line = 0;
  if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_line, &attribute), &line) == 0)
    caller.line = static_cast<unsigned>(line);
  if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_file, &attribute), &file) != 0) return;
  Dwarf_Die cu;
  Dwarf_Files* files = nullptr;
  std::size_t count = 0;
  if (dwarf_diecu(inlined, &cu, nullptr, nullptr) == nullptr || dwarf_getsrcfiles(&cu, &files, &count) != 0 ||
      file >= count)
    return;
  if (const char* name = dwarf_filesrc(files, file, nullptr, nullptr)) caller.file = source_path(name);
}

// line_scope() is the address's own file:line, in a nameless Scope.
Scope line_scope(Dwfl_Module* module, std::uint64_t address) {
  Scope scope;
  if (Dwfl_Line* line = dwfl_module_getsrc(module, address)) {
    int number = 0;
    if (const char* file = dwfl_lineinfo(line, nullptr, &number, nullptr, nullptr, nullptr)) {
      scope.file = source_path(file);
      scope.line = number > 0 ? static_cast<unsigned>(number) : 0;
    }
  }
  return scope;
}

// unit_line_scope() is line_scope() from a unit found without libdw's
// address lookup: the unit's own line table at a DWARF address.
Scope unit_line_scope(Dwarf_Die* cu, Dwarf_Addr pc) {
  Scope scope;
  if (Dwarf_Line* line = dwarf_getsrc_die(cu, pc)) {
    int number = 0;
    if (const char* file = dwarf_linesrc(line, nullptr, nullptr)) {
      scope.file = source_path(file);
      if (dwarf_lineno(line, &number) == 0 && number > 0) scope.line = static_cast<unsigned>(number);
    }
  }
  return scope;
}

bool is_function(Dwarf_Die* die) {
  const int tag = dwarf_tag(die);
  return tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram;
}

bool has_pc_attributes(Dwarf_Die* die) {
  return dwarf_hasattr(die, DW_AT_low_pc) != 0 || dwarf_hasattr(die, DW_AT_ranges) != 0;
}

// descend() appends the inlined scopes below parent that hold pc, outer
// to inner, following the one child on the path at each level. Blocks without
// addresses of their own are searched too (rare: gcc prunes them).
bool descend(Dwarf_Die* parent, Dwarf_Addr pc, std::vector<Dwarf_Die>& chain) {
  Dwarf_Die child;
  if (dwarf_child(parent, &child) != 0) return false;
  do {
    const int tag = dwarf_tag(&child);
    if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_lexical_block && tag != DW_TAG_try_block &&
        tag != DW_TAG_catch_block)
      continue;
    if (dwarf_haspc(&child, pc) == 1) {
      if (tag == DW_TAG_inlined_subroutine) chain.push_back(child);
      descend(&child, pc, chain);
      return true;
    }
    if (tag == DW_TAG_lexical_block && !has_pc_attributes(&child) && descend(&child, pc, chain)) return true;
  } while (dwarf_siblingof(&child, &child) == 0);
  return false;
}

// collect_functions() lists the concrete functions' ranges under a unit,
// looking into namespaces and classes but not into function bodies.
template <typename Range>
void collect_functions(Dwarf_Die* parent, std::vector<Range>& out) {
  Dwarf_Die child;
  if (dwarf_child(parent, &child) != 0) return;
  do {
    switch (dwarf_tag(&child)) {
      case DW_TAG_subprogram: {
        Dwarf_Addr base = 0, lo = 0, hi = 0;
        for (ptrdiff_t at = 0; (at = dwarf_ranges(&child, at, &base, &lo, &hi)) > 0;)
          if (lo < hi) out.push_back({lo, hi, child});
        break;
      }
      case DW_TAG_namespace:
      case DW_TAG_class_type:
      case DW_TAG_structure_type:
      case DW_TAG_union_type:
        collect_functions(&child, out);
        break;
      default:
        break;
    }
  } while (dwarf_siblingof(&child, &child) == 0);
}

// chain_from_getscopes() is the slow path, for what the index misses
// (functions nested where collect_functions() does not look): the
// innermost function scope from dwarf_getscopes(), then its concrete
// parents from dwarf_getscopes_die(). After an inlined scope,
// dwarf_getscopes() itself goes on with the scopes around the inlined
// function's definition (for variable lookup), not with its caller.
bool chain_from_getscopes(Dwarf_Die* cu, Dwarf_Addr pc, std::vector<Dwarf_Die>& chain) {
  Dwarf_Die* raw = nullptr;
  const int count = dwarf_getscopes(cu, pc, &raw);
  std::unique_ptr<Dwarf_Die, decltype(&std::free)> scopes(raw, &std::free);
  int first = 0;
  while (first < count && !is_function(&scopes.get()[first])) ++first;
  if (first >= count) return false;
  Dwarf_Die function = scopes.get()[first];
  raw = nullptr;
  const int nesting = dwarf_getscopes_die(&function, &raw);
  scopes.reset(raw);
  for (int i = 0; i < nesting; ++i) {
    Dwarf_Die* die = &scopes.get()[i];
    if (!is_function(die)) continue;
    chain.push_back(*die);
    if (dwarf_tag(die) == DW_TAG_subprogram) break;
  }
  return !chain.empty();
}

}  // namespace

const std::vector<ScopeFinder::FunctionRange>& ScopeFinder::functions_of(Dwarf_Die* cu) {
  auto [it, added] = units_.try_emplace(dwarf_dieoffset(cu));
  if (added) {
    collect_functions(cu, it->second);
    std::sort(it->second.begin(), it->second.end(),
              [](const FunctionRange& a, const FunctionRange& b) { return a.lo < b.lo; });
  }
  return it->second;
}

bool ScopeFinder::chain_from_index(Dwarf_Die* cu, Dwarf_Addr pc, std::vector<Dwarf_Die>& chain) {
  const std::vector<FunctionRange>& functions = functions_of(cu);
  auto next = std::upper_bound(functions.begin(), functions.end(), pc,
                               [](Dwarf_Addr a, const FunctionRange& f) { return a < f.lo; });
  if (next == functions.begin() || pc >= std::prev(next)->hi) return false;
  Dwarf_Die function = std::prev(next)->die;
  chain.push_back(function);
  descend(&function, pc, chain);
  std::reverse(chain.begin(), chain.end());
  return true;
}

// unit_from_ranges() is the unit holding an address when libdw cannot say:
// dwfl_module_addrdie() and dwfl_module_getsrc() look units up by
// .debug_aranges, which clang does not write unless asked (-gdwarf-aranges),
// so without this no address of a clang-built program had a file:line or an
// inline chain. The units' own ranges are indexed once per module.
Dwarf_Die* ScopeFinder::unit_from_ranges(std::uint64_t address, Dwarf_Addr& bias) {
  if (!unit_ranges_built_) {
    unit_ranges_built_ = true;
    Dwarf_Addr unit_bias = 0;
    for (Dwarf_Die* cu = nullptr; (cu = dwfl_module_nextcu(module_, cu, &unit_bias)) != nullptr;) {
      unit_bias_ = unit_bias;
      Dwarf_Addr base = 0, lo = 0, hi = 0;
      for (ptrdiff_t at = 0; (at = dwarf_ranges(cu, at, &base, &lo, &hi)) > 0;)
        if (lo < hi) unit_ranges_.push_back({lo, hi, *cu});
    }
    std::sort(unit_ranges_.begin(), unit_ranges_.end(), [](const UnitRange& a, const UnitRange& b) { return a.lo < b.lo; });
  }
  bias = unit_bias_;
  const Dwarf_Addr pc = address - unit_bias_;
  auto next = std::upper_bound(unit_ranges_.begin(), unit_ranges_.end(), pc,
                               [](Dwarf_Addr a, const UnitRange& u) { return a < u.lo; });
  if (next == unit_ranges_.begin() || pc >= std::prev(next)->hi) return nullptr;
  return &std::prev(next)->die;
}

std::vector<Scope> ScopeFinder::scopes_at(std::uint64_t address) {
  std::vector<Scope> result;
  Scope innermost = line_scope(module_, address);
  Dwarf_Addr bias = 0;
  Dwarf_Die* cu = dwfl_module_addrdie(module_, address, &bias);
  if (cu == nullptr) {
    cu = unit_from_ranges(address, bias);
    if (cu != nullptr && innermost.file.empty()) innermost = unit_line_scope(cu, address - bias);
  }
  std::vector<Dwarf_Die> chain;  // innermost first, the concrete function last
  if (cu != nullptr && !chain_from_index(cu, address - bias, chain)) chain_from_getscopes(cu, address - bias, chain);
  Dwarf_Die* inside = nullptr;  // the inlined scope just visited: its call site is the next scope's line
  for (Dwarf_Die& die : chain) {
    Scope scope = result.empty() ? std::move(innermost) : Scope{};
    if (inside != nullptr) call_site(inside, scope);
    scope.function = function_name(&die);
    result.push_back(std::move(scope));
    inside = &die;
  }
  // No function scope covers the address (crt1.o's _start, code built
  // without -g): the line table's nearest row would belong to some other
  // function, so no file:line is given; a wrong one is worse.
  return result;
}

}  // namespace gs::symbols::detail
