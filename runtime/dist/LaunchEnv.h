// Who am I in a distributed job, and where is the coordinator? Read from the
// environment a launcher sets, so `bdlc worker` runs unchanged under mpirun,
// srun, torchrun-style launchers, Kubernetes Jobs and `bdlc train --workers`.
//
//   LaunchEnv env = detectLaunchEnv({.coordinator = cli.coordinator}); // throws DistError
//   DistConfig cfg;
//   applyLaunchEnv(env, cfg);          // rank, worldSize, coordinator, bindHost
//   std::fprintf(stderr, "%s\n", env.describe().c_str());
//
// Rank and world size, first source that is present wins:
//   1. overrides (command line), then BDL_RANK / BDL_WORLD_SIZE
//   2. OpenMPI's mpirun:   OMPI_COMM_WORLD_RANK, _SIZE, _LOCAL_RANK
//   3. torchrun / Kubernetes / bdlc train --workers: RANK, WORLD_SIZE, LOCAL_RANK
//      (RANK may be replaced by JOB_COMPLETION_INDEX, set in Indexed Jobs)
//   4. Slurm's srun:       SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID
//   5. none: a single process (rank 0 of 1)
// Slurm comes last because every process of an allocation inherits its
// variables, including an mpirun or torchrun started inside sbatch; the
// innermost launcher is the one that knows the ranks.
//
// Coordinator (rank 0's listening address), first present wins:
//   1. overrides, then BDL_COORDINATOR=host:port
//   2. MASTER_ADDR + MASTER_PORT
//   3. Slurm: the first host of SLURM_STEP_NODELIST (else SLURM_JOB_NODELIST),
//      where srun's block distribution puts task 0; port MASTER_PORT or
//      BDL_COORDINATOR_PORT, else 20000 + SLURM_JOB_ID mod 20000 so jobs that
//      share a node do not collide. (SLURM_LAUNCH_NODE_IPADDR is not used: it
//      is where srun was typed, possibly a login node that runs no task.)
//   A single process needs none (127.0.0.1, ephemeral port). OpenMPI sets
//   no coordinator: pass --coordinator or BDL_COORDINATOR (mpirun -x).
#pragma once

#include "runtime/dist/DistConfig.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace bdl::dist {

enum class LaunchSource { Single, Explicit, OpenMpi, TorchRun, Slurm };

// "OpenMPI (OMPI_COMM_WORLD_*)", ...
const char* launchSourceName(LaunchSource s);

struct LaunchEnv {
  int rank = 0;
  int worldSize = 1;
  int localRank = -1; // rank on this host; -1 when the launcher does not say
  std::string coordinatorHost = "127.0.0.1";
  uint16_t coordinatorPort = 0;
  // Where a worker accepts data-plane links: BDL_BIND_HOST, else loopback when
  // the coordinator is loopback, else every interface (0.0.0.0).
  std::string bindHost = "127.0.0.1";
  // Where rank 0 listens; empty: the coordinator host itself. BDL_BIND_HOST
  // if set; 0.0.0.0 for a host name taken from a Slurm node list (it may
  // resolve to a loopback alias on its own host).
  std::string coordinatorBindHost;
  // BDL_LOCAL_LINKS=0 keeps same-host links on TCP (DistConfig::localLinks).
  bool localLinks = true;
  // BDL_SHARED_MEMORY=0 keeps parameter-sync data of same-host links on their
  // sockets (DistConfig::sharedMemory).
  bool sharedMemory = true;
  LaunchSource source = LaunchSource::Single;
  std::string coordinatorSource; // the variable or flag it came from, "" for Single
  // "rank 1 of 4 (OpenMPI (OMPI_COMM_WORLD_*)), coordinator 10.0.0.1:29500 (BDL_COORDINATOR)"
  std::string describe() const;
};

// Command-line values; each one set wins over every environment variable.
struct LaunchOverrides {
  std::optional<int> rank;
  std::optional<int> worldSize;
  std::optional<std::string> coordinator; // "host:port", "[v6addr]:port"
};

// Returns the value of a variable, or nullopt when it is unset (an empty
// value counts as unset).
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// Throws DistError with a hint: rank outside [0, size), a non-numeric value,
// half a pair (RANK without WORLD_SIZE, MASTER_ADDR without MASTER_PORT), or
// no coordinator for a job of more than one rank.
LaunchEnv detectLaunchEnv(const LaunchOverrides& overrides = {});
LaunchEnv detectLaunchEnv(const EnvLookup& env, const LaunchOverrides& overrides = {});

// Copies rank, world size, coordinator, bind hosts and localLinks into `config`.
void applyLaunchEnv(const LaunchEnv& env, DistConfig& config);

// "host:port" or "[v6]:port" -> (host, port); throws DistError naming `what`.
std::pair<std::string, uint16_t> parseHostPort(const std::string& text, const std::string& what);
// First host of a Slurm node list: "gpu[003-010,012],cpu1" -> "gpu003".
std::string firstSlurmHost(const std::string& nodeList);

} // namespace bdl::dist
