#include "runtime/dist/ChildProcess.h"

#include "runtime/dist/DistError.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace bdl::dist {

namespace {

void closeFd(int& fd) {
  if (fd >= 0)
    ::close(fd);
  fd = -1;
}

// Between fork and exec: only async-signal-safe calls, no allocation.
[[noreturn]] void execChild(const char* path, char* const* argv, char* const* envp, pid_t pgid, pid_t parent,
                            int devNull, int outFd, int errFd, int reportFd) {
  // PDEATHSIG fires when the forking thread exits; the launcher's run()
  // outlives every child it starts, so a dead launcher means dead children.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent)
    ::_exit(127); // the launcher died before prctl took effect
  ::setpgid(0, pgid);
  // The host may block or ignore signals the launcher uses to stop ranks;
  // both would be inherited across exec.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT})
    ::sigaction(s, &dfl, nullptr);
  if (::dup2(devNull, 0) < 0 || ::dup2(outFd, 1) < 0 || ::dup2(errFd, 2) < 0) {
    int e = errno;
    [[maybe_unused]] auto n = ::write(reportFd, &e, sizeof e);
    ::_exit(127);
  }
  ::execve(path, argv, envp);
  int e = errno;
  [[maybe_unused]] auto n = ::write(reportFd, &e, sizeof e);
  ::_exit(127);
}

} // namespace

std::string findExecutable(const std::string& name) {
  auto runnable = [](const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  if (name.find('/') != std::string::npos)
    return name;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos)
      end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (runnable(candidate))
      return candidate;
    start = end + 1;
  }
  return "";
}

ChildProcess spawnChild(const std::vector<std::string>& argv, const std::vector<std::string>& env, pid_t pgid) {
  if (argv.empty())
    throw DistError("the launcher was given an empty command line");
  std::string path = findExecutable(argv[0]);
  if (path.empty())
    throw DistError("cannot run '" + argv[0] + "': not found in PATH");

  // Everything the child needs is built before fork.
  std::vector<char*> cargv, cenv;
  for (auto& a : argv)
    cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (auto& e : env)
    cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);

  int out[2] = {-1, -1}, err[2] = {-1, -1}, report[2] = {-1, -1};
  int devNull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devNull < 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0 ||
      ::pipe2(report, O_CLOEXEC) != 0) {
    std::string why = std::strerror(errno);
    for (int* fd : {&devNull, &out[0], &out[1], &err[0], &err[1], &report[0], &report[1]})
      closeFd(*fd);
    throw DistError("cannot create pipes for a child process: " + why);
  }
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0)
    execChild(path.c_str(), cargv.data(), cenv.data(), pgid, parent, devNull, out[1], err[1], report[1]);
  int forkErrno = errno;
  // Also set here: whichever of parent and child runs first, the group
  // exists before the next child joins it (EACCES after exec is harmless).
  if (pid > 0)
    ::setpgid(pid, pgid == 0 ? pid : pgid);
  for (int* fd : {&devNull, &out[1], &err[1], &report[1]})
    closeFd(*fd);
  if (pid < 0) {
    for (int* fd : {&out[0], &err[0], &report[0]})
      closeFd(*fd);
    throw DistError(std::string("fork failed: ") + std::strerror(forkErrno));
  }
  // exec closes the report pipe (close-on-exec): EOF means it succeeded.
  int childErrno = 0;
  ssize_t n;
  do
    n = ::read(report[0], &childErrno, sizeof childErrno);
  while (n < 0 && errno == EINTR);
  closeFd(report[0]);
  if (n == static_cast<ssize_t>(sizeof childErrno)) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    closeFd(out[0]);
    closeFd(err[0]);
    throw DistError("cannot run '" + path + "': " + std::strerror(childErrno));
  }
  for (int fd : {out[0], err[0]})
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return {pid, out[0], err[0]};
}

std::string describeWaitStatus(int status) {
  if (WIFEXITED(status))
    return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* abbrev = ::sigabbrev_np(sig);
    return "was killed by signal " + std::to_string(sig) + (abbrev ? std::string(" (SIG") + abbrev + ")" : "") +
           (WCOREDUMP(status) ? ", core dumped" : "");
  }
  return "ended with wait status " + std::to_string(status);
}

} // namespace bdl::dist
