// A child for the launcher tests (LocalLauncherTest.cpp). Modes:
//   env                  print what detectLaunchEnv() sees (stdout) and a hello (stderr)
//   fail RANK HOW MS     rank RANK sleeps MS ms, then exits with code HOW (a number)
//                        or raises HOW = KILL|SEGV|ABRT; the others sleep 30 s
//   ignore-term          ignore SIGTERM, then sleep 30 s
//   launch W -- ARGV...  run ARGV as a LocalLauncher job of W ranks (exit code of the job)
#include "runtime/dist/DistError.h"
#include "runtime/dist/LaunchEnv.h"
#include "runtime/dist/LocalLauncher.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <unistd.h>

using namespace bdl::dist;

namespace {

int envMode() {
  try {
    LaunchEnv e = detectLaunchEnv();
    const char* token = std::getenv("BDL_JOB_TOKEN");
    std::string t = token ? token : "";
    // The token itself must never be printed; its hash shows all ranks agree.
    std::printf("rank=%d world=%d local=%d port=%u attempt=%s token_len=%zu token_hash=%zx source=%s\n", e.rank,
                e.worldSize, e.localRank, e.coordinatorPort, std::getenv("BDL_LAUNCH_ATTEMPT"), t.size(),
                std::hash<std::string>{}(t), launchSourceName(e.source));
    std::fprintf(stderr, "hello from %d\nsecond line from %d", e.rank, e.rank); // no final newline
    return 0;
  } catch (const DistError& err) {
    std::fprintf(stderr, "launch env: %s\n", err.what());
    return 2;
  }
}

int failMode(int failingRank, const std::string& how, int ms) {
  int rank = std::atoi(std::getenv("RANK") ? std::getenv("RANK") : "0");
  if (rank != failingRank) {
    ::sleep(30);
    return 0;
  }
  ::usleep(static_cast<useconds_t>(ms) * 1000);
  std::fprintf(stderr, "rank %d failing now\n", rank);
  std::fflush(stderr);
  if (how == "KILL")
    std::raise(SIGKILL);
  if (how == "SEGV")
    std::raise(SIGSEGV);
  if (how == "ABRT")
    std::abort();
  return std::atoi(how.c_str());
}

int launchMode(int workers, int argc, char** argv) {
  LocalLaunchOptions o;
  o.workers = workers;
  o.argv.assign(argv, argv + argc);
  return LocalLauncher(o).run().exitCode();
}

} // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "env")
    return envMode();
  if (mode == "fail" && argc == 5)
    return failMode(std::atoi(argv[2]), argv[3], std::atoi(argv[4]));
  if (mode == "ignore-term") {
    std::signal(SIGTERM, SIG_IGN);
    ::sleep(30);
    return 0;
  }
  if (mode == "launch" && argc > 4 && std::strcmp(argv[3], "--") == 0)
    return launchMode(std::atoi(argv[2]), argc - 4, argv + 4);
  std::fprintf(stderr, "usage: dist_launch_helper env | fail RANK HOW MS | ignore-term | launch W -- ARGV...\n");
  return 2;
}
