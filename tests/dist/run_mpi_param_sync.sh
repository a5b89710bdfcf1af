#!/bin/sh
# ParamSync under a real mpirun (Debian's openmpi-bin): each rank takes its
# place from OMPI_COMM_WORLD_* through LaunchEnv, the coordinator from
# BDL_COORDINATOR (OpenMPI sets none), and checks its weights against a plain
# sum. The workers do not use MPI itself; mpirun only places them.
#   run_mpi_param_sync.sh PARAM_SYNC_WORKER [RANKS]
set -eu
worker=$1
np=${2:-3}
command -v mpirun >/dev/null || { echo "SKIP: no mpirun"; exit 77; }
port=$("$worker" --print-free-port)
BDL_JOB_TOKEN=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
export BDL_JOB_TOKEN
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
for wire in f32 bf16; do
  # --allow-run-as-root: CI runs as root; --oversubscribe: more ranks than cores.
  if ! timeout 60 mpirun --allow-run-as-root --oversubscribe -np "$np" \
      -x BDL_JOB_TOKEN -x BDL_COORDINATOR="127.0.0.1:$port" \
      "$worker" --iters 30 --params 100003 --chunk 4096 --wire "$wire" --timeout-ms 10000 >"$out" 2>&1; then
    echo "FAIL: mpirun -np $np ($wire) failed:"; cat "$out"; status=1; continue
  fi
  ok=$(grep -c ": OK," "$out" || true)
  mpi=$(grep -c "(OpenMPI (OMPI_COMM_WORLD_\*)), coordinator 127.0.0.1:$port (BDL_COORDINATOR)" "$out" || true)
  if [ "$ok" != "$np" ] || [ "$mpi" != "$np" ]; then
    echo "FAIL: $wire: $ok of $np ranks OK, $mpi placed by OpenMPI:"; cat "$out"; status=1; continue
  fi
  grep ": OK," "$out"
  port=$("$worker" --print-free-port)
done
exit $status
