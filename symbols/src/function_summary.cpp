// function_summary.cpp: FunctionSummaryBuilder and the own-code rules
// (function_summary.h).
#include "greenscope/function_summary.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

namespace gs::symbols {
namespace {

bool under(std::string_view path, std::string_view dir) {
  return path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/';
}

std::string_view base_name(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string percent(std::uint64_t part, std::uint64_t whole) {
  char text[16];
  std::snprintf(text, sizeof text, "%.0f %%", whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole));
  return text;
}

// where() is " (file:line)" or " (module)" for a row, "" if neither.
std::string where(const FunctionRow& r, bool prefer_file) {
  if (prefer_file && !r.file.empty())
    return " (" + std::string(base_name(r.file)) + (r.line != 0 ? ":" + std::to_string(r.line) : "") + ")";
  if (!r.own && !r.module.empty()) return " (" + std::string(base_name(r.module)) + ")";
  return "";
}

}  // namespace

bool is_system_module(std::string_view path) {
  if (path.empty()) return false;
  if (path == "[vdso]") return true;
  for (std::string_view dir : {"/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/libexec", "/lib32", "/usr/lib32"})
    if (under(path, dir)) return true;
  return base_name(path).starts_with("libgreenscope_");
}

namespace {
bool is_system_header_path(std::string_view file) {
  return under(file, "/usr/include") || under(file, "/usr/lib") || file.find("/include/greenscope/") != std::string_view::npos;
}
}  // namespace

bool is_system_source(std::string_view file) {
  // Traces recorded before the symbolizer resolved "." and ".." may hold
  // clang's "/usr/bin/../lib/gcc/.../../../../include/..." paths. (Resolved
  // once: a relative "../../x" keeps its "/../".)
  if (file.find("/./") != std::string_view::npos || file.find("/../") != std::string_view::npos)
    return is_system_header_path(std::filesystem::path(file).lexically_normal().string());
  return is_system_header_path(file);
}

bool is_sanitizer_runtime(const SampledFrame& frame) {
  for (std::string_view prefix :
       {"__asan", "__tsan", "__ubsan", "__lsan", "__msan", "__sanitizer", "__interceptor_", "__interception"})
    if (std::string_view(frame.function).starts_with(prefix)) return true;
  return frame.file.find("/compiler-rt/") != std::string::npos;
}

bool is_own_code(const SampledFrame& frame) {
  return !is_system_module(frame.module) && !is_system_source(frame.file) && !is_sanitizer_runtime(frame);
}

std::string function_key(std::string_view function) {
  const std::size_t guess = function.find("?+0x");
  return std::string(guess == std::string_view::npos ? function : function.substr(0, guess + 1));
}

FunctionRow& FunctionSummaryBuilder::row(const SampledFrame& frame, std::size_t& index) {
  std::string key = frame.module;
  key += '\0';
  key += function_key(frame.function);
  auto it = std::lower_bound(index_.begin(), index_.end(), key,
                             [](const auto& entry, const std::string& k) { return entry.first < k; });
  if (it == index_.end() || it->first != key) {
    FunctionRow r;
    r.function = function_key(frame.function);
    r.module = frame.module;
    r.file = frame.file;
    r.line = frame.line;
    r.own = is_own_code(frame);
    it = index_.insert(it, {std::move(key), summary_.rows.size()});
    summary_.rows.push_back(std::move(r));
  }
  index = it->second;
  return summary_.rows[index];
}

void FunctionSummaryBuilder::add(const SampledStack& stack) {
  if (stack.empty()) {
    add_without_stack();
    return;
  }
  ++summary_.samples;
  seen_.clear();
  bool led = false;
  for (std::size_t i = 0; i < stack.size(); ++i) {
    std::size_t index = 0;
    FunctionRow& r = row(stack[i], index);
    if (i == 0) ++r.self;
    // The row's own flag is its first frame's: a function's frames all come
    // from one module, and from one file but for inlined headers.
    if (!led && is_own_code(stack[i])) {
      ++r.leads;
      led = true;
    }
    if (std::find(seen_.begin(), seen_.end(), index) != seen_.end()) continue;  // recursion: once a sample
    seen_.push_back(index);
    ++r.inclusive;
  }
}

FunctionSummary FunctionSummaryBuilder::finish() {
  FunctionSummary out = std::move(summary_);
  summary_ = FunctionSummary{};
  index_.clear();
  std::stable_sort(out.rows.begin(), out.rows.end(), [](const FunctionRow& a, const FunctionRow& b) {
    return a.inclusive != b.inclusive ? a.inclusive > b.inclusive : a.self > b.self;
  });
  std::uint64_t best = 0;
  for (std::size_t i = 0; i < out.rows.size(); ++i)
    if (out.rows[i].leads > best) {
      best = out.rows[i].leads;
      out.culprit = static_cast<int>(i);
    }
  return out;
}

const FunctionRow* FunctionSummary::culprit_row() const {
  if (culprit < 0 || static_cast<std::size_t>(culprit) >= rows.size()) return nullptr;
  return &rows[static_cast<std::size_t>(culprit)];
}

std::vector<const FunctionRow*> FunctionSummary::hottest() const {
  std::vector<const FunctionRow*> out;
  for (const FunctionRow& r : rows)
    if (r.self > 0) out.push_back(&r);
  std::stable_sort(out.begin(), out.end(), [](const FunctionRow* a, const FunctionRow* b) { return a->self > b->self; });
  return out;
}

std::string FunctionSummary::line(std::size_t max_self) const {
  if (samples == 0) return "no stack sampled";
  std::string out;
  if (const FunctionRow* c = culprit_row())
    out = c->function + where(*c, true) + " on " + std::to_string(c->inclusive) + " of " + std::to_string(samples) +
          " samples";
  else
    out = "no frame of the program's own code";
  const std::vector<const FunctionRow*> hot = hottest();
  // Self time is worth a word when it is elsewhere than in the culprit.
  if (hot.empty() || (hot.size() == 1 && hot.front() == culprit_row())) return out;
  out += "; self: ";
  for (std::size_t i = 0; i < hot.size() && i < max_self; ++i) {
    if (i > 0) out += ", ";
    out += hot[i]->function + where(*hot[i], false) + " " + percent(hot[i]->self, samples);
  }
  if (hot.size() > max_self) out += ", ...";
  return out;
}

}  // namespace gs::symbols
