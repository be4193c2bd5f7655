// function_table.cpp: building and searching a module's FunctionTable.
#include "function_table.h"

#include <algorithm>
#include <tuple>

namespace gs::symbols::detail {
namespace {

struct Candidate {
  FunctionTable::Function function;
  int underscores = 0;
  int binding_rank = 0;  // global 0, weak 1, local 2
  int index = 0;         // symtab order breaks the last ties: stable output
  auto key() const { return std::tie(function.lo, underscores, binding_rank, index); }
};

int binding_rank(unsigned char info) {
  switch (GELF_ST_BIND(info)) {
    case STB_GLOBAL: return 0;
    case STB_WEAK: return 1;
    default: return 2;
  }
}

int leading_underscores(const char* name) {
  int n = 0;
  while (name[n] == '_') ++n;
  return n;
}

}  // namespace

FunctionTable::FunctionTable(Dwfl_Module* module) {
  const int count = dwfl_module_getsymtab(module);
  std::vector<Candidate> candidates;
  candidates.reserve(count > 0 ? static_cast<std::size_t>(count) : 0);
  for (int i = 1; i < count; ++i) {  // entry 0 is the null symbol
    GElf_Sym sym;
    GElf_Addr address = 0;
    GElf_Word shndx = 0;
    const char* name = dwfl_module_getsym_info(module, i, &sym, &address, &shndx, nullptr, nullptr);
    const int type = GELF_ST_TYPE(sym.st_info);
    if (name == nullptr || name[0] == '\0' || (type != STT_FUNC && type != STT_GNU_IFUNC)) continue;
    if (sym.st_shndx == SHN_UNDEF || address == 0) continue;
    candidates.push_back({{address, sym.st_size, name}, leading_underscores(name), binding_rank(sym.st_info), i});
  }
  std::sort(candidates.begin(), candidates.end(),
            [](const Candidate& a, const Candidate& b) { return a.key() < b.key(); });
  functions_.reserve(candidates.size());
  for (const Candidate& c : candidates) {
    if (!functions_.empty() && functions_.back().lo == c.function.lo) {
      functions_.back().size = std::max(functions_.back().size, c.function.size);  // an alias
      continue;
    }
    functions_.push_back(c.function);
  }
}

const FunctionTable::Function* FunctionTable::find(std::uint64_t address) const {
  auto next = std::upper_bound(functions_.begin(), functions_.end(), address,
                               [](std::uint64_t a, const Function& f) { return a < f.lo; });
  if (next == functions_.begin()) return nullptr;
  const Function& f = *std::prev(next);
  return f.size == 0 || address - f.lo < f.size ? &f : nullptr;
}

const FunctionTable::Function* FunctionTable::nearest(std::uint64_t address) const {
  auto next = std::upper_bound(functions_.begin(), functions_.end(), address,
                               [](std::uint64_t a, const Function& f) { return a < f.lo; });
  return next == functions_.begin() ? nullptr : &*std::prev(next);
}

}  // namespace gs::symbols::detail
