#include "runtime/dist/LaunchEnv.h"

#include "runtime/dist/DistError.h"

#include <cstdlib>
#include <limits>
#include <utility>

namespace bdl::dist {

namespace {

constexpr const char* kCoordinatorHint =
    "pass --coordinator HOST:PORT or set BDL_COORDINATOR=HOST:PORT on every rank (under mpirun: "
    "mpirun -x BDL_COORDINATOR=HOST:PORT ...), where HOST is the address of the host that runs rank 0";

// One integer-valued variable, named in every error.
struct Value {
  std::string name;
  std::string text;
};

int parseInt(const Value& v) {
  const std::string& s = v.text;
  size_t i = 0;
  long long n = 0;
  bool any = false;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    n = n * 10 + (s[i] - '0');
    any = true;
    if (n > std::numeric_limits<int>::max())
      break;
    ++i;
  }
  if (!any || i != s.size())
    throw DistError(v.name + "='" + s + "' is not a non-negative integer");
  return static_cast<int>(n);
}

uint16_t parsePort(const std::string& text, const std::string& what) {
  int p = parseInt({what, text});
  if (p < 1 || p > 65535)
    throw DistError(what + "='" + text + "' is not a TCP port (1-65535)");
  return static_cast<uint16_t>(p);
}

bool isLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

struct RankInfo {
  LaunchSource source = LaunchSource::Single;
  std::string names; // the variables, for messages
  std::optional<Value> rank, size, local;
};

RankInfo findRanks(const EnvLookup& env, const LaunchOverrides& o) {
  auto var = [&](const char* name) -> std::optional<Value> {
    if (auto v = env(name))
      return Value{name, *v};
    return std::nullopt;
  };
  RankInfo r;
  // Command line and BDL_* mix freely: each value is taken where it is set.
  auto rank = o.rank ? std::optional<Value>(Value{"--rank", std::to_string(*o.rank)}) : var("BDL_RANK");
  auto size = o.worldSize ? std::optional<Value>(Value{"--world-size", std::to_string(*o.worldSize)})
                          : var("BDL_WORLD_SIZE");
  if (rank || size) {
    r.source = LaunchSource::Explicit;
    r.names = "--rank/--world-size or BDL_RANK/BDL_WORLD_SIZE";
    r.rank = rank;
    r.size = size;
    return r;
  }
  if (auto v = var("OMPI_COMM_WORLD_RANK"); v || var("OMPI_COMM_WORLD_SIZE")) {
    r = {LaunchSource::OpenMpi, "OMPI_COMM_WORLD_RANK/OMPI_COMM_WORLD_SIZE", v, var("OMPI_COMM_WORLD_SIZE"),
         var("OMPI_COMM_WORLD_LOCAL_RANK")};
    return r;
  }
  if (auto v = var("RANK"); v || var("WORLD_SIZE")) {
    r = {LaunchSource::TorchRun, "RANK/WORLD_SIZE", v, var("WORLD_SIZE"), var("LOCAL_RANK")};
    if (!r.rank)
      r.rank = var("JOB_COMPLETION_INDEX");
    return r;
  }
  if (auto v = var("SLURM_PROCID"); v || var("SLURM_NTASKS")) {
    r = {LaunchSource::Slurm, "SLURM_PROCID/SLURM_NTASKS", v, var("SLURM_NTASKS"), var("SLURM_LOCALID")};
    return r;
  }
  return r;
}

} // namespace

const char* launchSourceName(LaunchSource s) {
  switch (s) {
  case LaunchSource::Single: return "single process (no launcher variables)";
  case LaunchSource::Explicit: return "command line / BDL_RANK, BDL_WORLD_SIZE";
  case LaunchSource::OpenMpi: return "OpenMPI (OMPI_COMM_WORLD_*)";
  case LaunchSource::TorchRun: return "RANK/WORLD_SIZE (torchrun, Kubernetes, bdlc train --workers)";
  case LaunchSource::Slurm: return "Slurm (SLURM_PROCID, SLURM_NTASKS)";
  }
  return "?";
}

std::string LaunchEnv::describe() const {
  std::string s = "rank " + std::to_string(rank) + " of " + std::to_string(worldSize) + " (" +
                  launchSourceName(source) + ")";
  if (!coordinatorSource.empty()) {
    bool v6 = coordinatorHost.find(':') != std::string::npos;
    s += ", coordinator " + (v6 ? "[" + coordinatorHost + "]" : coordinatorHost) + ":" +
         std::to_string(coordinatorPort) + " (" + coordinatorSource + ")";
  }
  return s;
}

std::pair<std::string, uint16_t> parseHostPort(const std::string& text, const std::string& what) {
  std::string host, port;
  if (!text.empty() && text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      throw DistError(what + "='" + text + "' is not [IPv6]:PORT");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon)
      throw DistError(what + "='" + text + "' is not HOST:PORT (IPv6 addresses in brackets: [::1]:29500)");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty())
    throw DistError(what + "='" + text + "' has no host");
  return {host, parsePort(port, what)};
}

std::string firstSlurmHost(const std::string& nodeList) {
  // Brackets hold ranges ("003-010") and lists; the first host takes the
  // first value of every bracket group, keeping its zero padding.
  std::string out;
  size_t i = 0;
  while (i < nodeList.size() && nodeList[i] != ',') {
    if (nodeList[i] == '[') {
      size_t close = nodeList.find(']', i);
      if (close == std::string::npos)
        throw DistError("Slurm node list '" + nodeList + "' has an unclosed '['");
      size_t j = i + 1;
      while (j < close && nodeList[j] != '-' && nodeList[j] != ',')
        out += nodeList[j++];
      i = close + 1;
    } else {
      out += nodeList[i++];
    }
  }
  if (out.empty())
    throw DistError("Slurm node list '" + nodeList + "' names no host");
  return out;
}

LaunchEnv detectLaunchEnv(const LaunchOverrides& overrides) {
  return detectLaunchEnv(
      [](const std::string& name) -> std::optional<std::string> {
        const char* v = std::getenv(name.c_str());
        return v ? std::optional<std::string>(v) : std::nullopt;
      },
      overrides);
}

LaunchEnv detectLaunchEnv(const EnvLookup& lookup, const LaunchOverrides& overrides) {
  // An empty variable counts as unset, as `${VAR:-...}` in a shell (mpirun
  // -x VAR= and Kubernetes manifests produce them).
  EnvLookup env = [&lookup](const std::string& name) -> std::optional<std::string> {
    auto v = lookup(name);
    return v && !v->empty() ? v : std::nullopt;
  };
  LaunchEnv out;
  RankInfo info = findRanks(env, overrides);
  out.source = info.source;
  if (info.source != LaunchSource::Single) {
    if (!info.rank || !info.size)
      throw DistError("incomplete launch environment: " + info.names + " must both be set (found only " +
                      (info.rank ? info.rank->name : info.size->name) + ")");
    out.rank = parseInt(*info.rank);
    out.worldSize = parseInt(*info.size);
    if (out.worldSize < 1)
      throw DistError(info.size->name + "=" + info.size->text + ": the world size must be at least 1");
    if (out.rank >= out.worldSize)
      throw DistError(info.rank->name + "=" + info.rank->text + " is not below " + info.size->name + "=" +
                      info.size->text + ": ranks run from 0 to world size - 1");
    if (info.local)
      out.localRank = parseInt(*info.local);
  }

  auto bdlCoordinator = overrides.coordinator ? overrides.coordinator : env("BDL_COORDINATOR");
  auto masterAddr = env("MASTER_ADDR");
  auto masterPort = env("MASTER_PORT");
  if (bdlCoordinator) {
    std::string what = overrides.coordinator ? "--coordinator" : "BDL_COORDINATOR";
    std::tie(out.coordinatorHost, out.coordinatorPort) = parseHostPort(*bdlCoordinator, what);
    out.coordinatorSource = what;
  } else if (masterAddr || masterPort) {
    if (!masterAddr || !masterPort)
      throw DistError(std::string("MASTER_ADDR and MASTER_PORT must both be set (found only ") +
                      (masterPort ? "MASTER_PORT" : "MASTER_ADDR") + ")");
    out.coordinatorHost = *masterAddr;
    out.coordinatorPort = parsePort(*masterPort, "MASTER_PORT");
    out.coordinatorSource = "MASTER_ADDR/MASTER_PORT";
  } else if (info.source == LaunchSource::Slurm && out.worldSize > 1) {
    auto nodes = env("SLURM_STEP_NODELIST");
    std::string nodesName = "SLURM_STEP_NODELIST";
    if (!nodes) {
      nodes = env("SLURM_JOB_NODELIST");
      nodesName = "SLURM_JOB_NODELIST";
    }
    if (!nodes)
      throw DistError("srun set SLURM_PROCID but neither SLURM_STEP_NODELIST nor SLURM_JOB_NODELIST: " +
                      std::string(kCoordinatorHint));
    out.coordinatorHost = firstSlurmHost(*nodes);
    if (auto p = env("BDL_COORDINATOR_PORT")) {
      out.coordinatorPort = parsePort(*p, "BDL_COORDINATOR_PORT");
      out.coordinatorSource = "first host of " + nodesName + ", BDL_COORDINATOR_PORT";
    } else if (auto job = env("SLURM_JOB_ID")) {
      out.coordinatorPort = static_cast<uint16_t>(20000 + parseInt({"SLURM_JOB_ID", *job}) % 20000);
      out.coordinatorSource = "first host of " + nodesName + ", port from SLURM_JOB_ID";
    } else {
      throw DistError("srun gave no SLURM_JOB_ID to derive the coordinator port from: set BDL_COORDINATOR_PORT "
                      "or " + std::string(kCoordinatorHint));
    }
  } else if (out.worldSize > 1) {
    throw DistError(std::string(launchSourceName(info.source)) + " gives rank " + std::to_string(out.rank) +
                    " of " + std::to_string(out.worldSize) + " but not the coordinator's address: " +
                    kCoordinatorHint);
  }

  for (auto [name, flag] : {std::pair{"BDL_LOCAL_LINKS", &out.localLinks}, {"BDL_SHARED_MEMORY", &out.sharedMemory}})
    if (auto v = env(name)) {
      if (*v != "0" && *v != "1")
        throw DistError(std::string(name) + "='" + *v + "' is not 0 or 1");
      *flag = *v == "1";
    }
  if (auto b = env("BDL_BIND_HOST")) {
    out.bindHost = *b;
    out.coordinatorBindHost = *b;
  } else if (out.coordinatorSource.rfind("first host of", 0) == 0) {
    out.bindHost = out.coordinatorBindHost = "0.0.0.0";
  } else
    out.bindHost = !isLoopback(out.coordinatorHost) ? "0.0.0.0" : out.coordinatorHost == "::1" ? "::1" : "127.0.0.1";
  return out;
}

void applyLaunchEnv(const LaunchEnv& env, DistConfig& config) {
  config.rank = env.rank;
  config.worldSize = env.worldSize;
  config.coordinatorHost = env.coordinatorHost;
  config.coordinatorPort = env.coordinatorPort;
  config.bindHost = env.bindHost;
  config.coordinatorBindHost = env.coordinatorBindHost;
  config.localLinks = env.localLinks;
  config.sharedMemory = env.sharedMemory;
}

} // namespace bdl::dist
