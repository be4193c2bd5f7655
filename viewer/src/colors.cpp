// colors.cpp: see colors.h.
#include "colors.h"

#include <algorithm>
#include <cmath>

namespace gs::viewer {
namespace {

Color rgb(int r, int g, int b) {
  return 0xFF000000u | static_cast<Color>(b) << 16 | static_cast<Color>(g) << 8 | static_cast<Color>(r);
}

Color hsv(float h, float s, float v) {
  const float i = std::floor(h * 6), f = h * 6 - i;
  const float p = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s);
  float r = 0, g = 0, b = 0;
  switch (static_cast<int>(i) % 6) {
    case 0: r = v, g = t, b = p; break;
    case 1: r = q, g = v, b = p; break;
    case 2: r = p, g = v, b = t; break;
    case 3: r = p, g = q, b = v; break;
    case 4: r = t, g = p, b = v; break;
    default: r = v, g = p, b = q; break;
  }
  return rgb(static_cast<int>(r * 255), static_cast<int>(g * 255), static_cast<int>(b * 255));
}

std::uint64_t mix(std::uint64_t x) {  // splitmix64's finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

Color greenlet_color(std::uint32_t process, std::uint64_t id) {
  const std::uint64_t h = mix(id * 0x9E3779B97F4A7C15ULL + process);
  // Hues 0.10..0.90 leave out reds (stalls) and the neighbouring oranges.
  const float hue = 0.10f + 0.80f * static_cast<float>(h % 1000) / 1000.0f;
  const float sat = 0.50f + 0.25f * static_cast<float>((h >> 20) % 100) / 100.0f;
  return hsv(hue, sat, 0.80f);
}

Color wait_color(traceio::Reason reason) {
  using R = traceio::Reason;
  switch (reason) {
    case R::Sleep: return rgb(72, 72, 78);
    case R::Io: return rgb(96, 100, 112);
    case R::Event: case R::Wait: return rgb(110, 104, 96);
    case R::Lock: return rgb(128, 112, 100);
    case R::Queue: return rgb(100, 112, 104);
    case R::Join: return rgb(116, 116, 124);
    case R::Yield: case R::Idle: return rgb(60, 60, 64);
    default: return rgb(84, 84, 84);
  }
}

Color span_color(const analysis::Track& track, analysis::SpanKind kind, std::uint8_t code) {
  using K = analysis::SpanKind;
  switch (kind) {
    case K::Running: return greenlet_color(track.process, track.greenlet);
    case K::Waiting: return wait_color(static_cast<traceio::Reason>(code));
    case K::Poll: return rgb(52, 68, 92);
    case K::Callbacks: return rgb(46, 110, 120);
    case K::Watcher: {
      static const Color kinds[trace_format::kWatcherKindCount] = {
          rgb(60, 150, 90),  rgb(170, 150, 50), rgb(90, 90, 150), rgb(90, 120, 150),
          rgb(110, 110, 110), rgb(140, 90, 160), rgb(200, 120, 40), rgb(120, 160, 60)};
      return kinds[std::min<std::size_t>(code, trace_format::kWatcherKindCount - 1)];
    }
    case K::Callback: return rgb(150, 130, 70);
    case K::Job: return rgb(120, 80, 170);
    case K::Stall: return kStallRed;
    case K::BlockingCall: return rgb(210, 110, 20);
    case K::LoopLag: return rgb(200, 170, 40);
    case K::Dropped: return rgb(90, 90, 40);
    case K::Crash: return kCrashRed;
  }
  return rgb(128, 128, 128);
}

Color text_color_on(Color fill) {
  const int r = fill & 0xFF, g = (fill >> 8) & 0xFF, b = (fill >> 16) & 0xFF;
  return r * 299 + g * 587 + b * 114 > 140'000 ? kTextDark : kTextLight;
}

Color dimmed(Color c, float factor) {
  const auto ch = [&](int shift) { return static_cast<int>(static_cast<float>((c >> shift) & 0xFF) * factor); };
  return (c & 0xFF000000u) | rgb(ch(0), ch(8), ch(16));
}

}  // namespace gs::viewer
