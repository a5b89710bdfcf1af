// The local launcher with real child processes: dist_launch_helper
// (LaunchHelper.cpp) and small shell scripts. Output is captured through
// LocalLaunchOptions::output so the tests can read what a user would see.
#include "runtime/dist/DistError.h"
#include "runtime/dist/LocalLauncher.h"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace bdl::dist;
using Ms = std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kHelper = BDL_LAUNCH_HELPER;

struct Captured {
  std::mutex mutex;
  std::string out, err;
  std::vector<std::string> log;
};

LocalLaunchOptions optionsFor(std::vector<std::string> argv, int workers, Captured& c) {
  LocalLaunchOptions o;
  o.argv = std::move(argv);
  o.workers = workers;
  o.settle = Ms(200);
  o.killGrace = Ms(2000);
  o.output = [&c](int fd, std::string_view bytes) {
    std::lock_guard lock(c.mutex);
    (fd == 1 ? c.out : c.err).append(bytes);
  };
  o.log = [&c](const std::string& line) {
    std::lock_guard lock(c.mutex);
    c.log.push_back(line);
  };
  return o;
}

double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Gone, or a zombie of a process that is not ours to reap.
bool processGone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text))
    return true;
  auto close = text.rfind(')');
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] == 'Z';
}

std::filesystem::path tempDir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("bdl-launch-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

int count(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1))
    ++n;
  return n;
}

} // namespace

TEST(LocalLauncher, EveryRankLearnsItsPlaceFromTheEnvironment) {
  // Variables of an enclosing launcher must not reach the ranks.
  ::setenv("OMPI_COMM_WORLD_RANK", "7", 1);
  ::setenv("OMPI_COMM_WORLD_SIZE", "9", 1);
  ::setenv("BDL_COORDINATOR", "10.0.0.1:1", 1);
  Captured c;
  auto o = optionsFor({kHelper, "env"}, 3, c);
  o.forwardAllStdout = true;
  LocalJobResult r = LocalLauncher(o).run();
  ::unsetenv("OMPI_COMM_WORLD_RANK");
  ::unsetenv("OMPI_COMM_WORLD_SIZE");
  ::unsetenv("BDL_COORDINATOR");
  ASSERT_TRUE(r.ok) << r.message << "\n" << c.err;
  EXPECT_EQ(r.exitCode(), 0);
  EXPECT_EQ(r.restarts(), 0);
  for (int rank = 0; rank < 3; ++rank) {
    std::string line = "rank=" + std::to_string(rank) + " world=3 local=" + std::to_string(rank) + " port=";
    EXPECT_EQ(count(c.out, line), 1) << c.out;
  }
  EXPECT_EQ(count(c.out, "attempt=0 token_len=64 "), 3) << c.out;
  EXPECT_EQ(count(c.out, "source=RANK/WORLD_SIZE"), 3) << c.out;
  // Same port and token everywhere: the text after "port=" agrees, hash included.
  auto tail = [&](int rank) {
    auto p = c.out.find("rank=" + std::to_string(rank) + " ");
    auto port = c.out.find("port=", p);
    return c.out.substr(port, c.out.find('\n', port) - port);
  };
  EXPECT_EQ(tail(0), tail(1));
  EXPECT_EQ(tail(0), tail(2));
  // Rank 0's stderr passes through; the others' lines are prefixed, the
  // unterminated last line too.
  EXPECT_NE(c.err.find("hello from 0\nsecond line from 0"), std::string::npos) << c.err;
  EXPECT_NE(c.err.find("[rank 1] hello from 1\n"), std::string::npos) << c.err;
  EXPECT_NE(c.err.find("[rank 2] second line from 2\n"), std::string::npos) << c.err;
  EXPECT_EQ(c.err.find("[rank 0]"), std::string::npos) << c.err;
}

TEST(LocalLauncher, OtherRanksStdoutIsDroppedByDefault) {
  Captured c;
  LocalJobResult r = LocalLauncher(optionsFor({kHelper, "env"}, 2, c)).run();
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_EQ(count(c.out, "rank=0 "), 1) << c.out;
  EXPECT_EQ(count(c.out, "rank=1 "), 0) << c.out;
}

TEST(LocalLauncher, AFailingRankStopsTheOthersAndIsNamed) {
  Captured c;
  auto start = Clock::now();
  LocalJobResult r = LocalLauncher(optionsFor({kHelper, "fail", "1", "3", "200"}, 3, c)).run();
  EXPECT_LT(secondsSince(start), 5.0);
  ASSERT_FALSE(r.ok);
  ASSERT_EQ(r.attempts.size(), 1u);
  const LaunchAttempt& a = r.attempts[0];
  ASSERT_TRUE(a.firstFailure);
  EXPECT_EQ(a.firstFailure->rank, 1);
  EXPECT_EQ(r.exitCode(), 3);
  EXPECT_NE(r.message.find("rank 1 (pid "), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("exited with code 3"), std::string::npos) << r.message;
  for (int rank : {0, 2}) {
    const RankExit& x = a.exits[static_cast<size_t>(rank)];
    EXPECT_TRUE(x.stoppedByLauncher);
    EXPECT_TRUE(WIFSIGNALED(x.status) && WTERMSIG(x.status) == SIGTERM) << x.describe();
  }
  EXPECT_NE(c.err.find("[rank 1] rank 1 failing now"), std::string::npos) << c.err;
}

TEST(LocalLauncher, ARankKilledByASignalIsNamedWithTheSignal) {
  Captured c;
  LocalJobResult r = LocalLauncher(optionsFor({kHelper, "fail", "2", "KILL", "100"}, 3, c)).run();
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.attempts[0].firstFailure->rank, 2);
  EXPECT_NE(r.message.find("was killed by signal 9 (SIGKILL)"), std::string::npos) << r.message;
  EXPECT_EQ(r.exitCode(), 128 + SIGKILL);
}

TEST(LocalLauncher, ARankThatIgnoresSigtermIsKilledAfterTheGrace) {
  Captured c;
  // Rank 0 fails at once (sh exits 1); rank 1 ignores SIGTERM.
  auto o = optionsFor({"sh", "-c", "if [ $RANK = 0 ]; then sleep 0.2; exit 1; fi; exec \"$0\" ignore-term", kHelper},
                      2, c);
  o.killGrace = Ms(300);
  auto start = Clock::now();
  LocalJobResult r = LocalLauncher(o).run();
  double took = secondsSince(start);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.attempts[0].firstFailure->rank, 0);
  const RankExit& stubborn = r.attempts[0].exits[1];
  EXPECT_TRUE(WIFSIGNALED(stubborn.status) && WTERMSIG(stubborn.status) == SIGKILL) << stubborn.describe();
  EXPECT_GE(took, 0.2 + 0.2 + 0.3); // its failure, settle, grace
  EXPECT_LT(took, 5.0);
}

TEST(LocalLauncher, RestartsTheWholeJobWithAChangedCommandLine) {
  Captured c;
  // Rank 1 fails on the first two attempts; each restart appends its number.
  auto o = optionsFor({"sh", "-c",
                       "if [ $RANK = 1 ] && [ $BDL_LAUNCH_ATTEMPT -lt 2 ]; then exit 5; fi; "
                       "echo \"attempt $BDL_LAUNCH_ATTEMPT args: $*\"",
                       "sh"},
                      2, c);
  o.maxRestarts = 3;
  std::vector<int> restarts;
  o.beforeRestart = [&](std::vector<std::string>& argv, int restart, const RankExit& failure) {
    restarts.push_back(restart);
    EXPECT_EQ(failure.rank, 1);
    EXPECT_EQ(failure.exitCode(), 5);
    argv.push_back("--resume");
    argv.push_back("ckpt" + std::to_string(restart));
  };
  LocalJobResult r = LocalLauncher(o).run();
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.restarts(), 2);
  EXPECT_EQ(restarts, (std::vector<int>{1, 2}));
  EXPECT_NE(c.out.find("attempt 2 args: --resume ckpt1 --resume ckpt2\n"), std::string::npos) << c.out;
  ASSERT_EQ(c.log.size(), 2u);
  EXPECT_NE(c.log[0].find("rank 1"), std::string::npos) << c.log[0];
  EXPECT_NE(c.log[0].find("restart 1 of 3"), std::string::npos) << c.log[0];
}

TEST(LocalLauncher, GivesUpAfterMaxRestarts) {
  Captured c;
  auto o = optionsFor({"sh", "-c", "exit 4"}, 2, c);
  o.maxRestarts = 1;
  LocalJobResult r = LocalLauncher(o).run();
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.attempts.size(), 2u);
  EXPECT_NE(r.message.find("job failed after 1 restart(s): rank "), std::string::npos) << r.message;
  EXPECT_EQ(r.exitCode(), 4);
}

TEST(LocalLauncher, LeavesNoGrandchildBehind) {
  Captured c;
  auto dir = tempDir("grandchild");
  // Each rank starts a background sleep; rank 0 then exits cleanly (its sleep
  // is orphaned), rank 1 fails.
  auto o = optionsFor({"sh", "-c",
                       "sleep 30 & echo $! > " + dir.string() +
                           "/grand.$RANK; if [ $RANK = 1 ]; then sleep 0.3; exit 2; fi; exit 0"},
                      2, c);
  auto start = Clock::now();
  LocalJobResult r = LocalLauncher(o).run();
  EXPECT_LT(secondsSince(start), 5.0);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.attempts[0].firstFailure->rank, 1);
  for (int rank = 0; rank < 2; ++rank) {
    std::ifstream f(dir / ("grand." + std::to_string(rank)));
    pid_t pid = 0;
    ASSERT_TRUE(f >> pid);
    EXPECT_TRUE(processGone(pid)) << "grandchild " << pid << " of rank " << rank << " survived";
  }
  std::filesystem::remove_all(dir);
}

TEST(LocalLauncher, RanksDieWithTheLauncher) {
  auto dir = tempDir("pdeathsig");
  pid_t launcher = ::fork();
  ASSERT_GE(launcher, 0);
  if (launcher == 0) {
    ::execl(kHelper.c_str(), kHelper.c_str(), "launch", "2", "--", "sh", "-c",
            ("echo $$ > " + dir.string() + "/rank.$RANK.tmp && mv " + dir.string() + "/rank.$RANK.tmp " +
             dir.string() + "/rank.$RANK; exec sleep 30")
                .c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::vector<pid_t> ranks;
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (ranks.size() < 2 && Clock::now() < deadline) {
    ranks.clear();
    for (int r = 0; r < 2; ++r) {
      std::ifstream f(dir / ("rank." + std::to_string(r)));
      pid_t pid = 0;
      if (f >> pid)
        ranks.push_back(pid);
    }
    std::this_thread::sleep_for(Ms(20));
  }
  ::kill(launcher, SIGKILL);
  ::waitpid(launcher, nullptr, 0);
  ASSERT_EQ(ranks.size(), 2u) << "the ranks did not start";
  for (pid_t pid : ranks) {
    auto until = Clock::now() + std::chrono::seconds(3);
    while (!processGone(pid) && Clock::now() < until)
      std::this_thread::sleep_for(Ms(20));
    EXPECT_TRUE(processGone(pid)) << "rank pid " << pid << " outlived its launcher";
  }
  std::filesystem::remove_all(dir);
}

TEST(LocalLauncher, StopsOnRequestWithoutRestarting) {
  Captured c;
  auto o = optionsFor({"sleep", "30"}, 2, c);
  o.maxRestarts = 3;
  LocalLauncher launcher(o);
  std::thread stopper([&] {
    std::this_thread::sleep_for(Ms(200));
    launcher.requestStop();
  });
  auto start = Clock::now();
  LocalJobResult r = launcher.run();
  stopper.join();
  EXPECT_LT(secondsSince(start), 5.0);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.attempts.size(), 1u);
  EXPECT_TRUE(r.attempts[0].stopRequested);
  EXPECT_FALSE(r.attempts[0].firstFailure);
  EXPECT_EQ(r.message, "job stopped on request");
}

TEST(LocalLauncher, ClearErrorsForBadCommands) {
  Captured c;
  try {
    LocalLauncher(optionsFor({"/nonexistent/bdl-program"}, 2, c)).run();
    FAIL() << "expected DistError";
  } catch (const DistError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot run '/nonexistent/bdl-program'"), std::string::npos) << e.what();
  }
  try {
    LocalLauncher(optionsFor({"no-such-program-bdl"}, 1, c)).run();
    FAIL() << "expected DistError";
  } catch (const DistError& e) {
    EXPECT_NE(std::string(e.what()).find("not found in PATH"), std::string::npos) << e.what();
  }
  EXPECT_THROW(LocalLauncher(optionsFor({}, 1, c)), DistError);
  EXPECT_THROW(LocalLauncher(optionsFor({"true"}, 0, c)), DistError);
}

TEST(LocalLauncher, PicksUsablePortsAndTokens) {
  uint16_t p = pickFreePort();
  EXPECT_GT(p, 0);
  std::string a = randomJobToken(), b = randomJobToken();
  EXPECT_EQ(a.size(), 64u);
  EXPECT_NE(a, b);
}
