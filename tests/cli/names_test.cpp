// names_test.cpp: a trace recorded by the real runtime and tracer from
// tests/cli/odd_names.cpp, whose greenlet names, thread names, arguments and
// error texts hold escape sequences, BEL, CR, backspace, NUL, bytes that are
// not UTF-8, C1 controls and a name cut inside a character, read by every
// command of the real `greenscope` binary: no output may carry a raw
// control character to the terminal or stop being UTF-8, and the Chrome
// export must stay JSON that decodes back to the very names.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "cli_runner.h"

namespace gs::cli_test {
namespace {

// terminal_problem() describes the first byte of `text` a terminal would
// act on (C0 controls but newline and tab, DEL, C1 controls) or that breaks
// UTF-8, or is "" when there is none. Written here, apart from the code it
// checks.
std::string terminal_problem(const std::string& text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F)
        return "control byte " + std::to_string(c) + " at " + std::to_string(i);
      ++i;
      continue;
    }
    const std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (n == 0 || c > 0xF4 || i + n > text.size()) return "bad UTF-8 lead " + std::to_string(c) + " at " + std::to_string(i);
    std::uint32_t cp = c & (0x7F >> n);
    for (std::size_t k = 1; k < n; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      if ((b & 0xC0) != 0x80) return "bad UTF-8 continuation at " + std::to_string(i + k);
      cp = (cp << 6) | (b & 0x3F);
    }
    const std::uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < least[n] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return "ill-formed UTF-8 at " + std::to_string(i);
    if (cp >= 0x80 && cp <= 0x9F) return "C1 control at " + std::to_string(i);
    i += n;
  }
  return "";
}

class OddNames : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(make_temp_dir());
    trace_ = new std::string(*dir_ + "/odd.gstrace");
    const RunResult r = run_command({ODD_NAMES, "arg\x1b[31m", "\xff\xfe", "bell\x07"},
                                    {{"GREENSCOPE_TRACE", *trace_}, {"GREENSCOPE_TRACE_QUIET", "1"}});
    ASSERT_EQ(r.code, 0) << r.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete trace_;
  }
  // expect_clean() checks both streams of one command.
  static void expect_clean(const RunResult& r, const std::string& what) {
    EXPECT_EQ(terminal_problem(r.out), "") << what << " stdout:\n" << r.out;
    EXPECT_EQ(terminal_problem(r.err), "") << what << " stderr:\n" << r.err;
  }
  static std::string* dir_;
  static std::string* trace_;
};

std::string* OddNames::dir_ = nullptr;
std::string* OddNames::trace_ = nullptr;

TEST_F(OddNames, EveryTextCommandPrintsNoControlCharacterAndOnlyUtf8) {
  const std::vector<std::vector<std::string>> commands = {
      {"info", *trace_},
      {"report", *trace_, "--top", "0"},
      {"dump", *trace_},
      {"stalls", *trace_, "--min", "0"},
      {"stacks", *trace_},
      {"stacks", *trace_, "--waits", "--top", "0"},
      {"export", "--format", "folded", "--of", "waits", *trace_, "-o", "-"},
      {"export", "--format", "folded", "--of", "stalls", *trace_, "-o", "-"},
      {"dump", *trace_, "--greenlet", "no such \x1b[2J\xff"},  // an error echoing the argument
      {"report\x1b[2J", *trace_},                                  // an unknown command, echoed
  };
  for (const auto& args : commands) {
    const RunResult r = greenscope(args);
    expect_clean(r, args[0] + " " + args.back());
  }
}

TEST_F(OddNames, NamesAreShownEscapedNotDropped) {
  const RunResult report = greenscope({"report", *trace_, "--top", "0"});
  ASSERT_EQ(report.code, 0) << report.err;
  for (const char* shown : {"title\\x1b]0;pwned\\x07", "clear\\x1b[2J\\x1b[H", "cr\\x0dback\\x08\\x08space",
                            "nul\\x00after", "bad\\xff\\xfe utf8 \\xc0\\xaf", "c1\\xc2\\x9b31m", "tab\\x09new\\x0aline",
                            "boom\\x1b[2J\\x0d\\xff", "plain"})
    EXPECT_NE(report.out.find(shown), std::string::npos) << shown << " in\n" << report.out;
  const RunResult info = greenscope({"info", *trace_});
  EXPECT_NE(info.out.find("arg\\x1b[31m \\xff\\xfe bell\\x07"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("main\\x1b[31m"), std::string::npos) << info.out;  // the thread's name
  const RunResult stacks = greenscope({"stacks", *trace_});
  EXPECT_NE(stacks.out.find("odd\\x1b[2J trigger"), std::string::npos) << stacks.out;
  EXPECT_NE(stacks.out.find("title\\x1b]0;pwned\\x07"), std::string::npos) << stacks.out;  // in the dump's text
}

// The runtime's own stderr, untraced: the stall report names the staller,
// the run-info dump every greenlet and the thread, all escaped as the CLI
// shows them. The old runtime printed them raw (an ESC, a BEL, a CR reached
// the terminal).
TEST(OddNamesRuntime, TheRuntimesOwnReportsPrintNoControlCharacterAndOnlyUtf8) {
  const RunResult r = run_command({ODD_NAMES}, {{"GREENSCOPE_STALL_MS", "100"}, {"GREENSCOPE_STALL_PRINT", "1"}});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(terminal_problem(r.err), "") << r.err;
  for (const char* shown : {"stall\\x1b[5m\\xff", "title\\x1b]0;pwned\\x07", "cr\\x0dback\\x08\\x08space",
                            "main\\x1b[31m", "greenscope run info", "greenscope: stall"})
    EXPECT_NE(r.err.find(shown), std::string::npos) << shown << " in\n" << r.err;
}

// The JSON escapes what it must and decodes back to the names recorded;
// bytes that are not UTF-8 decode to U+FFFD, and a name longer than the
// trace keeps (3000 bytes of 3-byte "€") was cut at a character boundary.
TEST_F(OddNames, ChromeExportIsJsonThatKeepsTheNames) {
  if (::access(PYTHON3, X_OK) != 0) GTEST_SKIP() << "python3 not found at configure time";
  const std::string json = *dir_ + "/odd.json";
  const RunResult r = greenscope({"export", "--format", "chrome", *trace_, "-o", json});
  ASSERT_EQ(r.code, 0) << r.err;
  expect_clean(r, "export chrome");
  const RunResult checked = run_command({PYTHON3, CHECK_CHROME_PY, json, "hub", "main", "plain"});
  EXPECT_EQ(checked.code, 0) << checked.out << checked.err;
  const RunResult names = run_command({PYTHON3, "-c",
      "import json, sys\n"
      "ev = json.load(open(sys.argv[1], encoding='utf-8'))['traceEvents']\n"
      "names = [e['args']['name'] for e in ev if e['ph'] == 'M' and e['name'] == 'thread_name']\n"
      "want = ['title\\x1b]0;pwned\\x07', 'clear\\x1b[2J\\x1b[H', 'cr\\rback\\b\\bspace', 'nul\\x00after',\n"
      "        'bad\\ufffd\\ufffd utf8 \\ufffd\\ufffd', 'c1\\x9b31m', 'tab\\tnew\\nline', '\\u20ac' * 682]\n"
      "missing = [w for w in want if not any(n.startswith(w + ' #') for n in names)]\n"
      "print(missing or 'ok')\n"
      "sys.exit(1 if missing else 0)\n",
      json});
  EXPECT_EQ(names.code, 0) << names.out << names.err;
}

}  // namespace
}  // namespace gs::cli_test
