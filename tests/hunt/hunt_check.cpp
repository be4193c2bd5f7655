// hunt_check.cpp: a planted run's trace against its truth.
#include "hunt_check.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>

#include "greenscope/analysis/stack_names.h"
#include "greenscope/analysis/stall_model.h"

namespace hunt {

namespace analysis = gs::analysis;

namespace {

#if defined(GS_SANITIZE_THREAD)
constexpr bool kTsan = true;
#else
constexpr bool kTsan = false;
#endif
#if defined(GS_SANITIZE_ADDRESS)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif

using traceio::StallInfo;
using traceio::StallOwner;

std::string decoded(const std::string& v) {
  if (v == "-") return "";
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v.compare(i, 3, "%20") == 0) {
      out += ' ';
      i += 2;
    } else {
      out += v[i];
    }
  }
  return out;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  if (text.empty() || text == "-") return out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, sep);) out.push_back(item);
  return out;
}

// names_function() is true when the demangled `scope` is the function
// `name`: "hunt::(anonymous namespace)::hunt_spin(std::chrono::...)" or
// "hunt_read_reply(int) [clone .isra.0]" are hunt_spin and hunt_read_reply.
bool names_function(const std::string& scope, const std::string& name) {
  for (std::size_t at = scope.find(name); at != std::string::npos; at = scope.find(name, at + 1)) {
    const std::size_t end = at + name.size();
    const bool starts = at == 0 || scope[at - 1] == ':';
    const bool ends = end == scope.size() || scope[end] == '(' || scope[end] == ' ';
    if (starts && ends) return true;
  }
  return false;
}

// own_module() is the planted program itself (not a library).
bool own_module(const traceio::ModuleInfo* m) {
  if (m == nullptr) return false;
  const std::size_t slash = m->path.rfind('/');
  return m->path.substr(slash == std::string::npos ? 0 : slash + 1) == "hunt_planted";
}

// system_source() is code inlined from a system or greenscope header
// (std::mutex::lock, the greenlet's entry): the library's, not the program's.
bool system_source(const std::string& file) {
  return file.rfind("/usr/", 0) == 0 || file.find("include/greenscope/") != std::string::npos;
}

// reaches_entry() is true when a stack goes down to the greenlet's entry
// or the hub's loop: a whole stack, not one an unwinder gave up on.
bool reaches_entry(const traceio::Trace& trace, analysis::StackNames& names, const std::vector<std::uint64_t>& stack) {
  (void)trace;
  for (const std::uint64_t address : stack)
    for (const traceio::SymbolScope& scope : names.name(address).scopes)
      if (scope.function.find("GreenletImpl") != std::string::npos || scope.function.find("ev_run") != std::string::npos)
        return true;
  return false;
}

void count_samples(const traceio::Trace& trace, analysis::StackNames& names, const StallInfo& s,
                   const std::string& function, Samples& out) {
  for (const traceio::StallSampleInfo& sample : s.samples) {
    ++out.all;
    out.in_syscall += sample.in_syscall;
    const std::vector<std::uint64_t>* stack = trace.stack(sample.stack);
    if (stack == nullptr || stack->empty()) continue;
    ++out.with_stack;
    bool has = false;
    std::string first_own;
    for (const std::uint64_t address : *stack) {
      const bool own = own_module(trace.module_at(address));
      for (const traceio::SymbolScope& scope : names.name(address).scopes) {
        if (names_function(scope.function, function)) has = true;
        if (own && first_own.empty() && !system_source(scope.file)) first_own = scope.function;
      }
    }
    out.inclusive += has;
    if (!has && out.without.empty()) out.without = names.lines(*stack);
    if (!has && !reaches_entry(trace, names, *stack)) ++out.truncated;
    out.led += !first_own.empty() && names_function(first_own, function);
  }
}

bool is_planted(const Truth& t, const StallInfo& s) {
  if (!s.has_begin) return false;
  if (t.owner == "callback") return s.owner == StallOwner::Callback;
  return t.owner == "greenlet" && s.owner == StallOwner::Greenlet && s.greenlet == t.greenlet_id;
}

// planted_window() is [first renderer's spawn, last renderer's exit] in
// trace time (rare-yields).
std::pair<std::int64_t, std::int64_t> planted_window(const Truth& t, const traceio::Trace& trace) {
  std::int64_t from = INT64_MAX, to = 0;
  for (const std::uint64_t id : t.run_greenlets) {
    const auto g = trace.greenlets().find(id);
    if (g == trace.greenlets().end()) continue;
    from = std::min(from, g->second.spawn_ns);
    to = std::max(to, g->second.exit_ns);
  }
  return {from, to};
}

}  // namespace

std::optional<Truth> parse_truth(const std::string& out) {
  const std::size_t at = out.rfind("truth ");
  if (at == std::string::npos) return std::nullopt;
  const std::size_t end = out.find('\n', at);
  std::map<std::string, std::string> kv;
  for (const std::string& word : split(out.substr(at + 6, end - at - 6), ' ')) {
    const std::size_t eq = word.find('=');
    if (eq != std::string::npos) kv[word.substr(0, eq)] = word.substr(eq + 1);
  }
  Truth t;
  t.kind = kv["kind"];
  t.owner = kv["owner"];
  t.greenlet = decoded(kv["greenlet"]);
  t.function = kv["function"];
  t.expect = kv["expect"];
  t.greenlet_id = std::strtoull(kv["greenlet_id"].c_str(), nullptr, 10);
  t.calls = split(kv["calls"], ',');
  t.duration_ns = std::strtoll(kv["duration_ns"].c_str(), nullptr, 10);
  t.cpu_ns = std::strtoll(kv["cpu_ns"].c_str(), nullptr, 10);
  t.call_count = std::strtoll(kv["call_count"].c_str(), nullptr, 10);
  for (const std::string& v : split(kv["runs_ns"], ',')) t.runs_ns.push_back(std::strtoll(v.c_str(), nullptr, 10));
  for (const std::string& v : split(kv["run_bounds_ns"], ','))
    t.run_bounds_ns.push_back(std::strtoll(v.c_str(), nullptr, 10));
  for (const std::string& v : split(kv["run_greenlets"], ','))
    t.run_greenlets.push_back(std::strtoull(v.c_str(), nullptr, 10));
  if (t.kind.empty() || t.function.empty()) return std::nullopt;
  return t;
}


Finding examine(const Truth& truth, const std::string& trace_path) {
  Finding f;
  f.truth = truth;
  traceio::LoadResult loaded = traceio::load(trace_path);
  if (!loaded.trace) {
    f.load_error = loaded.error;
    return f;
  }
  f.trace = std::move(loaded.trace);
  const traceio::Trace& trace = *f.trace;
  for (const StallInfo& s : trace.stalls()) {
    const bool renderer = std::find(truth.run_greenlets.begin(), truth.run_greenlets.end(), s.greenlet) !=
                          truth.run_greenlets.end();
    if (truth.owner == "none" && s.owner == StallOwner::Greenlet && renderer) {
      ++f.renderer_stalls[s.greenlet];
    } else if (is_planted(truth, s) && (!f.planted || s.duration_ns > f.planted->duration_ns)) {
      if (f.planted) f.others.push_back(*f.planted);
      f.planted = s;
    } else {
      f.others.push_back(s);
    }
  }
  if (f.planted) {
    analysis::StackNames names(trace);
    count_samples(trace, names, *f.planted, truth.function, f.samples);
    f.culprit = analysis::culprit_name(trace, *f.planted);
    f.duration_error = truth.duration_ns > 0 ? static_cast<double>(f.planted->duration_ns - truth.duration_ns) /
                                                   static_cast<double>(truth.duration_ns)
                                             : 0;
  }
  if (truth.owner == "none") {
    const auto [from, to] = planted_window(truth, trace);
    for (const traceio::ThreadInfo& th : trace.threads())
      for (const traceio::Event& e : th.events) {
        if (e.type != traceio::EventType::LoopLag) continue;
        const std::int64_t overlap = std::min(e.time_ns, to) - std::max(e.time_ns - e.c, from);
        if (overlap <= 0) continue;
        ++f.lags;
        f.lag_ns += overlap;
      }
  }
  return f;
}

namespace {

std::string ms(std::int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", static_cast<double>(ns) / 1e6);
  return buf;
}

// describe() says what another stall was: culprit, duration, kind, CPU,
// samples and the innermost named frame of its first sampled stack.
std::string describe(const traceio::Trace& trace, const StallInfo& s) {
  std::string text = analysis::culprit_name(trace, s) + " " + ms(s.duration_ns) + " " + verdict_text(trace, s) + " at " +
                     ms(s.start_ns);
  if (s.cpu_window_ns > 0)
    text += ", " + std::to_string(s.cpu_ns * 100 / s.cpu_window_ns) + " % CPU over " + ms(s.cpu_window_ns);
  text += ", " + std::to_string(s.samples.size()) + " samples";
  analysis::StackNames names(trace);
  for (const traceio::StallSampleInfo& sample : s.samples)
    if (const std::vector<std::uint64_t>* stack = trace.stack(sample.stack); stack != nullptr && !stack->empty()) {
      for (const std::string& line : names.lines(*stack)) text += "\n      " + line;
      break;
    }
  return text;
}

void check_rare_yields(const Finding& f, std::vector<Problem>& out) {
  const Truth& t = f.truth;
  if (t.run_bounds_ns.size() != t.runs_ns.size() || t.run_greenlets.size() != t.runs_ns.size()) {
    out.push_back({"the truth has " + std::to_string(t.runs_ns.size()) + " runs but " +
                       std::to_string(t.run_bounds_ns.size()) + " bounds on their holds and " +
                       std::to_string(t.run_greenlets.size()) + " renderer ids",
                   ""});
    return;
  }
  // A run over 11 ms by the program's clock held the thread longer still:
  // it must be a stall. A hold that cannot have reached 9 ms (the run with
  // the switches around it, up to the runs either side) must not be one.
  // The threshold is 10 ms.
  struct Count {
    std::size_t over = 0, maybe = 0;
  };
  std::map<std::uint64_t, Count> runs;  // by renderer id
  for (std::size_t k = 0; k < t.runs_ns.size(); ++k) {
    Count& c = runs[t.run_greenlets[k]];
    c.over += t.runs_ns[k] > kThresholdNs * 11 / 10;
    c.maybe += t.run_bounds_ns[k] > kThresholdNs * 9 / 10;
  }
  for (const auto& [id, c] : runs) {
    const auto found = f.renderer_stalls.find(id);
    const std::size_t stalls = found == f.renderer_stalls.end() ? 0 : found->second;
    if (stalls < c.over || stalls > c.maybe)
      out.push_back({f.trace->greenlet_name(id) + "#" + std::to_string(id) + ": " + std::to_string(stalls) +
                         " stalls, but " + std::to_string(c.over) + " of its runs took over 11 ms by the program's clock and " +
                         std::to_string(c.maybe) +
                         " could have held the thread over 9 ms (from the run before's end to the run after's start)",
                     ""});
  }
  // The loop polled only between whole rounds of runs: the planted time is
  // loop lag, all of it, as no single run is to blame.
  const double error = static_cast<double>(f.lag_ns - t.duration_ns) / static_cast<double>(t.duration_ns);
  if (std::abs(error) > 0.10)
    out.push_back({"loop lag in the planted window: " + ms(f.lag_ns) + " in " + std::to_string(f.lags) +
                       " lag(s), the renderers ran " + ms(t.duration_ns) + " (error " +
                       std::to_string(static_cast<int>(std::lround(error * 100))) + " %), with " +
                       std::to_string(f.renderer_stall_count()) + " renderer stall(s)",
                   ""});
}

}  // namespace

std::vector<Problem> problems(const Finding& f) {
  std::vector<Problem> out;
  if (!f.trace) return {{"no trace: " + f.load_error, ""}};
  const Truth& t = f.truth;
  // Another stall is a false alarm, unless a loaded machine made it: the
  // verdict says starved (the thread's own time under the threshold).
  for (const StallInfo& s : f.others) {
    if (verdict_says_starved(*f.trace, s)) continue;
    out.push_back({"another stall: " + describe(*f.trace, s), ""});
  }
  if (t.owner == "none") {
    check_rare_yields(f, out);
    return out;
  }
  if (!f.planted) {
    out.push_back({"no stall of the planted " + (t.owner == "callback" ? std::string("callback")
                                                                         : t.greenlet + "#" + std::to_string(t.greenlet_id)) +
                       " in the trace (" + std::to_string(f.trace->stalls().size()) + " stalls)",
                   ""});
    return out;
  }
  if (t.owner == "greenlet" && f.trace->greenlet_name(t.greenlet_id) != t.greenlet)
    out.push_back({"the culprit is named " + f.trace->greenlet_name(t.greenlet_id) + ", not " + t.greenlet, ""});
  if (std::abs(f.duration_error) > 0.10)
    out.push_back({"duration " + ms(f.planted->duration_ns) + ", the program measured " + ms(t.duration_ns), ""});
  // TSan delivers a signal only at the thread's next intercepted call: a
  // CPU loop's samples say nothing there.
  const char* cpu_limit = kTsan && t.expect == "cpu-bound" ? kTsanSignals : "";
  const Samples& n = f.samples;
  if (!f.planted->has_end)
    out.push_back({"the planted stall has no end recorded (\"still going when the trace ended\"): no verdict", ""});
  else
    for (Problem& p : verdict_problems(f)) {
      if (p.from_stacks && n.with_stack == 0) p.limit = cpu_limit;
      out.push_back(std::move(p));
    }
  if (n.with_stack == 0) {
    out.push_back({"no sample with a stack (" + std::to_string(n.all) + " samples, " +
                       std::to_string(static_cast<int>(t.cpu_share() * 100)) + " % CPU by the program's clock): " +
                       t.function + " is not named",
                   cpu_limit});
  } else {
    // Under ASan, stacks unwound from /proc alone stop short: a known limit
    // of that build, not a wrong culprit.
    const bool cut = n.inclusive + n.truncated == n.with_stack && n.truncated > 0;
    const char* limit = *cpu_limit != 0 ? cpu_limit : kAsan && cut ? kProcUnwindUnderAsan : "";
    if (n.inclusive * 10 < n.with_stack * 9) {
      std::string example;
      for (const std::string& line : n.without) example += "\n      " + line;
      out.push_back({t.function + " on " + std::to_string(n.inclusive) + " of " + std::to_string(n.with_stack) +
                         " sampled stacks (" + std::to_string(n.truncated) + " cut short); one without it:" + example,
                     limit});
    }
    if (n.led * 10 < n.with_stack * 9)
      out.push_back({t.function + " the program's innermost frame in " + std::to_string(n.led) + " of " +
                         std::to_string(n.with_stack) + " sampled stacks",
                     limit});
  }
  return out;
}

std::string gevent_would_report(const Truth& t) {
  if (t.owner == "none") return "nothing (greenlets switch every 5 ms)";
  if (t.owner == "callback") return "nothing (it never looks at the hub's callbacks)";
  // A block is reported when one whole period between two checks falls
  // inside it: never under 100 ms, always from 200 ms, in between with a
  // chance of (d - 100) / 100 by where the checks fall.
  const double d = static_cast<double>(t.duration_ns) / 1e6;
  if (d < 100) return "nothing (under 100 ms)";
  const bool native = t.expect == "blocked" || t.kind == "zlib";
  const std::string stack = native ? "one stack ending at the call into C" : "one Python stack";
  if (d >= 200) return stack + ", \"0.1 s\" for " + std::to_string(std::lround(d)) + " ms";
  const int chance = static_cast<int>(std::lround(d - 100));
  return "nothing in " + std::to_string(100 - chance) + " % of runs, else " + stack + ", \"0.1 s\"";
}

}  // namespace hunt
