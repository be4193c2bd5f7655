// synthetic_traces.cpp: the traces of synthetic_traces.h.
#include "synthetic_traces.h"

#include "trace_builder.h"

namespace gs::cli_test {

namespace {

namespace tf = gs::trace_format;
using test::BlockWriter;
using test::TraceBuilder;
using tf::Reason;
using tf::Tag;

// The builder's clock: 2 ticks per ns from kStartTicks.
constexpr std::uint64_t kTicksPerMs = 2'000'000;

std::uint64_t at_ms(double ms) { return test::kStartTicks + static_cast<std::uint64_t>(ms * kTicksPerMs); }

// Clock walks one block's time: delta_to() is the tick delta to `ms`.
class Clock {
 public:
  std::uint64_t delta_to(double ms) {
    const std::uint64_t t = at_ms(ms);
    const std::uint64_t delta = t - now_;
    now_ = t;
    return delta;
  }

 private:
  std::uint64_t now_ = test::kStartTicks;
};

constexpr std::uint64_t kMain = 1, kHub = 2, kA = 10, kB = 11;

BlockWriter hub_thread() {
  BlockWriter w(test::kStartTicks, kMain, 0, 0);
  Clock c;
  w.event(Tag::HubStart, c.delta_to(0)).varint(kHub).varint(kMain);
  w.event(Tag::Spawn, c.delta_to(0)).varint(kA).varint(kMain).str("worker-a");
  w.event(Tag::Spawn, c.delta_to(0)).varint(kB).varint(kMain).str("worker-b");
  w.suspend(Reason::Yield, c.delta_to(1)).varint(0);      // main waits to the end, no stack
  w.resume(Reason::Resume, c.delta_to(10)).zz(kA);        // worker-a runs
  w.wait_stack(c.delta_to(11), 3);
  w.suspend(Reason::Queue, c.delta_to(11)).varint(7);     // worker-a waits 11..31 at stack 3
  w.resume(Reason::Resume, c.delta_to(20)).zz(1);         // worker-b runs
  w.wait_stack(c.delta_to(21), 3);
  w.suspend(Reason::Queue, c.delta_to(21)).varint(7);     // worker-b waits 21..41 at stack 3
  w.resume(Reason::Resume, c.delta_to(31)).zz(-1);        // worker-a
  w.suspend(Reason::Sleep, c.delta_to(40)).varint(0);     // worker-a sleeps 40..50, no stack
  w.resume(Reason::Resume, c.delta_to(41)).zz(1);         // worker-b
  w.suspend(Reason::Event, c.delta_to(45)).varint(0);     // worker-b waits 45..end, no stack
  w.resume(Reason::Resume, c.delta_to(50)).zz(-1);        // worker-a
  w.blocking_call(c.delta_to(60), 8, 5, 3'000'000, 6);
  w.blocking_call(c.delta_to(70), 8, 5, 5'000'000, 6);
  w.blocking_call(c.delta_to(80), 9, -1, 2'000'000, 4);
  w.loop_lag(c.delta_to(90), 25'000'000);
  w.loop_lag(c.delta_to(95), 15'000'000);
  w.crash(c.delta_to(999), 11, 0, kA, tf::kCrashStackOverflow, {0x401010, 0x401020});
  w.event(Tag::PollBegin, c.delta_to(1000));
  return w;
}

void samples(BlockWriter& w, Clock& c, std::uint64_t stall, double from_ms, int n, std::uint64_t stack,
             bool in_syscall = false, int syscall = -1) {
  for (int i = 0; i < n; ++i) w.stall_sample(c.delta_to(from_ms + i), stall, stack, in_syscall, syscall);
}

BlockWriter monitor_thread() {
  BlockWriter w(test::kStartTicks, 0, 0, 0);
  Clock c;
  w.stall_begin(c.delta_to(110), 1, 0, at_ms(100), kA);
  samples(w, c, 1, 120, 8, 1);
  samples(w, c, 1, 200, 2, 2);
  w.stall_end(c.delta_to(300), 1, at_ms(300), 190'000'000, 200'000'000);
  w.stall_begin(c.delta_to(410), 2, 0, at_ms(400), kB);
  samples(w, c, 2, 420, 5, 5);
  w.stall_end(c.delta_to(450), 2, at_ms(450), 50'000'000, 50'000'000);
  w.stall_begin(c.delta_to(505), 3, 0, at_ms(500), 0, tf::StallOwner::Callback);
  samples(w, c, 3, 506, 4, 2, true, 1);
  w.stall_end(c.delta_to(520), 3, at_ms(520), 1'000'000, 20'000'000, tf::StallKind::Blocked, 1);
  w.stall_begin(c.delta_to(610), 4, 0, at_ms(600), kA);
  samples(w, c, 4, 620, 3, 1);
  w.stall_begin(c.delta_to(702), 5, 0, at_ms(700), 0, tf::StallOwner::Hub);
  w.stall_end(c.delta_to(705), 5, at_ms(705), 5'000'000, 5'000'000);
  return w;
}

std::string write(const test::Bytes& bytes, const std::string& name) { return test::write_file(bytes, name); }

}  // namespace

std::string write_stall_trace() {
  TraceBuilder b;
  b.process();
  b.thread(0, "main");
  b.thread(1, "greenscope-stall-monitor");
  b.strings({{7, "Queue.get()"}, {8, "fsync()"}, {9, "read()"}});
  b.modules({{1, 0x400000, 0x401000, 0x500000, "/nonexistent/app", "\x01\x02"},
             {2, 0x7f0000000000, 0x7f0000000000, 0x7f0000100000, "/nonexistent/libc.so.6", ""}});
  b.stacks({{1, {0x401010, 0x401020, 0x401030}},
            {2, {0x401040, 0x401020, 0x401030}},
            {3, {0x401050, 0x401030}},
            {4, {0x7f0000001000}},
            {5, {0x401010, 0x401020, 0x401030}},
            {6, {0x401060, 0x401030}}});
  b.symbols({{0x401010, {{"spin", "app.cpp", 10}}},
             {0x401020, {{"handle", "app.cpp", 20}}},
             {0x401030, {{"main_loop", "app.cpp", 30}}},
             {0x401040, {{"write_all<a;b>", "io.cpp", 5}}},
             {0x401050, {{"pop", "queue.h", 7}, {"consume", "app.cpp", 40}}},
             {0x401060, {{"flush", "", 0}}}});
  b.events(0, 0, hub_thread());
  b.run_info(at_ms(500), "signal SIGUSR1", "hub on thread 0:\n  worker-a#10 running\n");
  b.events(1, 0, monitor_thread());
  b.run_info(at_ms(900), "api", "second dump");
  b.end();
  return write(b.bytes(), "stalls");
}

std::string write_quiet_trace(int major) {
  TraceBuilder b(static_cast<std::uint16_t>(major), 0);
  b.process();
  b.thread(0, "main");
  BlockWriter w(test::kStartTicks, kMain, 0, 0);
  Clock c;
  w.event(Tag::HubStart, 0).varint(kHub).varint(kMain);
  w.suspend(Reason::Sleep, c.delta_to(1)).varint(0);
  w.resume(Reason::Resume, c.delta_to(2)).zz(kMain);
  b.events(0, 0, w);
  b.end();
  return write(b.bytes(), "quiet");
}

}  // namespace gs::cli_test
