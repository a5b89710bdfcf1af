#!/bin/bash
# Several hosts on one machine: each rank of a ParamSync job runs in its own
# network namespace with its own address (10.200.0.1, .2, ...), joined by
# veth pairs to a bridge in a hub namespace, so traffic crosses real
# interfaces and the ranks find each other through MASTER_ADDR/MASTER_PORT as
# on a cluster (LaunchEnv then binds data ports on 0.0.0.0).
#
#   run_netns_tests.sh PARAM_SYNC_WORKER sync [RANKS]  # f32 and bf16 jobs check out
#   run_netns_tests.sh PARAM_SYNC_WORKER cut  [RANKS]  # the last rank's link goes
#       down mid-run: every other rank must exit within the timeout with an
#       error naming it, and the cut-off rank must exit too
#
# Needs root and `ip netns` (CI runs as root); otherwise exits 77, which ctest
# reports as skipped. The namespaces (and any process left in them) are
# removed on every exit path.
set -u
worker=$1
mode=$2
ranks=${3:-3}
timeout_ms=2000

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "network namespaces need root (uid $(id -u))"
command -v ip >/dev/null || skip "no ip command (iproute2)"

tag="bdl$$"
hub="${tag}hub"
work=$(mktemp -d)
namespaces=()
cleanup() {
  for ns in "${namespaces[@]}"; do
    # Only processes of this test live in these namespaces.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$hub" 2>/dev/null || skip "cannot create a network namespace (ip netns add failed)"
namespaces+=("$hub")
ip -n "$hub" link add br0 type bridge 2>/dev/null || skip "no bridge support in this kernel"
ip -n "$hub" link set br0 up
for ((i = 0; i < ranks; i++)); do
  ns="${tag}n$i"
  ip netns add "$ns" || { echo "FAIL: ip netns add $ns"; exit 1; }
  namespaces+=("$ns")
  ip -n "$hub" link add "h$i" type veth peer name eth0 netns "$ns" 2>/dev/null || skip "no veth support in this kernel"
  ip -n "$hub" link set "h$i" master br0 up
  ip -n "$ns" addr add "10.200.0.$((i + 1))/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
done
# Workers retry connecting to the coordinator until their join timeout, so
# a bridge port still coming up only delays the start.

BDL_JOB_TOKEN=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
now() { date +%s.%N; }

# start_job NAME ARGS...: one worker per namespace, in the background; each
# writes its output to $work/NAME.R.log and "exit-code end-time" to NAME.R.rc.
pids=()
start_job() {
  local name=$1; shift
  pids=()
  for ((i = 0; i < ranks; i++)); do
    (
      ip netns exec "${tag}n$i" env RANK=$i WORLD_SIZE=$ranks MASTER_ADDR=10.200.0.1 MASTER_PORT=29500 \
        BDL_JOB_TOKEN="$BDL_JOB_TOKEN" "$worker" --timeout-ms $timeout_ms "$@" >"$work/$name.$i.log" 2>&1
      echo "$? $(now)" >"$work/$name.$i.rc"
    ) &
    pids+=($!)
  done
}

# wait_job SECONDS: waits for every worker; fails if one is still running.
wait_job() {
  local limit=$1 end
  end=$(echo "$(now) + $limit" | bc)
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null; do
      if [ "$(echo "$(now) > $end" | bc)" = 1 ]; then
        echo "FAIL: a rank is still running after ${limit} s"
        return 1
      fi
      sleep 0.05
    done
    wait "$pid"
  done
}

show_logs() { for f in "$work/$1".*.log; do echo "--- $f"; cat "$f"; done; }

status=0
case "$mode" in
sync)
  for wire in f32 bf16; do
    start_job "sync-$wire" --iters 30 --params 100003 --chunk 8192 --wire "$wire"
    wait_job 60 || { show_logs "sync-$wire"; exit 1; }
    for ((i = 0; i < ranks; i++)); do
      read -r code _ <"$work/sync-$wire.$i.rc"
      if [ "$code" != 0 ] || ! grep -q "^rank $i: OK" "$work/sync-$wire.$i.log"; then
        echo "FAIL: $wire: rank $i exited with $code"; show_logs "sync-$wire"; status=1; break
      fi
    done
    [ $status = 0 ] && grep -h ": OK" "$work/sync-$wire".*.log
    grep -q "10.200.0.1:29500 (MASTER_ADDR/MASTER_PORT)" "$work/sync-$wire.1.log" || {
      echo "FAIL: rank 1 did not take the coordinator from MASTER_ADDR"; show_logs "sync-$wire"; status=1; }
  done
  ;;
cut)
  lost=$((ranks - 1))
  # About 20 s of iterations if nothing happens; the link goes down after 1.5 s.
  start_job cut --iters 1000 --params 20000 --pause-ms 20
  sleep 1.5
  for ((i = 0; i < ranks; i++)); do
    [ -e "$work/cut.$i.rc" ] && { echo "FAIL: rank $i ended before the cut"; show_logs cut; exit 1; }
  done
  ip -n "$hub" link set "h$lost" down
  cut_at=$(now)
  echo "link of rank $lost cut at $cut_at"
  wait_job 15 || { show_logs cut; exit 1; }
  limit=$(echo "$timeout_ms / 1000 + 1.5" | bc -l) # timeout plus one heartbeat period and slack
  for ((i = 0; i < ranks; i++)); do
    read -r code end <"$work/cut.$i.rc"
    took=$(echo "$end - $cut_at" | bc)
    err=$(grep "error:" "$work/cut.$i.log")
    echo "rank $i: exit $code after ${took} s: $err"
    if [ "$code" != 1 ]; then
      echo "FAIL: rank $i should fail with a DistError (exit 1), got $code"; status=1
    fi
    if [ "$(echo "$took > $limit" | bc)" = 1 ]; then
      echo "FAIL: rank $i took ${took} s after the cut (limit ${limit} s)"; status=1
    fi
    if [ $i != $lost ] && ! echo "$err" | grep -q "rank $lost (10.200.0.$((lost + 1))"; then
      echo "FAIL: rank $i's error does not name rank $lost and its address"; status=1
    fi
  done
  [ $status = 0 ] || show_logs cut
  ;;
*)
  echo "usage: $0 PARAM_SYNC_WORKER sync|cut [RANKS]"; exit 2 ;;
esac
exit $status
