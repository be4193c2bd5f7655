// chrome_json.cpp: Chrome Trace Event JSON records (chrome_json.h).
#include "chrome_json.h"

#include <cinttypes>

#include "greenscope/safe_text.h"

namespace gs::cli {

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) {
      const std::size_t n = traceio::utf8_length(text, i);
      out += n == 0 ? std::string_view("\\ufffd") : text.substr(i, n);  // damaged text: U+FFFD
      i += n == 0 ? 0 : n - 1;
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
}

void append_us(std::string& out, std::int64_t ns) {
  char buf[40];
  const std::uint64_t v = ns < 0 ? static_cast<std::uint64_t>(-ns) : static_cast<std::uint64_t>(ns);
  std::snprintf(buf, sizeof buf, "%s%" PRIu64 ".%03" PRIu64, ns < 0 ? "-" : "", v / 1000, v % 1000);
  out += buf;
}

void JsonArgs::key(std::string_view key) {
  if (!text_.empty()) text_ += ',';
  append_json_string(text_, key);
  text_ += ':';
}

JsonArgs& JsonArgs::add(std::string_view k, std::string_view value) {
  key(k);
  append_json_string(text_, value);
  return *this;
}

JsonArgs& JsonArgs::add(std::string_view k, std::int64_t value) {
  key(k);
  text_ += std::to_string(value);
  return *this;
}

JsonArgs& JsonArgs::add(std::string_view k, bool value) {
  key(k);
  text_ += value ? "true" : "false";
  return *this;
}

JsonArgs& JsonArgs::add_us(std::string_view k, std::int64_t ns) {
  key(k);
  append_us(text_, ns);
  return *this;
}

ChromeWriter::ChromeWriter(std::FILE* out) : out_(out) { std::fputs("{\"traceEvents\":[\n", out_); }

void ChromeWriter::write(const ChromeEvent& e) {
  line_.clear();
  line_ += first_ ? "{\"ph\":\"" : ",\n{\"ph\":\"";
  first_ = false;
  line_ += e.ph;
  line_ += "\",\"pid\":" + std::to_string(e.pid) + ",\"tid\":" + std::to_string(e.tid);
  if (e.ph != 'M') {
    line_ += ",\"ts\":";
    append_us(line_, e.ts_ns);
  }
  if (e.ph == 'X') {
    line_ += ",\"dur\":";
    append_us(line_, e.dur_ns);
  }
  if (e.ph == 'i') line_ += ",\"s\":\"t\"";
  line_ += ",\"name\":";
  append_json_string(line_, e.name);
  if (!e.cat.empty()) {
    line_ += ",\"cat\":";
    append_json_string(line_, e.cat);
  }
  if (e.bind_id != 0 && (e.flow_in || e.flow_out)) {
    line_ += ",\"bind_id\":" + std::to_string(e.bind_id);
    if (e.flow_in) line_ += ",\"flow_in\":true";
    if (e.flow_out) line_ += ",\"flow_out\":true";
  }
  if (!e.args.empty()) line_ += ",\"args\":" + e.args;
  line_ += '}';
  std::fwrite(line_.data(), 1, line_.size(), out_);
}

bool ChromeWriter::finish(const std::string& other_data) {
  std::fprintf(out_, "\n],\"displayTimeUnit\":\"ns\",\"otherData\":%s}\n", other_data.c_str());
  return std::fflush(out_) == 0 && std::ferror(out_) == 0;
}

}  // namespace gs::cli
