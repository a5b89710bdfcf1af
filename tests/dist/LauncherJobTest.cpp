// The local launcher running real ParamSync ranks (param_sync_worker): the
// environment it sets is enough for a job to form, a rank SIGKILLed mid-run
// is the one reported (the others fail naming it), and a restart completes
// the job.
#include "runtime/dist/LocalLauncher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <mutex>
#include <sys/wait.h>

using namespace bdl::dist;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kWorker = BDL_PARAM_SYNC_WORKER;

struct Job {
  std::mutex mutex;
  std::string out, err;
  LocalLaunchOptions options;

  Job(int workers, std::vector<std::string> args) {
    options.argv = {kWorker, "--iters", "20", "--params", "30011", "--chunk", "1000", "--timeout-ms", "5000"};
    options.argv.insert(options.argv.end(), args.begin(), args.end());
    options.workers = workers;
    options.forwardAllStdout = true;
    options.output = [this](int fd, std::string_view bytes) {
      std::lock_guard lock(mutex);
      (fd == 1 ? out : err).append(bytes);
    };
    options.log = [this](const std::string& line) {
      std::lock_guard lock(mutex);
      err += "launcher: " + line + "\n";
    };
  }
};

int okLines(const std::string& out) {
  int n = 0;
  for (size_t p = out.find(": OK,"); p != std::string::npos; p = out.find(": OK,", p + 1))
    ++n;
  return n;
}

} // namespace

TEST(LauncherJob, RanksFormAJobFromTheLauncherEnvironment) {
  Job job(3, {"--wire", "bf16"});
  LocalJobResult r = LocalLauncher(job.options).run();
  ASSERT_TRUE(r.ok) << r.message << "\n" << job.err;
  EXPECT_EQ(okLines(job.out), 3) << job.out;
}

TEST(LauncherJob, AKilledRankIsReportedAndTheOthersNameIt) {
  Job job(3, {"--die-rank", "1", "--die-at", "5"});
  auto start = Clock::now();
  LocalJobResult r = LocalLauncher(job.options).run();
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 5.0);
  ASSERT_FALSE(r.ok);
  ASSERT_TRUE(r.attempts[0].firstFailure) << r.message;
  EXPECT_EQ(r.attempts[0].firstFailure->rank, 1) << r.message << "\n" << job.err;
  EXPECT_NE(r.message.find("killed by signal 9 (SIGKILL)"), std::string::npos) << r.message;
  // Rank 0's error passes through; rank 2's is prefixed. Both blame rank 1
  // (unless the launcher's SIGTERM got there first).
  EXPECT_NE(job.err.find("rank 0: error: rank 1 (127.0.0.1:"), std::string::npos) << job.err;
}

TEST(LauncherJob, ARestartCompletesTheJob) {
  Job job(2, {"--die-rank", "1", "--die-at", "3"});
  job.options.maxRestarts = 2;
  job.options.beforeRestart = [](std::vector<std::string>& argv, int, const RankExit& failure) {
    EXPECT_EQ(failure.rank, 1);
    // The fault was transient: drop it (as the trainer would add --resume).
    auto it = std::find(argv.begin(), argv.end(), "--die-rank");
    argv.erase(it, it + 4);
  };
  LocalJobResult r = LocalLauncher(job.options).run();
  ASSERT_TRUE(r.ok) << r.message << "\n" << job.err;
  EXPECT_EQ(r.restarts(), 1);
  EXPECT_EQ(okLines(job.out), 2) << job.out;
  EXPECT_NE(job.err.find("launcher: rank 1 (pid "), std::string::npos) << job.err;
}
