// busy_trace.h: a synthetic trace of several hub threads, each written in
// several blocks, with what a real one has (spawns with inline names, I/O
// waits with wait stacks, loop phases, blocking calls, loop lag, a stall
// monitor's stalls), every number known. Its prefixes are valid traces too:
// busy_trace_parts() cuts it at chunk boundaries, for a file still growing.
#pragma once

#include <string>
#include <vector>

#include "trace_builder.h"

namespace gs::test {

struct BusyTraceOptions {
  std::uint32_t hub_threads = 3;
  std::uint32_t blocks_per_thread = 4;
  std::uint32_t loops_per_block = 40;
  std::uint64_t greenlets_per_thread = 12;
  bool end = true;  // write the End chunk
};

// busy_trace() writes the trace; `chunk_ends`, if given, gets the file size
// after each chunk.
inline Bytes busy_trace(const BusyTraceOptions& o = {}, std::vector<std::size_t>* chunk_ends = nullptr) {
  TraceBuilder t;
  const auto note = [&] {
    if (chunk_ends != nullptr) chunk_ends->push_back(t.bytes().size());
  };
  t.process();
  note();
  t.strings({{1, "socket.recv"}, {2, "sleep"}, {3, "fsync()"}});
  note();
  t.stacks({{1, {0x1000, 0x2000}}, {2, {0x1100, 0x2000}}});
  note();
  std::uint64_t monitor_ticks = kStartTicks;
  BlockWriter monitor(kStartTicks, 0, 0, 0);
  std::uint64_t stall_id = 0;
  for (std::uint32_t th = 0; th < o.hub_threads; ++th) {
    t.thread(th, "hub-" + std::to_string(th), 100 + th);
    note();
    const std::uint64_t base = 1000 * (th + 1), hub = base, main = base + 1;
    std::uint64_t ticks = kStartTicks + th * 5'000'000ULL, current = main, last = 0;  // threads one after another: the monitor's ticks only go up
    for (std::uint32_t b = 0; b < o.blocks_per_thread; ++b) {
      BlockWriter w(ticks, current, b == 0 ? 0 : hub, last);
      const auto tick = [&](std::uint64_t d) { return ticks += d, d; };
      if (b == 0) {
        w.event(tf::Tag::HubStart, tick(5)).varint(hub).varint(main);
        for (std::uint64_t g = 0; g < o.greenlets_per_thread; ++g)
          w.event(tf::Tag::Spawn, tick(3)).varint(base + 2 + g).varint(main).str(
              g % 2 == 0 ? "shared-name-" + std::to_string(g) : "t" + std::to_string(th) + "-g" + std::to_string(g));
        w.suspend(tf::Reason::Wait, tick(4)).varint(0);
        current = hub;
      }
      for (std::uint32_t i = 0; i < o.loops_per_block; ++i) {
        const std::uint64_t g = base + 2 + (b * 7 + i * 5) % o.greenlets_per_thread;
        w.event(tf::Tag::PollBegin, tick(10));
        w.event(tf::Tag::PollEnd, tick(200 + i)).varint(1);
        w.event(tf::Tag::WatcherBegin, tick(6)).u8(0).zz(7).varint(1);
        w.resume(tf::Reason::Resume, tick(4)).zz(static_cast<std::int64_t>(g - last));
        last = current = g;
        if (i % 9 == 4) w.event(tf::Tag::Rename, tick(2)).varint(g).str("renamed-" + std::to_string(b) + "-" + std::to_string(i));
        if (i % 13 == 6) {
          w.blocking_call(tick(3000), 3, 9, 1400, 2);
          ++stall_id;
          monitor.stall_begin(ticks - 500 - monitor_ticks, stall_id, th, ticks - 2900, g);
          monitor.stall_sample(100, stall_id, 1 + stall_id % 2);
          monitor.stall_end(100, stall_id, ticks - 350, 1000, 1500);
          monitor_ticks = ticks - 300;
        }
        w.wait_stack(tick(30 + i % 7), 1 + i % 2);
        w.suspend(tf::Reason::Io, tick(2)).varint(1).varint(7).varint(1);
        current = hub;
        w.event(tf::Tag::WatcherEnd, tick(5)).u8(0);
        if (i % 10 == 9) w.loop_lag(tick(3), 700);
      }
      t.events(th, b, w);
      note();
    }
  }
  t.thread(o.hub_threads, "monitor", 999);
  note();
  t.events(o.hub_threads, 0, monitor);
  note();
  if (o.end) {
    t.end();
    note();
  }
  return t.bytes();
}

}  // namespace gs::test
