// function_table.cpp: building and searching a module's FunctionTable.
#include "function_table.h"

#include <gelf.h>

#include <algorithm>
#include <cstring>
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

namespace {

// Encodings of .eh_frame_hdr's fields (the LSB's DW_EH_PE_*): the table is
// written datarel sdata4 by GNU ld, gold and lld; others are not read.
constexpr std::uint8_t kPeUdata4 = 0x03, kPeSdata4 = 0x0b, kPeFormat = 0x0f;
constexpr std::uint8_t kPeDatarel = 0x30, kPeOmit = 0xff;

std::int64_t read_4(const unsigned char* p, std::uint8_t encoding) {
  std::uint32_t u = 0;
  std::memcpy(&u, p, 4);
  return (encoding & kPeFormat) == kPeSdata4 ? static_cast<std::int32_t>(u) : static_cast<std::int64_t>(u);
}

bool four_bytes(std::uint8_t encoding) {
  return encoding != kPeOmit && ((encoding & kPeFormat) == kPeUdata4 || (encoding & kPeFormat) == kPeSdata4);
}

}  // namespace

std::vector<std::uint64_t> function_starts(Dwfl_Module* module) {
  std::vector<std::uint64_t> out;
  GElf_Addr bias = 0;
  Elf* elf = dwfl_module_getelf(module, &bias);
  std::size_t count = 0;
  if (elf == nullptr || elf_getphdrnum(elf, &count) != 0) return out;
  for (std::size_t i = 0; i < count; ++i) {
    GElf_Phdr ph;
    if (gelf_getphdr(elf, static_cast<int>(i), &ph) == nullptr || ph.p_type != PT_GNU_EH_FRAME) continue;
    Elf_Data* data = elf_getdata_rawchunk(elf, static_cast<std::int64_t>(ph.p_offset), ph.p_filesz, ELF_T_BYTE);
    if (data == nullptr || data->d_size < 12) return out;
    const auto* p = static_cast<const unsigned char*>(data->d_buf);
    const std::uint8_t ptr_enc = p[1], count_enc = p[2], table_enc = p[3];
    if (p[0] != 1 || !four_bytes(ptr_enc) || !four_bytes(count_enc) || !four_bytes(table_enc) ||
        (table_enc & 0x70) != kPeDatarel)
      return out;
    const std::int64_t fdes = read_4(p + 8, count_enc);
    if (fdes <= 0 || static_cast<std::uint64_t>(fdes) > (data->d_size - 12) / 8) return out;
    out.reserve(static_cast<std::size_t>(fdes));
    for (std::int64_t k = 0; k < fdes; ++k)  // (initial location, FDE address) pairs, sorted
      out.push_back(ph.p_vaddr + static_cast<std::uint64_t>(read_4(p + 12 + 8 * k, table_enc)) + bias);
    std::sort(out.begin(), out.end());
    return out;
  }
  return out;
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> plt_ranges(Dwfl_Module* module) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
  GElf_Addr bias = 0;
  Elf* elf = dwfl_module_getelf(module, &bias);
  std::size_t names = 0;
  if (elf == nullptr || elf_getshdrstrndx(elf, &names) != 0) return out;
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn != nullptr; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr sh;
    if (gelf_getshdr(scn, &sh) == nullptr || (sh.sh_flags & SHF_EXECINSTR) == 0 || sh.sh_size == 0) continue;
    const char* name = elf_strptr(elf, names, sh.sh_name);
    if (name == nullptr || std::strncmp(name, ".plt", 4) != 0) continue;
    out.emplace_back(sh.sh_addr + bias, sh.sh_addr + sh.sh_size + bias);
  }
  return out;
}

const FunctionTable::Function* FunctionTable::nearest(std::uint64_t address) const {
  auto next = std::upper_bound(functions_.begin(), functions_.end(), address,
                               [](std::uint64_t a, const Function& f) { return a < f.lo; });
  return next == functions_.begin() ? nullptr : &*std::prev(next);
}

}  // namespace gs::symbols::detail
