// process_test.cpp: gs::signal_handler and gs::Subprocess.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <thread>

#include "greenscope/signal.h"
#include "greenscope/subprocess.h"
#include "test_support.h"

namespace gs::test {
namespace {

class ProcessTest : public RuntimeTest {};
using Stdio = gs::Subprocess::Stdio;

TEST_F(ProcessTest, SignalHandlerRunsInAGreenlet) {
  gs::Event got;
  std::string who;
  gs::SignalHandler h = gs::signal_handler(SIGUSR1, [&] {
    who = gs::current().name();
    got.set();
  });
  ::kill(::getpid(), SIGUSR1);
  EXPECT_TRUE(got.wait(5s));
  EXPECT_EQ(who, "signal handler USR1");
  EXPECT_EQ(h.signal(), SIGUSR1);
}

TEST_F(ProcessTest, ASecondHandlerForTheSameSignalIsRefused) {
  gs::SignalHandler first = gs::signal_handler(SIGUSR2, [] {});
  EXPECT_THROW((void)gs::signal_handler(SIGUSR2, [] {}), gs::UsageError);
  first.cancel();
  gs::SignalHandler second = gs::signal_handler(SIGUSR2, [] {});
  EXPECT_TRUE(second.active());
}

TEST_F(ProcessTest, CommunicateFeedsStdinAndCollectsBothOutputs) {
  auto g = gs::spawn([] {
    gs::Subprocess::Options o;
    o.in = o.out = o.err = Stdio::Pipe;
    gs::Subprocess p({"sh", "-c", "tr a-z A-Z; echo oops >&2; exit 3"}, o);
    return p.communicate("hello");
  });
  const auto r = g.get();
  EXPECT_EQ(r.out, "HELLO");
  EXPECT_EQ(r.err, "oops\n");
  EXPECT_EQ(r.returncode, 3);
}

TEST_F(ProcessTest, ASignalledChildReportsMinusTheSignal) {
  auto g = gs::spawn([] {
    gs::Subprocess p({"sleep", "30"});
    p.kill();
    return p.wait();
  });
  EXPECT_EQ(g.get(), -SIGKILL);
}

// wait() learns of the exit from the child's pidfd, so a SIGCHLD that
// never reaches the loop (blocked here; in the field, taken by another
// library's handler, or lost inside TSan) does not leave it waiting.
TEST_F(ProcessTest, WaitReturnsEvenWhenSigchldNeverReachesTheLoop) {
  sigset_t chld, old;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &chld, &old), 0);
  auto g = gs::spawn([] {
    gs::Subprocess p({"sh", "-c", "exit 7"});
    return p.wait(30s);
  });
  int rc = -1;
  EXPECT_NO_THROW(rc = g.get());
  ASSERT_EQ(pthread_sigmask(SIG_SETMASK, &old, nullptr), 0);  // the late SIGCHLD finds nothing to reap
  EXPECT_EQ(rc, 7);
  gs::sleep(10ms);  // let the loop take that SIGCHLD: nothing must break
}

TEST_F(ProcessTest, WaitingForAChildLetsOtherGreenletsRun) {
  // The child exits only after a greenlet writes to its stdin, which that
  // greenlet can do only while the parent waits.
  std::vector<std::string> order;
  auto g = gs::spawn([&] {
    gs::Subprocess::Options o;
    o.in = o.out = Stdio::Pipe;
    gs::Subprocess p({"sh", "-c", "read line; echo got $line"}, o);
    auto feeder = gs::spawn([&] {
      order.push_back("feeder writes");
      p.stdin_pipe().write_all("x\n");
      p.stdin_pipe().close();
    });
    order.push_back("parent reads");
    const std::string out = p.stdout_pipe().read_all();
    order.push_back("parent got " + out);
    feeder.join();
    return p.wait();
  });
  EXPECT_EQ(g.get(), 0);
  EXPECT_EQ(order, (std::vector<std::string>{"parent reads", "feeder writes", "parent got got x\n"}));
}

TEST_F(ProcessTest, WaitTimesOut) {
  auto g = gs::spawn([] {
    gs::Subprocess p({"sleep", "30"});
    try {
      p.wait(20ms);
    } catch (const gs::TimeoutError&) {
      p.kill();
      p.wait();
      return true;
    }
    return false;
  });
  EXPECT_TRUE(g.get());
}

TEST_F(ProcessTest, AMissingProgramIsAnIoErrorNamingIt) {
  auto g = gs::spawn([] { gs::Subprocess p({"/no/such/program"}); });
  g.join();
  ASSERT_TRUE(g.exception());
  try {
    std::rethrow_exception(g.exception());
  } catch (const gs::IoError& e) {
    EXPECT_EQ(e.error(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("/no/such/program"), std::string::npos) << e.what();
  }
  reports.clear();
}

TEST_F(ProcessTest, WritingToAChildThatExitedIsEpipeNotSigpipe) {
  auto g = gs::spawn([] {
    gs::Subprocess::Options o;
    o.in = Stdio::Pipe;
    gs::Subprocess p({"true"}, o);
    p.wait();
    try {
      p.stdin_pipe().write_all(std::string(1 << 20, 'x'));
    } catch (const gs::IoError& e) {
      return e.error();
    }
    return 0;
  });
  EXPECT_EQ(g.get(), EPIPE);
}

TEST_F(ProcessTest, SubprocessOnAnotherThreadsHub) {
  int code = -100;
  std::string out;
  std::thread t([&] {
    auto g = gs::spawn([&] {
      gs::Subprocess::Options o;
      o.out = Stdio::Pipe;
      gs::Subprocess p({"sh", "-c", "echo thread; exit 5"}, o);
      out = p.stdout_pipe().read_all();
      code = p.wait();
    });
    g.join();
  });
  t.join();
  EXPECT_EQ(out, "thread\n");
  EXPECT_EQ(code, 5);
}

}  // namespace
}  // namespace gs::test
