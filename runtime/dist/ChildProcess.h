// One child process for the local launcher: fork + execve with its stdout
// and stderr on pipes, stdin on /dev/null, in a given process group, and
// killed (SIGKILL) if the thread that started it dies. Everything the child
// does between fork and exec is async-signal-safe, so the parent may have
// other threads.
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

namespace bdl::dist {

struct ChildProcess {
  pid_t pid = -1;
  int stdoutFd = -1; // read ends, non-blocking, close-on-exec
  int stderrFd = -1;
};

// Starts `argv` (argv[0] looked up in PATH unless it holds a '/') with the
// environment `env` ("NAME=value" entries). pgid 0 makes the child the
// leader of a new process group; otherwise it joins `pgid`. Throws
// DistError when the program cannot be found or executed.
ChildProcess spawnChild(const std::vector<std::string>& argv, const std::vector<std::string>& env, pid_t pgid);

// argv[0] as execve needs it: itself if it contains '/', else the first
// executable match in PATH; "" when there is none.
std::string findExecutable(const std::string& name);

// "exited with code 3", "was killed by signal 9 (SIGKILL)".
std::string describeWaitStatus(int status);

} // namespace bdl::dist
