#include "runtime/dist/LocalLauncher.h"

#include "runtime/dist/ChildProcess.h"
#include "runtime/dist/DistError.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace bdl::dist {

namespace {

using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

// Variables the launcher sets, or that would make a child believe another
// launcher placed it (detectLaunchEnv ranks OpenMPI and BDL_* above RANK).
// Settings such as BDL_LOCAL_LINKS pass through: they are the user's.
bool launcherOwned(std::string_view entry) {
  static constexpr std::string_view names[] = {
      "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "BDL_JOB_TOKEN",
      "BDL_RANK", "BDL_WORLD_SIZE", "BDL_COORDINATOR", "BDL_COORDINATOR_PORT", "BDL_BIND_HOST",
      "JOB_COMPLETION_INDEX", "BDL_LAUNCH_ATTEMPT"};
  std::string_view name = entry.substr(0, entry.find('='));
  if (name.rfind("OMPI_COMM_WORLD_", 0) == 0)
    return true;
  for (auto n : names)
    if (name == n)
      return true;
  return false;
}

// Forwards one child stream: raw, dropped, or split into lines with a prefix.
struct Stream {
  int fd = -1;
  int rank = 0;
  int targetFd = 1;
  enum Mode { Raw, Prefixed, Drop } mode = Raw;
  std::string partial;
};

class Output {
public:
  explicit Output(const LocalLaunchOptions& o) : options_(o) {}

  void write(int fd, std::string_view bytes) {
    if (options_.output) {
      options_.output(fd, bytes);
      return;
    }
    while (!bytes.empty()) {
      ssize_t n = ::write(fd, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return; // the launcher's own output is gone: keep running the job
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }

  void forward(Stream& s, std::string_view bytes) {
    if (s.mode == Stream::Drop)
      return;
    if (s.mode == Stream::Raw) {
      write(s.targetFd, bytes);
      return;
    }
    s.partial.append(bytes);
    size_t start = 0;
    for (size_t nl; (nl = s.partial.find('\n', start)) != std::string::npos; start = nl + 1)
      write(s.targetFd, "[rank " + std::to_string(s.rank) + "] " + s.partial.substr(start, nl + 1 - start));
    s.partial.erase(0, start);
  }

  void flush(Stream& s) {
    if (s.mode == Stream::Prefixed && !s.partial.empty())
      forward(s, "\n");
  }

private:
  const LocalLaunchOptions& options_;
};

void sendToGroup(pid_t pgid, int sig) {
  if (pgid > 0)
    ::kill(-pgid, sig);
}

} // namespace

bool RankExit::exitedCleanly() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

int RankExit::exitCode() const {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return 1;
}

std::string RankExit::describe() const {
  return "rank " + std::to_string(rank) + " (pid " + std::to_string(pid) + ") " + describeWaitStatus(status);
}

int LocalJobResult::exitCode() const {
  if (ok)
    return 0;
  if (!attempts.empty() && attempts.back().firstFailure) {
    int code = attempts.back().firstFailure->exitCode();
    return code == 0 ? 1 : code;
  }
  return 1;
}

uint16_t pickFreePort(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), "0", &hints, &res); rc != 0)
    throw DistError("cannot resolve '" + host + "': " + ::gai_strerror(rc));
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  bool ok = fd >= 0 && ::bind(fd, res->ai_addr, res->ai_addrlen) == 0 &&
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  std::string why = std::strerror(errno);
  ::freeaddrinfo(res);
  if (fd >= 0)
    ::close(fd);
  if (!ok)
    throw DistError("cannot find a free port on " + host + ": " + why);
  return ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

std::string randomJobToken() {
  unsigned char bytes[32];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      throw DistError(std::string("getrandom failed: ") + std::strerror(errno));
    got += static_cast<size_t>(n);
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string token;
  for (unsigned char b : bytes) {
    token += hex[b >> 4];
    token += hex[b & 15];
  }
  return token;
}

LocalLauncher::LocalLauncher(LocalLaunchOptions options) : options_(std::move(options)) {
  if (options_.argv.empty())
    throw DistError("the launcher needs a command line to run");
  if (options_.workers < 1)
    throw DistError("the launcher needs at least one worker (got " + std::to_string(options_.workers) + ")");
  if (options_.maxRestarts < 0)
    throw DistError("maxRestarts must not be negative");
  if (::pipe2(stopPipe_, O_CLOEXEC | O_NONBLOCK) != 0)
    throw DistError(std::string("cannot create the launcher's stop pipe: ") + std::strerror(errno));
}

LocalLauncher::~LocalLauncher() {
  for (int fd : stopPipe_)
    if (fd >= 0)
      ::close(fd);
}

void LocalLauncher::requestStop() noexcept {
  char c = 1;
  [[maybe_unused]] auto n = ::write(stopPipe_[1], &c, 1);
}

LocalJobResult LocalLauncher::run() {
  auto log = [&](const std::string& line) {
    if (options_.log)
      options_.log(line);
    else
      Output(options_).write(2, "bdl: " + line + "\n");
  };
  if (options_.becomeSubreaper)
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  LocalJobResult result;
  std::vector<std::string> argv = options_.argv;
  for (int attempt = 0;; ++attempt) {
    result.attempts.push_back(runAttempt(argv, attempt));
    const LaunchAttempt& a = result.attempts.back();
    if (!a.firstFailure && !a.stopRequested) {
      result.ok = true;
      result.message = "all " + std::to_string(options_.workers) + " ranks exited cleanly" +
                       (attempt ? " after " + std::to_string(attempt) + " restart(s)" : "");
      return result;
    }
    std::string why = a.firstFailure ? a.firstFailure->describe() : "stopped on request";
    if (a.stopRequested) {
      result.message = "job stopped on request";
      return result;
    }
    if (attempt >= options_.maxRestarts) {
      result.message = "job failed" + (attempt ? " after " + std::to_string(attempt) + " restart(s)" : std::string()) +
                       ": " + why;
      return result;
    }
    if (options_.beforeRestart)
      options_.beforeRestart(argv, attempt + 1, *a.firstFailure);
    log(why + "; restarting all ranks (restart " + std::to_string(attempt + 1) + " of " +
        std::to_string(options_.maxRestarts) + ")");
  }
}

LaunchAttempt LocalLauncher::runAttempt(const std::vector<std::string>& argv, int attempt) {
  const int W = options_.workers;
  std::vector<std::string> baseEnv;
  for (char** e = environ; e && *e; ++e)
    if (!launcherOwned(*e))
      baseEnv.emplace_back(*e);
  uint16_t port = pickFreePort(options_.masterAddr);
  std::string token = randomJobToken();
  for (auto& [k, v] : options_.env)
    baseEnv.push_back(k + "=" + v);
  baseEnv.push_back("WORLD_SIZE=" + std::to_string(W));
  baseEnv.push_back("LOCAL_WORLD_SIZE=" + std::to_string(W));
  baseEnv.push_back("MASTER_ADDR=" + options_.masterAddr);
  baseEnv.push_back("MASTER_PORT=" + std::to_string(port));
  baseEnv.push_back("BDL_JOB_TOKEN=" + token);
  baseEnv.push_back("BDL_LAUNCH_ATTEMPT=" + std::to_string(attempt));

  Output out(options_);
  LaunchAttempt result;
  result.exits.resize(static_cast<size_t>(W));
  std::vector<Stream> streams;
  std::vector<bool> running(static_cast<size_t>(W), false);
  pid_t pgid = 0;
  int alive = 0;

  // Ranks are waited for by pid (one may have left the group); the group
  // itself only once every rank is gone, to collect grandchildren adopted as
  // subreaper: blocking, that returns once no child of the group is left.
  auto reapRanks = [&] {
    // Ranks that fail in one 20 ms round: a rank killed by a signal is the
    // likelier cause (the others exit with an error once they lose it).
    const RankExit* culprit = nullptr;
    for (int r = 0; r < W; ++r) {
      auto& x = result.exits[static_cast<size_t>(r)];
      if (!running[static_cast<size_t>(r)])
        continue;
      int status = 0;
      pid_t pid;
      do
        pid = ::waitpid(x.pid, &status, WNOHANG);
      while (pid < 0 && errno == EINTR);
      if (pid == 0)
        continue;
      x.status = status;
      running[static_cast<size_t>(r)] = false;
      --alive;
      if (!x.exitedCleanly() && !x.stoppedByLauncher &&
          (!culprit || (WIFSIGNALED(x.status) && !WIFSIGNALED(culprit->status))))
        culprit = &x;
    }
    if (culprit && !result.firstFailure)
      result.firstFailure = *culprit;
  };
  auto reapGroup = [&] {
    int status;
    while (pgid > 0 && (::waitpid(-pgid, &status, 0) > 0 || errno == EINTR)) {
    }
  };
  auto signalAll = [&](int sig) {
    sendToGroup(pgid, sig);
    for (int r = 0; r < W; ++r)
      if (running[static_cast<size_t>(r)])
        ::kill(result.exits[static_cast<size_t>(r)].pid, sig);
  };

  std::optional<Clock::time_point> termAt; // when the survivors of a failure get SIGTERM
  std::optional<Clock::time_point> killAt; // set once the ranks are being stopped
  auto stopAll = [&] {
    if (killAt)
      return;
    for (int r = 0; r < W; ++r)
      if (running[static_cast<size_t>(r)])
        result.exits[static_cast<size_t>(r)].stoppedByLauncher = true;
    signalAll(SIGTERM);
    killAt = Clock::now() + options_.killGrace;
  };

  try {
    for (int r = 0; r < W; ++r) {
      std::vector<std::string> env = baseEnv;
      env.push_back("RANK=" + std::to_string(r));
      env.push_back("LOCAL_RANK=" + std::to_string(r));
      ChildProcess c = spawnChild(argv, env, pgid);
      if (pgid == 0)
        pgid = c.pid;
      result.exits[static_cast<size_t>(r)].rank = r;
      result.exits[static_cast<size_t>(r)].pid = c.pid;
      running[static_cast<size_t>(r)] = true;
      ++alive;
      bool primary = r == 0;
      streams.push_back({c.stdoutFd, r, 1,
                         primary ? Stream::Raw : options_.forwardAllStdout ? Stream::Prefixed : Stream::Drop, {}});
      streams.push_back({c.stderrFd, r, 2, primary ? Stream::Raw : Stream::Prefixed, {}});
    }
  } catch (...) {
    signalAll(SIGKILL);
    for (int r = 0; r < W; ++r)
      if (running[static_cast<size_t>(r)])
        ::waitpid(result.exits[static_cast<size_t>(r)].pid, nullptr, 0);
    reapGroup();
    for (auto& s : streams)
      ::close(s.fd);
    throw;
  }

  // Pump output and watch the children until all are gone and every pipe
  // is closed (or, once they are gone, a short drain limit passes: a pipe
  // may be held by a process that escaped the group).
  std::optional<Clock::time_point> drainUntil;
  char buf[65536];
  for (;;) {
    std::vector<pollfd> fds;
    for (auto& s : streams)
      if (s.fd >= 0)
        fds.push_back({s.fd, POLLIN, 0});
    fds.push_back({stopPipe_[0], POLLIN, 0});
    if (alive == 0 && (fds.size() == 1 || (drainUntil && Clock::now() >= *drainUntil)))
      break;
    // Children are reaped by polling (no SIGCHLD handler: the host owns
    // signal dispositions), every 20 ms at most.
    ::poll(fds.data(), fds.size(), 20);
    for (auto& s : streams) {
      if (s.fd < 0)
        continue;
      for (;;) {
        ssize_t n = ::read(s.fd, buf, sizeof buf);
        if (n > 0) {
          out.forward(s, std::string_view(buf, static_cast<size_t>(n)));
          continue;
        }
        if (n < 0 && errno == EINTR)
          continue;
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
          out.flush(s);
          ::close(s.fd);
          s.fd = -1;
        }
        break;
      }
    }
    if (fds.back().revents & POLLIN) {
      while (::read(stopPipe_[0], buf, sizeof buf) > 0) {
      }
      result.stopRequested = true;
      stopAll();
    }
    reapRanks();
    if (result.firstFailure) {
      // The others fail on their own within the distributed timeout, naming
      // the lost rank; give them a moment to say so before SIGTERM.
      if (!termAt)
        termAt = Clock::now() + options_.settle;
      if (Clock::now() >= *termAt)
        stopAll();
    }
    if (killAt && Clock::now() >= *killAt) {
      signalAll(SIGKILL);
      killAt = Clock::time_point::max();
    }
    if (alive == 0 && !drainUntil) {
      // Leftovers of the group (a rank's own children) must not outlive it.
      sendToGroup(pgid, SIGKILL);
      drainUntil = Clock::now() + Ms(1000);
    }
  }
  for (auto& s : streams)
    if (s.fd >= 0) {
      out.flush(s);
      ::close(s.fd);
    }
  reapGroup(); // adopted grandchildren, killed above
  return result;
}

} // namespace bdl::dist
