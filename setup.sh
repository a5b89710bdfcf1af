#!/usr/bin/env bash
# Installs every Debian package bdl needs (compiler, runtime, tests, data sets
# and the peers the benchmarks run), then configures and builds build/.
# Safe to run again: it installs only what is missing and rebuilds only what
# changed, and says nothing when there is nothing to do.
#
#   ./setup.sh                 Release build in build/
#   BUILD_TYPE=Asan ./setup.sh ASan+UBSan build in build-asan/
#   BUILD_TYPE=Debug ./setup.sh
set -euo pipefail
cd "$(dirname "$0")"

packages=(
  # build
  cmake ninja-build g++ pkg-config
  # front end: ANTLR tool (needs a JRE) and runtime (links libuuid)
  antlr4 libantlr4-runtime-dev default-jre-headless uuid-dev
  # JIT and kernels: LLVM 19 (its CMake config names zstd), oneDNN 2.x (its
  # config wants OpenCL headers)
  llvm-19-dev libzstd-dev libdnnl-dev ocl-icd-opencl-dev
  # distributed layer, formatting, CLI, JSON, REPL line editing, gzip
  libboost-dev libfmt-dev libcli11-dev nlohmann-json3-dev libedit-dev zlib1g-dev
  # SHA-256 and HMAC (checkpoint manifests, job token), zip container of .npz
  libssl-dev libzip-dev
  # tests and the front-end fuzzer (clang's libFuzzer runtime)
  libgtest-dev clang libclang-rt-14-dev
  # real data sets
  dataset-fashion-mnist python3-sklearn
  # peers for benchmarks and reference values, MPI launcher for dist tests
  python3 python3-numpy python3-torch libopenblas0-openmp libgloo-dev
  openmpi-bin libopenmpi-dev hyperfine
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup.sh: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build_type=${BUILD_TYPE:-Release}
case "$build_type" in
  Release) build_dir=build ;;
  Debug) build_dir=build-debug ;;
  Asan) build_dir=build-asan ;;
  *) echo "setup.sh: BUILD_TYPE must be Release, Debug or Asan" >&2; exit 2 ;;
esac

if [[ ! -f "$build_dir/build.ninja" ]]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" >"$build_dir.configure.log" 2>&1 ||
    { cat "$build_dir.configure.log" >&2; exit 1; }
  rm -f "$build_dir.configure.log"
fi
# Ninja stays silent when everything is up to date; on a failure it prints
# the failing command and the compiler's output.
if ! out=$(cmake --build "$build_dir" -- --quiet 2>&1); then
  printf '%s\n' "$out" >&2
  exit 1
fi
printf '%s\n' "$out" | grep -v '^ninja: no work to do\.$' | grep -v '^$' || true
