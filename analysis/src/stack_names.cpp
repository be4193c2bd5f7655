// stack_names.cpp: StackNames (stack_names.h).
#include "greenscope/analysis/stack_names.h"

#include <cinttypes>
#include <cstdio>

#include "greenscope/function_summary.h"
#include "greenscope/symbols.h"

namespace gs::analysis {

namespace {

std::string hex(std::uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%" PRIx64, value);
  return text;
}

std::string base_name(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// scope_text() is "function (file:line)", the function falling back to
// the address's module+offset.
std::string scope_text(const traceio::SymbolScope& scope, const std::string& fallback) {
  std::string text = scope.function.empty() ? fallback : scope.function;
  if (scope.file.empty()) return text;
  text += " (" + scope.file;
  if (scope.line != 0) text += ":" + std::to_string(scope.line);
  return text + ")";
}

// folded_name() keeps a demangled name whole but for the characters the
// folded format gives a meaning: ';' separates frames, a line ends a stack.
std::string folded_name(std::string name) {
  for (char& c : name) {
    if (c == ';') c = ':';
    if (c == '\n' || c == '\r') c = ' ';
  }
  return name;
}

}  // namespace

StackNames::StackNames(const traceio::Trace& trace) : trace_(trace) {}

StackNames::~StackNames() = default;

const AddressName& StackNames::name(std::uint64_t address) {
  const auto it = cache_.find(address);
  if (it != cache_.end()) return it->second;
  return cache_.emplace(address, resolve(address)).first->second;
}

std::string StackNames::module_offset(std::uint64_t address) const {
  const traceio::ModuleInfo* m = trace_.module_at(address);
  return m == nullptr ? hex(address) : base_name(m->path) + "+" + hex(address - m->base);
}

// resolve() prefers what the writer resolved in the live process; the
// Symbolizer is made only for the first address the writer left out.
AddressName StackNames::resolve(std::uint64_t address) {
  AddressName out;
  out.fallback = module_offset(address);
  if (const auto* scopes = trace_.symbols(address)) {
    out.scopes = *scopes;
    return out;
  }
  if (!tried_symbolizer_) {
    tried_symbolizer_ = true;
    if (!trace_.modules().empty()) {
      std::vector<symbols::Module> modules;
      for (const traceio::ModuleInfo& m : trace_.modules())
        modules.push_back(symbols::Module{m.path, m.build_id, m.base, m.lo, m.hi});
      symbolizer_ = std::make_unique<symbols::Symbolizer>(std::move(modules));
    }
  }
  if (symbolizer_ == nullptr) return out;
  const symbols::Location where = symbolizer_->lookup(address);
  for (const symbols::Scope& s : where.scopes)
    out.scopes.push_back(traceio::SymbolScope{s.function, s.file, static_cast<std::uint32_t>(s.line)});
  return out;
}

std::vector<std::string> StackNames::lines(std::uint64_t stack_id) {
  if (stack_id == 0) return {"(no stack)"};
  const auto* stack = trace_.stack(stack_id);
  if (stack == nullptr) return {"(stack " + std::to_string(stack_id) + " lost: its Stacks chunk is missing)"};
  if (stack->empty()) return {"(empty stack)"};
  return lines(*stack);
}

std::vector<std::string> StackNames::lines(const std::vector<std::uint64_t>& stack) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < stack.size(); ++i) {
    const AddressName& n = name(stack[i]);
    const std::string number = "#" + std::to_string(i) + " ";
    const std::string indent(number.size(), ' ');
    if (n.scopes.empty()) {
      out.push_back(number + n.fallback);
      continue;
    }
    for (std::size_t s = 0; s < n.scopes.size(); ++s) {
      const bool inlined = s + 1 < n.scopes.size();
      out.push_back((s == 0 ? number : indent) + scope_text(n.scopes[s], n.fallback) + (inlined ? " [inlined]" : ""));
    }
  }
  return out;
}

std::string StackNames::folded(const std::vector<std::uint64_t>& stack) {
  std::string text;
  auto add = [&text](const std::string& frame) {
    if (!text.empty()) text += ';';
    text += frame.empty() ? "?" : frame;
  };
  for (auto address = stack.rbegin(); address != stack.rend(); ++address) {
    const AddressName& n = name(*address);
    if (n.scopes.empty()) {
      add(folded_name(n.fallback));
      continue;
    }
    // Outermost scope first: the function the others were inlined into.
    for (std::size_t s = n.scopes.size(); s-- > 0;) {
      const std::string& function = n.scopes[s].function;
      // A name guessed from .dynsym ("deflate?+0x26") is one frame whatever its offset.
      add(folded_name(function.empty() ? n.fallback : symbols::function_key(function)) +
          (s + 1 < n.scopes.size() ? "_[i]" : ""));
    }
  }
  return text;
}

std::vector<std::string> StackNames::notes() const {
  return symbolizer_ == nullptr ? std::vector<std::string>{} : symbolizer_->problems();
}

}  // namespace gs::analysis
