// chrome_json.h: writing Chrome Trace Event JSON records one at a time
// (https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU),
// the format ui.perfetto.dev and chrome://tracing open.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace gs::cli {

// JsonArgs builds the "args" object of one record.
class JsonArgs {
 public:
  JsonArgs& add(std::string_view key, std::string_view value);
  JsonArgs& add(std::string_view key, const char* value) { return add(key, std::string_view(value)); }
  JsonArgs& add(std::string_view key, std::int64_t value);
  JsonArgs& add(std::string_view key, bool value);
  // add_us() adds a duration in microseconds with ns precision.
  JsonArgs& add_us(std::string_view key, std::int64_t ns);
  bool empty() const { return text_.empty(); }
  std::string json() const { return "{" + text_ + "}"; }

 private:
  void key(std::string_view key);
  std::string text_;
};

// ChromeEvent is one record: ph 'X' (complete), 'i' (instant) or 'M'
// (metadata). Times are ns since the trace started.
struct ChromeEvent {
  char ph = 'X';
  std::uint32_t pid = 0, tid = 0;
  std::int64_t ts_ns = 0, dur_ns = 0;
  std::string_view name, cat;
  std::string args;            // a JSON object, or empty
  std::uint64_t bind_id = 0;   // with flow_in/flow_out: a flow arrow (v2)
  bool flow_in = false, flow_out = false;
};

// ChromeWriter streams `{"traceEvents":[ ... ], ...}` to a file.
class ChromeWriter {
 public:
  explicit ChromeWriter(std::FILE* out);
  void write(const ChromeEvent& e);
  // finish() closes the array and adds `other_data` (a JSON object) as
  // "otherData". Returns false if any write failed.
  bool finish(const std::string& other_data);

 private:
  std::FILE* out_;
  bool first_ = true;
  std::string line_;
};

// append_json_string() appends `text` quoted and escaped.
void append_json_string(std::string& out, std::string_view text);
// append_us() appends ns as microseconds with 3 decimals: 12345 -> 12.345.
void append_us(std::string& out, std::int64_t ns);

}  // namespace gs::cli
