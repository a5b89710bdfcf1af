// Runs a distributed job on this machine: W copies of one command line, rank
// r told who it is through RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR
// (127.0.0.1), MASTER_PORT (a free port picked per attempt) and a fresh
// random BDL_JOB_TOKEN (never printed), so each child finds its place with
// detectLaunchEnv(). When one rank fails, the others get a moment to end on
// their own, then SIGTERM, then SIGKILL after a grace period; the job is
// restarted up to maxRestarts times, with a hook to change the command line
// (e.g. add --resume DIR).
//
//   LocalLaunchOptions o;
//   o.argv = {"/usr/bin/bdlc", "worker", "mlp.bdl"};
//   o.workers = 4;
//   o.maxRestarts = 2;
//   o.beforeRestart = [](std::vector<std::string>& argv, int restart, const RankExit&) {
//     argv.insert(argv.end(), {"--resume", "ckpt/"});
//   };
//   LocalJobResult r = LocalLauncher(o).run();   // blocks
//   if (!r.ok) { fprintf(stderr, "%s\n", r.message.c_str()); return r.exitCode(); }
//
// Output: rank 0's stdout and stderr pass through byte for byte (its
// progress display is the job's); the other ranks' stderr is forwarded line
// by line as "[rank r] ..." and their stdout is dropped unless
// forwardAllStdout (then prefixed too).
//
// No zombies, no orphans: every child (and anything it starts) lives in one
// process group per attempt that is signalled as a whole; each child gets
// PR_SET_PDEATHSIG(SIGKILL) so it dies with the launcher's thread; with
// becomeSubreaper the launcher process also adopts and reaps grandchildren
// whose parent died first.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace bdl::dist {

struct RankExit {
  int rank = -1;
  pid_t pid = -1;
  int status = 0;              // as waitpid() gives it
  bool stoppedByLauncher = false; // still running when the launcher stopped the job
  bool exitedCleanly() const;  // exit code 0
  int exitCode() const;        // the code, or 128 + signal
  // "rank 2 (pid 4242) was killed by signal 9 (SIGKILL)"
  std::string describe() const;
};

struct LaunchAttempt {
  std::vector<RankExit> exits;          // by rank
  std::optional<RankExit> firstFailure; // the rank whose failure stopped this attempt
  bool stopRequested = false;
};

struct LocalJobResult {
  bool ok = false;
  std::vector<LaunchAttempt> attempts; // one per start, restarts included
  // "job failed after 2 restarts: rank 1 (pid 77) exited with code 3"
  std::string message;
  int restarts() const { return attempts.empty() ? 0 : static_cast<int>(attempts.size()) - 1; }
  int exitCode() const; // 0, the failed rank's code, 128 + signal, or 1
};

struct LocalLaunchOptions {
  std::vector<std::string> argv; // argv[0] is looked up in PATH unless it holds '/'
  int workers = 1;
  int maxRestarts = 0;
  // After a rank fails, how long the others may take to end on their own
  // (printing the error that names it) before they get SIGTERM.
  std::chrono::milliseconds settle{1000};
  // Between SIGTERM and SIGKILL when the launcher stops the ranks.
  std::chrono::milliseconds killGrace{5000};
  // Called before restart k (1, 2, ...) with the failure that ended the
  // previous attempt; may change argv for this and later attempts.
  std::function<void(std::vector<std::string>& argv, int restart, const RankExit& failure)> beforeRestart;
  // Added to every rank's environment (after the launcher's own variables
  // are removed from the inherited one).
  std::vector<std::pair<std::string, std::string>> env;
  std::string masterAddr = "127.0.0.1";
  bool forwardAllStdout = false;
  bool becomeSubreaper = true;
  // Receives what the launcher writes: fd 1 or 2 and bytes. Null: write(2).
  std::function<void(int fd, std::string_view bytes)> output;
  // The launcher's own messages (failures, restarts). Null: stderr, "bdl: ".
  std::function<void(const std::string&)> log;
};

class LocalLauncher {
public:
  // Throws DistError on bad options (no argv, workers < 1, maxRestarts < 0).
  explicit LocalLauncher(LocalLaunchOptions options);
  ~LocalLauncher();
  LocalLauncher(const LocalLauncher&) = delete;
  LocalLauncher& operator=(const LocalLauncher&) = delete;

  // Starts the ranks and returns when every one has ended (restarts
  // included). Throws DistError only when a rank cannot be started at all.
  // Forks from the calling thread, which must not exit before run() returns
  // (it does not: run() blocks).
  LocalJobResult run();

  // Stops the running job (SIGTERM, grace, SIGKILL) without restarting it.
  // Async-signal-safe: may be called from a SIGINT handler.
  void requestStop() noexcept;

private:
  LaunchAttempt runAttempt(const std::vector<std::string>& argv, int attempt);

  LocalLaunchOptions options_;
  int stopPipe_[2] = {-1, -1};
};

// A TCP port that was free on `host` a moment ago (bind to port 0, close).
uint16_t pickFreePort(const std::string& host = "127.0.0.1");
// 32 bytes from getrandom(), hex: a job token.
std::string randomJobToken();

} // namespace bdl::dist
