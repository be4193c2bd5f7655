// record_test.cpp: `greenscope record` runs the program with tracing on,
// passes its exit status through and summarizes the file; and the command
// line's own errors.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "cli_runner.h"

namespace gs::cli_test {
namespace {

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && st.st_size > 0;
}

TEST(Record, WritesTraceAndSummarizesIt) {
  const std::string path = make_temp_dir() + "/rec.gstrace";
  const RunResult r = greenscope({"record", "-o", path, "--", PHOTO_PIPELINE, "--users", "2", "--latency-ms", "20"});
  // The program's status: 0, or 1 if a user timed out on a very loaded machine.
  ASSERT_TRUE(r.code == 0 || r.code == 1) << r.err;
  EXPECT_TRUE(file_exists(path));
  EXPECT_NE(r.out.find("photo_pipeline: 2 users"), std::string::npos) << r.out;  // the program's own output
  EXPECT_NE(r.err.find("greenscope: " + path + ":"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("5 greenlets"), std::string::npos) << r.err;  // hub, main, saver, 2 users
  EXPECT_NE(r.err.find("ended cleanly"), std::string::npos) << r.err;
  EXPECT_EQ(greenscope({"info", "--strict", path}).code, 0);
}

// GREENSCOPE_TRACE_REDACT=1: `info` shows the program and how many
// arguments were left out, none of their values.
TEST(Record, InfoShowsRedactedArgumentsAsRedacted) {
  const std::string path = make_temp_dir() + "/redacted.gstrace";
  const RunResult r = run_command({PHOTO_PIPELINE, "--users", "1", "--latency-ms", "20"},
                                  {{"GREENSCOPE_TRACE", path}, {"GREENSCOPE_TRACE_REDACT", "1"}});
  ASSERT_TRUE(r.code == 0 || r.code == 1) << r.err;
  const RunResult info = greenscope({"info", path});
  EXPECT_EQ(info.code, 0) << info.err;
  EXPECT_NE(info.out.find(std::string("command    ") + PHOTO_PIPELINE + " [4 arguments redacted]\n"), std::string::npos)
      << info.out;
  EXPECT_EQ(info.out.find("--latency-ms"), std::string::npos) << info.out;
}

TEST(Record, ProgramOptionsNeedNoDoubleDash) {
  const std::string path = make_temp_dir() + "/rec.gstrace";
  const RunResult r = greenscope({"record", "-o", path, PHOTO_PIPELINE, "--users", "1", "--latency-ms", "20"});
  EXPECT_TRUE(r.code == 0 || r.code == 1) << r.err;
  EXPECT_EQ(r.err.find("unknown option"), std::string::npos) << r.err;
  EXPECT_TRUE(file_exists(path));
}

TEST(Record, PassesTheProgramsFailureStatusThrough) {
  const std::string path = make_temp_dir() + "/rec.gstrace";
  // photo_pipeline exits 2 on a bad option, before any greenlet runs.
  const RunResult bad_option = greenscope({"record", "-o", path, "--", PHOTO_PIPELINE, "--colour", "red"});
  EXPECT_EQ(bad_option.code, 2);
  const RunResult exit3 = greenscope({"record", "-o", path + "3", "--", "/bin/sh", "-c", "exit 3"});
  EXPECT_EQ(exit3.code, 3);
  EXPECT_NE(exit3.err.find("probably not linked with greenscope's runtime"), std::string::npos) << exit3.err;
}

TEST(Record, KilledProgramIs128PlusSignal) {
  const std::string path = make_temp_dir() + "/rec.gstrace";
  const RunResult r = greenscope({"record", "-o", path, "--", "/bin/sh", "-c", "kill -TERM $$"});
  EXPECT_EQ(r.code, 128 + 15);
  EXPECT_NE(r.err.find("killed by SIGTERM"), std::string::npos) << r.err;
}

TEST(Record, MissingProgramIs127) {
  const RunResult r = greenscope({"record", "-o", make_temp_dir() + "/x.gstrace", "--", "/no/such/program"});
  EXPECT_EQ(r.code, 127);
  EXPECT_NE(r.err.find("cannot run '/no/such/program'"), std::string::npos) << r.err;
}

TEST(Record, UsageErrors) {
  const RunResult none = greenscope({"record", "-o", "x.gstrace"});
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.err.find("missing the PROGRAM"), std::string::npos) << none.err;
  EXPECT_EQ(greenscope({"record", "--signal", "SIGNOPE", "--", "/bin/true"}).code, 2);
  EXPECT_EQ(greenscope({"record", "--flight", "0", "--", "/bin/true"}).code, 2);
}

TEST(Cli, UnknownCommandIsUsageError) {
  const RunResult r = greenscope({"frobnicate"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown command 'frobnicate'"), std::string::npos) << r.err;
  const RunResult typo = greenscope({"rep", "x.gstrace"});
  EXPECT_EQ(typo.code, 2);
  EXPECT_NE(typo.err.find("did you mean 'report'"), std::string::npos) << typo.err;
  EXPECT_EQ(greenscope({}).code, 2);
  EXPECT_EQ(greenscope({"--frobnicate"}).code, 2);
}

TEST(Cli, UnknownOptionNamesTheCommand) {
  const RunResult r = greenscope({"dump", "--colour", "x.gstrace"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown option '--colour' for 'greenscope dump'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("greenscope help dump"), std::string::npos) << r.err;
}

TEST(Cli, HelpAndVersion) {
  const RunResult help = greenscope({"--help"});
  EXPECT_EQ(help.code, 0);
  for (const char* command : {"record", "info", "report", "dump", "export"})
    EXPECT_NE(help.out.find(std::string("  ") + command + " "), std::string::npos) << command;
  for (const char* command : {"record", "info", "report", "dump", "export"}) {
    const RunResult h = greenscope({"help", command});
    EXPECT_EQ(h.code, 0);
    EXPECT_NE(h.out.find(std::string("usage: greenscope ") + command), std::string::npos) << h.out;
    EXPECT_EQ(greenscope({command, "--help"}).out, h.out);
  }
  EXPECT_EQ(greenscope({"help", "nothing"}).code, 2);
  const RunResult version = greenscope({"--version"});
  EXPECT_EQ(version.code, 0);
  EXPECT_NE(version.out.find("trace format 2."), std::string::npos) << version.out;
}

TEST(Cli, UnreadableFilesAreErrors) {
  const RunResult missing = greenscope({"info", "/no/such/file.gstrace"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("/no/such/file.gstrace"), std::string::npos) << missing.err;
  const std::string junk = make_temp_dir() + "/junk.gstrace";
  ASSERT_EQ(run_command({"/bin/sh", "-c", "echo not a trace > " + junk}).code, 0);
  for (const char* command : {"info", "report", "dump", "export"}) {
    const RunResult r = greenscope({command, junk});
    EXPECT_EQ(r.code, 1) << command;
    EXPECT_NE(r.err.find("not a greenscope trace"), std::string::npos) << command << ": " << r.err;
  }
}

}  // namespace
}  // namespace gs::cli_test
