// LaunchEnv against the variables each launcher really sets, with a fake
// environment (a map) so the test process's own environment never leaks in.
#include "runtime/dist/DistError.h"
#include "runtime/dist/LaunchEnv.h"

#include <gtest/gtest.h>

#include <map>

using namespace bdl::dist;

namespace {

using Vars = std::map<std::string, std::string>;

EnvLookup lookup(const Vars& vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

LaunchEnv detect(const Vars& vars, const LaunchOverrides& o = {}) { return detectLaunchEnv(lookup(vars), o); }

// The message of the DistError detect() throws, or "" when it does not throw.
std::string errorOf(const Vars& vars, const LaunchOverrides& o = {}) {
  try {
    detect(vars, o);
  } catch (const DistError& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << "'" << (haystack) << "' lacks '" << (needle) << "'"

} // namespace

TEST(LaunchEnv, NoLauncherIsOneProcessOnLoopback) {
  auto e = detect({});
  EXPECT_EQ(e.source, LaunchSource::Single);
  EXPECT_EQ(e.rank, 0);
  EXPECT_EQ(e.worldSize, 1);
  EXPECT_EQ(e.coordinatorHost, "127.0.0.1");
  EXPECT_EQ(e.coordinatorPort, 0);
  EXPECT_EQ(e.bindHost, "127.0.0.1");
  EXPECT_EQ(e.localRank, -1);
}

TEST(LaunchEnv, OpenMpiNeedsACoordinatorAndSaysHowToGiveIt) {
  Vars mpi{{"OMPI_COMM_WORLD_RANK", "2"}, {"OMPI_COMM_WORLD_SIZE", "4"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "0"}};
  std::string m = errorOf(mpi);
  EXPECT_CONTAINS(m, "OpenMPI");
  EXPECT_CONTAINS(m, "--coordinator");
  EXPECT_CONTAINS(m, "BDL_COORDINATOR");

  mpi["BDL_COORDINATOR"] = "10.1.2.3:29400";
  auto e = detect(mpi);
  EXPECT_EQ(e.source, LaunchSource::OpenMpi);
  EXPECT_EQ(e.rank, 2);
  EXPECT_EQ(e.worldSize, 4);
  EXPECT_EQ(e.localRank, 0);
  EXPECT_EQ(e.coordinatorHost, "10.1.2.3");
  EXPECT_EQ(e.coordinatorPort, 29400);
  EXPECT_EQ(e.coordinatorSource, "BDL_COORDINATOR");
  EXPECT_EQ(e.bindHost, "0.0.0.0"); // other hosts must reach this rank's data port
  EXPECT_CONTAINS(e.describe(), "rank 2 of 4");
  EXPECT_CONTAINS(e.describe(), "10.1.2.3:29400");
}

TEST(LaunchEnv, OpenMpiSingleRankNeedsNoCoordinator) {
  auto e = detect({{"OMPI_COMM_WORLD_RANK", "0"}, {"OMPI_COMM_WORLD_SIZE", "1"}});
  EXPECT_EQ(e.worldSize, 1);
  EXPECT_EQ(e.coordinatorPort, 0);
}

TEST(LaunchEnv, TorchRunConvention) {
  auto e = detect({{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "127.0.0.1"},
                   {"MASTER_PORT", "29500"}});
  EXPECT_EQ(e.source, LaunchSource::TorchRun);
  EXPECT_EQ(e.rank, 1);
  EXPECT_EQ(e.worldSize, 2);
  EXPECT_EQ(e.localRank, 1);
  EXPECT_EQ(e.coordinatorHost, "127.0.0.1");
  EXPECT_EQ(e.coordinatorPort, 29500);
  EXPECT_EQ(e.coordinatorSource, "MASTER_ADDR/MASTER_PORT");
  EXPECT_EQ(e.bindHost, "127.0.0.1");
}

TEST(LaunchEnv, KubernetesIndexedJobGivesTheRankAsCompletionIndex) {
  auto e = detect({{"JOB_COMPLETION_INDEX", "3"}, {"WORLD_SIZE", "4"}, {"MASTER_ADDR", "train-0.train"},
                   {"MASTER_PORT", "29500"}});
  EXPECT_EQ(e.source, LaunchSource::TorchRun);
  EXPECT_EQ(e.rank, 3);
  EXPECT_EQ(e.coordinatorHost, "train-0.train");
  EXPECT_EQ(e.bindHost, "0.0.0.0");
}

TEST(LaunchEnv, SlurmTakesTheFirstHostOfTheStepAndAPortFromTheJobId) {
  Vars slurm{{"SLURM_PROCID", "5"},
             {"SLURM_NTASKS", "8"},
             {"SLURM_LOCALID", "1"},
             {"SLURM_JOB_ID", "123456"},
             {"SLURM_JOB_NODELIST", "login[1-2]"},
             {"SLURM_STEP_NODELIST", "gpu[007-010,012],cpu1"},
             {"SLURM_LAUNCH_NODE_IPADDR", "10.0.0.99"}};
  auto e = detect(slurm);
  EXPECT_EQ(e.source, LaunchSource::Slurm);
  EXPECT_EQ(e.rank, 5);
  EXPECT_EQ(e.worldSize, 8);
  EXPECT_EQ(e.localRank, 1);
  EXPECT_EQ(e.coordinatorHost, "gpu007");
  EXPECT_EQ(e.coordinatorPort, 20000 + 123456 % 20000);
  EXPECT_CONTAINS(e.coordinatorSource, "SLURM_STEP_NODELIST");
  EXPECT_EQ(e.coordinatorBindHost, "0.0.0.0"); // "gpu007" may be 127.0.1.1 on gpu007 itself
  EXPECT_EQ(e.bindHost, "0.0.0.0");

  slurm.erase("SLURM_STEP_NODELIST");
  slurm["BDL_COORDINATOR_PORT"] = "31000";
  e = detect(slurm);
  EXPECT_EQ(e.coordinatorHost, "login1");
  EXPECT_EQ(e.coordinatorPort, 31000);

  slurm["MASTER_ADDR"] = "10.0.0.5";
  slurm["MASTER_PORT"] = "29501";
  e = detect(slurm);
  EXPECT_EQ(e.coordinatorHost, "10.0.0.5");
  EXPECT_EQ(e.coordinatorPort, 29501);
  EXPECT_EQ(e.coordinatorBindHost, ""); // an address it was given: bind exactly that
}

TEST(LaunchEnv, InnermostLauncherWins) {
  // mpirun inside an sbatch allocation: every process also carries Slurm's
  // variables of the batch step.
  auto e = detect({{"SLURM_PROCID", "0"},
                   {"SLURM_NTASKS", "1"},
                   {"OMPI_COMM_WORLD_RANK", "3"},
                   {"OMPI_COMM_WORLD_SIZE", "4"},
                   {"BDL_COORDINATOR", "node1:29500"}});
  EXPECT_EQ(e.source, LaunchSource::OpenMpi);
  EXPECT_EQ(e.rank, 3);
  // torchrun inside srun.
  e = detect({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}, {"RANK", "3"}, {"WORLD_SIZE", "4"},
              {"MASTER_ADDR", "node1"}, {"MASTER_PORT", "29500"}});
  EXPECT_EQ(e.source, LaunchSource::TorchRun);
  EXPECT_EQ(e.rank, 3);
}

TEST(LaunchEnv, OverridesBeatTheEnvironment) {
  Vars vars{{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "a"}, {"MASTER_PORT", "1"},
            {"BDL_COORDINATOR", "b:2"}};
  auto e = detect(vars);
  EXPECT_EQ(e.coordinatorHost, "b"); // BDL_COORDINATOR beats MASTER_ADDR
  EXPECT_EQ(e.coordinatorPort, 2);
  e = detect(vars, {.rank = 2, .worldSize = 3, .coordinator = "[::1]:4000"});
  EXPECT_EQ(e.source, LaunchSource::Explicit);
  EXPECT_EQ(e.rank, 2);
  EXPECT_EQ(e.worldSize, 3);
  EXPECT_EQ(e.coordinatorHost, "::1");
  EXPECT_EQ(e.coordinatorPort, 4000);
  EXPECT_EQ(e.coordinatorSource, "--coordinator");
  EXPECT_EQ(e.bindHost, "::1");
  EXPECT_CONTAINS(e.describe(), "[::1]:4000");

  e = detect({{"BDL_RANK", "0"}, {"BDL_WORLD_SIZE", "2"}, {"BDL_COORDINATOR", "127.0.0.1:5000"},
              {"BDL_BIND_HOST", "10.9.9.9"}});
  EXPECT_EQ(e.source, LaunchSource::Explicit);
  EXPECT_EQ(e.bindHost, "10.9.9.9");
  EXPECT_EQ(e.coordinatorBindHost, "10.9.9.9");
}

TEST(LaunchEnv, ClearErrors) {
  EXPECT_CONTAINS(errorOf({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}}),
                  "RANK=2 is not below WORLD_SIZE=2");
  EXPECT_CONTAINS(errorOf({{"OMPI_COMM_WORLD_RANK", "4"}, {"OMPI_COMM_WORLD_SIZE", "4"}}),
                  "OMPI_COMM_WORLD_RANK=4 is not below OMPI_COMM_WORLD_SIZE=4");
  EXPECT_CONTAINS(errorOf({{"RANK", "1"}}), "found only RANK");
  EXPECT_CONTAINS(errorOf({{"RANK", "x"}, {"WORLD_SIZE", "2"}}), "RANK='x' is not a non-negative integer");
  EXPECT_CONTAINS(errorOf({{"RANK", "-1"}, {"WORLD_SIZE", "2"}}), "RANK='-1'");
  EXPECT_CONTAINS(errorOf({{"RANK", "0"}, {"WORLD_SIZE", "0"}}), "at least 1");
  EXPECT_CONTAINS(errorOf({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}}), "found only MASTER_ADDR");
  EXPECT_CONTAINS(errorOf({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}}),
                  "not a TCP port");
  EXPECT_CONTAINS(errorOf({{"RANK", "0"}, {"WORLD_SIZE", "2"}}), "not the coordinator's address");
  EXPECT_CONTAINS(errorOf({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"BDL_COORDINATOR", "hostonly"}}),
                  "BDL_COORDINATOR='hostonly' is not HOST:PORT");
  EXPECT_CONTAINS(errorOf({}, {.rank = 0, .worldSize = 2, .coordinator = ":80"}), "has no host");
  EXPECT_CONTAINS(errorOf({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}}), "SLURM_STEP_NODELIST");
}

TEST(LaunchEnv, EmptyVariablesCountAsUnset) {
  auto e = detect({{"OMPI_COMM_WORLD_RANK", ""}, {"RANK", "1"}, {"WORLD_SIZE", "2"}, {"BDL_COORDINATOR", ""},
                   {"MASTER_ADDR", "h"}, {"MASTER_PORT", "9"}, {"BDL_BIND_HOST", ""}});
  EXPECT_EQ(e.source, LaunchSource::TorchRun);
  EXPECT_EQ(e.coordinatorHost, "h");
  EXPECT_EQ(e.bindHost, "0.0.0.0");
}

TEST(LaunchEnv, SlurmNodeLists) {
  EXPECT_EQ(firstSlurmHost("node1"), "node1");
  EXPECT_EQ(firstSlurmHost("node1,node2"), "node1");
  EXPECT_EQ(firstSlurmHost("n[01-04]"), "n01");
  EXPECT_EQ(firstSlurmHost("n[7,9-12]"), "n7");
  EXPECT_EQ(firstSlurmHost("rack[2-3]-n[001-004]"), "rack2-n001");
  EXPECT_THROW(firstSlurmHost("n[01-04"), DistError);
  EXPECT_THROW(firstSlurmHost(""), DistError);
}

TEST(LaunchEnv, LocalLinksCanBeTurnedOff) {
  EXPECT_TRUE(detect({}).localLinks);
  EXPECT_FALSE(detect({{"BDL_LOCAL_LINKS", "0"}}).localLinks);
  EXPECT_TRUE(detect({{"BDL_LOCAL_LINKS", "1"}}).localLinks);
  EXPECT_CONTAINS(errorOf({{"BDL_LOCAL_LINKS", "no"}}), "BDL_LOCAL_LINKS='no' is not 0 or 1");
  DistConfig c;
  applyLaunchEnv(detect({{"BDL_LOCAL_LINKS", "0"}}), c);
  EXPECT_FALSE(c.localLinks);
}

TEST(LaunchEnv, SharedMemoryCanBeTurnedOff) {
  EXPECT_TRUE(detect({}).sharedMemory);
  EXPECT_FALSE(detect({{"BDL_SHARED_MEMORY", "0"}}).sharedMemory);
  EXPECT_CONTAINS(errorOf({{"BDL_SHARED_MEMORY", "off"}}), "BDL_SHARED_MEMORY='off' is not 0 or 1");
  DistConfig c;
  applyLaunchEnv(detect({{"BDL_SHARED_MEMORY", "0"}}), c);
  EXPECT_FALSE(c.sharedMemory);
  EXPECT_TRUE(c.localLinks);
}

TEST(LaunchEnv, AppliesToTheConfig) {
  DistConfig c;
  applyLaunchEnv(detect({{"RANK", "1"}, {"WORLD_SIZE", "3"}, {"MASTER_ADDR", "10.0.0.1"}, {"MASTER_PORT", "29500"}}),
                 c);
  EXPECT_EQ(c.rank, 1);
  EXPECT_EQ(c.worldSize, 3);
  EXPECT_EQ(c.coordinatorHost, "10.0.0.1");
  EXPECT_EQ(c.coordinatorPort, 29500);
  EXPECT_EQ(c.bindHost, "0.0.0.0");
}
