// describe.cpp: one line per Location, for reports and dumps.
#include <cinttypes>
#include <cstdio>

#include "greenscope/symbols.h"

namespace gs::symbols {
namespace {

std::string hex(std::uint64_t value) {
  char text[2 + 16 + 1];
  std::snprintf(text, sizeof text, "0x%" PRIx64, value);
  return text;
}

}  // namespace

std::string describe(std::uint64_t address, const Location& where) {
  if (where.module == nullptr) return hex(address);
  const std::string place = module_name(*where.module) + "+" + hex(where.offset);
  if (where.scopes.empty()) return place;
  std::string text;
  for (const Scope& scope : where.scopes) {
    if (!text.empty()) text += " [inlined into] ";
    text += scope.function.empty() ? place : scope.function;
    if (scope.file.empty()) continue;
    text += " (" + scope.file;
    if (scope.line != 0) text += ":" + std::to_string(scope.line);
    text += ")";
  }
  return text;
}

}  // namespace gs::symbols
