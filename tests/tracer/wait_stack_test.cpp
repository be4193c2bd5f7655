// wait_stack_test.cpp: where greenlets wait, recorded as stacks: a wait's
// stack names the user's functions through the trace's own Symbols chunks,
// one site gives one stack however often it waits, the module map names the
// program by build-id, and wait stacks can be turned off.
#include <unistd.h>

#include <set>
#include <string>
#include <vector>

#include "greenscope/runtime.h"
#include "greenscope/stacks.h"
#include "greenscope/symbols.h"
#include "test_support.h"
#include "trace_test_support.h"

namespace gs::test {
namespace {

using traceio::EventType;
using traceio::Reason;

class WaitStackTest : public RuntimeTest {};

// The waiting functions. noinline and a use after the call keep each one a
// frame of its own (no inlining, no tail call).
[[gnu::noinline]] void inner_event_wait(gs::Event& e) {
  e.wait();
  asm volatile("" ::: "memory");
}
[[gnu::noinline]] void outer_event_wait(gs::Event& e) {
  inner_event_wait(e);
  asm volatile("" ::: "memory");
}
[[gnu::noinline]] void inner_nap() {
  gs::sleep(1ms);
  asm volatile("" ::: "memory");
}
[[gnu::noinline]] void outer_nap() {
  inner_nap();
  asm volatile("" ::: "memory");
}
[[gnu::noinline]] int take_one(gs::Queue<int>& q) {
  const int v = q.get();
  asm volatile("" ::: "memory");
  return v;
}

// WaitSite is one recorded suspension: its switch and its stack.
struct WaitSite {
  traceio::Event sw;
  std::uint64_t stack = 0;
};

// waits_of() is every switch away from greenlet `id` for `reason`, with the
// stack recorded for it.
std::vector<WaitSite> waits_of(const traceio::Trace& t, std::uint64_t id, Reason reason) {
  std::vector<WaitSite> out;
  for (const auto& th : t.threads()) {
    for (std::size_t i = 0; i < th.events.size(); ++i) {
      const traceio::Event& e = th.events[i];
      if (e.type == EventType::Switch && e.a == id && e.code == static_cast<std::uint8_t>(reason))
        out.push_back({e, th.wait_stack(i)});
    }
  }
  return out;
}

// functions_of() lists the function names the trace's Symbols chunks give
// for a stack, innermost first ("?" where it has none).
std::vector<std::string> functions_of(const traceio::Trace& t, std::uint64_t stack) {
  std::vector<std::string> out;
  const auto* frames = t.stack(stack);
  if (frames == nullptr) return out;
  for (std::uint64_t address : *frames) {
    const auto* scopes = t.symbols(address);
    if (scopes == nullptr) {
      out.push_back("?");
      continue;
    }
    for (const auto& s : *scopes) out.push_back(s.function);
  }
  return out;
}

// index_of() is the position of the first name containing `part`, or -1.
int index_of(const std::vector<std::string>& names, const std::string& part) {
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i].find(part) != std::string::npos) return static_cast<int>(i);
  return -1;
}

std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += "\n  " + n;
  return s;
}

TEST_F(WaitStackTest, WaitStackNamesTheFunctionsAGreenletWaitsIn) {
  std::uint64_t waiter = 0, napper = 0;
  auto t = record([&] {
    gs::Event e;
    auto w = gs::spawn([&] { outer_event_wait(e); });
    auto n = gs::spawn([] { outer_nap(); });
    waiter = w.id();
    napper = n.id();
    gs::yield();
    e.set();
    w.join();
    n.join();
  });
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->problems().empty()) << t->problems().front().message;

  const auto event_waits = waits_of(*t, waiter, Reason::Event);
  ASSERT_EQ(event_waits.size(), 1u);
  ASSERT_NE(event_waits[0].stack, 0u) << "no WaitStack before the Event wait's switch";
  const auto names = functions_of(*t, event_waits[0].stack);
  const int inner = index_of(names, "inner_event_wait"), outer = index_of(names, "outer_event_wait");
  EXPECT_GE(inner, 0) << joined(names);
  EXPECT_GT(outer, inner) << "innermost first:" << joined(names);
  // The stack starts at the user's call: neither the tracer nor the hub.
  EXPECT_EQ(index_of(names, "gs::trace::"), -1) << joined(names);

  const auto sleeps = waits_of(*t, napper, Reason::Sleep);
  ASSERT_EQ(sleeps.size(), 1u);
  const auto nap_names = functions_of(*t, sleeps[0].stack);
  EXPECT_GE(index_of(nap_names, "inner_nap"), 0) << joined(nap_names);
  EXPECT_GT(index_of(nap_names, "outer_nap"), index_of(nap_names, "inner_nap")) << joined(nap_names);
}

TEST_F(WaitStackTest, ManyWaitsFromOneSiteShareOneStack) {
  constexpr int kWaits = 1000;
  std::uint64_t consumer = 0;
  // Without the stall monitor: its samples are stacks of the same table, and
  // this test counts the table. The thread held 10 ms anywhere in the run
  // (preempted on a loaded machine; under a sanitizer, the main greenlet
  // between start() and its first switch) is a stall, sampled at a few new
  // stacks. This test is about wait stacks only.
  auto t = record(
      [&] {
        gs::Queue<int> q;
        auto c = gs::spawn([&] {
          for (int i = 0; i < kWaits; ++i) take_one(q);
        });
        consumer = c.id();
        auto p = gs::spawn([&] {
          for (int i = 0; i < kWaits; ++i) {
            q.put(i);
            gs::yield();
          }
        });
        c.join();
        p.join();
      },
      without_monitor());
  ASSERT_TRUE(t);
  const auto waits = waits_of(*t, consumer, Reason::Queue);
  ASSERT_EQ(waits.size(), static_cast<std::size_t>(kWaits));
  std::set<std::uint64_t> ids;
  for (const auto& w : waits) ids.insert(w.stack);
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids.count(0), 0u);
  // The consumer's one stack, the joins of the main greenlet: a handful.
  EXPECT_LE(t->stacks().size(), 4u);
  // One per wait: the consumer's, and main's join(s).
  EXPECT_GE(count(*t, EventType::WaitStack), static_cast<std::size_t>(kWaits) + 1u);
  EXPECT_LE(count(*t, EventType::WaitStack), static_cast<std::size_t>(kWaits) + 2u);
}

TEST_F(WaitStackTest, YieldsRecordNoStack) {
  auto t = record([&] {
    auto a = gs::spawn([] { for (int i = 0; i < 100; ++i) gs::yield(); });
    a.join();
  });
  ASSERT_TRUE(t);
  EXPECT_EQ(count(*t, EventType::WaitStack), 1u) << "only main's join waits";
}

TEST_F(WaitStackTest, TurnedOffThereAreNoWaitStacksAndNoStacksChunk) {
  trace::Options options;
  options.wait_stacks = false;
  // Stall samples are stacks too: under a sanitizer the test's own start-up
  // can be a 10 ms stall. This test is about wait stacks only.
  options.stall_monitor = false;
  auto t = record(
      [&] {
        gs::Event e;
        auto w = gs::spawn([&] { outer_event_wait(e); });
        gs::yield();
        e.set();
        w.join();
      },
      options);
  ASSERT_TRUE(t);
  EXPECT_EQ(count(*t, EventType::WaitStack), 0u);
  EXPECT_TRUE(t->stacks().empty());
  EXPECT_EQ(t->symbol_count(), 0u);
}

TEST_F(WaitStackTest, ModuleMapNamesTheProgramWithItsBuildId) {
  auto t = record([] { gs::sleep(1ms); });
  ASSERT_TRUE(t);
  char exe[4096] = {};
  ASSERT_GT(::readlink("/proc/self/exe", exe, sizeof exe - 1), 0);
  const symbols::Module* expected = nullptr;
  const auto live = symbols::loaded_modules();
  for (const auto& m : live)
    if (m.path == exe) expected = &m;
  ASSERT_NE(expected, nullptr) << "loaded_modules() does not list " << exe;
  const traceio::ModuleInfo* recorded = nullptr;
  for (const auto& m : t->modules())
    if (m.path == exe) recorded = &m;
  ASSERT_NE(recorded, nullptr) << "the trace's module map does not list " << exe;
  EXPECT_FALSE(recorded->build_id.empty());
  EXPECT_EQ(recorded->build_id, expected->build_id);
  EXPECT_EQ(recorded->base, expected->base);
  EXPECT_EQ(recorded->lo, expected->lo);
  EXPECT_EQ(recorded->hi, expected->hi);
  // Every code address of this test lies in a recorded module.
  EXPECT_NE(t->module_at(reinterpret_cast<std::uintptr_t>(&inner_nap)), nullptr);
}

TEST_F(WaitStackTest, RunInfoDumpIsRecorded) {
  auto t = record([] {
    auto g = gs::spawn([] { gs::sleep(10ms); });
    g.set_name("sleepy");
    gs::yield();
    gs::dump_run_info("api");
    g.join();
  });
  ASSERT_TRUE(t);
  ASSERT_EQ(t->run_infos().size(), 1u);
  const auto& dump = t->run_infos()[0];
  EXPECT_EQ(dump.trigger, "api");
  EXPECT_NE(dump.text.find("sleepy"), std::string::npos) << dump.text;
  EXPECT_GE(dump.time_ns, t->begin_ns());
  EXPECT_LE(dump.time_ns, t->end_ns());
}

}  // namespace
}  // namespace gs::test
