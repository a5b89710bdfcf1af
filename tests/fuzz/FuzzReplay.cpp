// fuzz_replay: runs the fuzzer's property (checkFrontend) over saved inputs
// with the normal build, so every reproducer stays a regression test.
//   fuzz_replay [--valid] PATH...
// A PATH is a file or a folder (every regular file in it, not recursive).
// Inputs after --valid must also parse, so the seeds keep exercising the
// formatter round trip and cannot silently turn into rejected inputs.
#include "tests/fuzz/FrontendCheck.h"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct Input {
  fs::path path;
  bool mustParse = false;
};

bool collect(const std::string& arg, bool mustParse, std::vector<Input>& out) {
  std::error_code ec;
  if (fs::is_regular_file(arg, ec)) {
    out.push_back({arg, mustParse});
    return true;
  }
  if (!fs::is_directory(arg, ec)) {
    std::fprintf(stderr, "fuzz_replay: error: '%s' is neither a file nor a folder\n", arg.c_str());
    return false;
  }
  std::vector<fs::path> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(arg, ec))
    if (entry.is_regular_file() && entry.path().filename().string()[0] != '.') files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (fs::path& f : files) out.push_back({std::move(f), mustParse});
  return !ec;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<Input> inputs;
  bool mustParse = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--valid") {
      mustParse = true;
      continue;
    }
    if (!collect(arg, mustParse, inputs)) return 2;
  }
  if (inputs.empty()) {
    std::fprintf(stderr, "usage: fuzz_replay [--valid] PATH...   (no inputs found)\n");
    return 2;
  }

  size_t parsed = 0, rejected = 0, failed = 0;
  for (const Input& input : inputs) {
    // Named before it runs, so that a crash shows which input caused it.
    std::fprintf(stderr, "replay %s\n", input.path.c_str());
    std::ifstream in(input.path, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    bdl::fuzz::CheckResult result;
    try {
      result = bdl::fuzz::checkFrontend(bytes.str());
    } catch (const std::exception& e) {
      result.failure = std::string("exception escaped the front end: ") + e.what();
    }
    if (!result.failure && input.mustParse && result.outcome != bdl::fuzz::Outcome::Parsed)
      result.failure = "a seed file that must parse was rejected (run: bdlc check " + input.path.string() + ")";
    (result.outcome == bdl::fuzz::Outcome::Parsed ? parsed : rejected)++;
    if (result.failure) {
      ++failed;
      std::fprintf(stderr, "FAIL %s: %s\n", input.path.c_str(), result.failure->c_str());
    }
  }
  std::printf("fuzz_replay: %zu inputs (%zu parsed, %zu rejected), %zu failed\n", inputs.size(), parsed, rejected,
              failed);
  return failed ? 1 : 0;
}
