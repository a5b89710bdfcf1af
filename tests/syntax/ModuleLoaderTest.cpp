#include "tests/syntax/TestSupport.h"

#include "compiler/sema/ModuleLoader.h"

#include <gtest/gtest.h>

using namespace bdl;
namespace fs = std::filesystem;

namespace {

class ModuleLoaderTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("bdl_loader_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& name, const std::string& text) {
    fs::create_directories((dir_ / name).parent_path());
    std::ofstream(dir_ / name) << text;
  }

  // Loads `root` with the stdlib of this source tree; returns the diagnostics.
  std::string load(const std::string& root, LoadedProgram& program, std::vector<fs::path> userDirs = {}) {
    ModuleSearchPaths paths;
    paths.userDirs = std::move(userDirs);
    paths.stdlibDir = test::sourceDir() / "stdlib";
    DiagnosticEngine diags(sources_);
    loadProgram(dir_ / root, paths, sources_, diags, program);
    return diags.renderToString();
  }

  fs::path dir_;
  SourceManager sources_;
};

} // namespace

TEST_F(ModuleLoaderTest, StdImportFindsTheStandardLibrary) {
  write("main.bdl", "import std.nn\nmodel M(x: f32[N, 4]) -> f32[N, 2] {\n  return nn.Dense(x, 2)\n}\n");
  LoadedProgram program;
  EXPECT_EQ(load("main.bdl", program), "");
  ASSERT_EQ(program.modules.size(), 2u);
  EXPECT_EQ(program.modules[1].path.filename(), "nn.bdl");
  EXPECT_EQ(program.modules[0].imports.size(), 1u);
}

TEST_F(ModuleLoaderTest, UserDirectoriesComeFirstAndRelativeFilesWork) {
  write("lib/std/nn.bdl", "def Mine() {\n}\n");
  write("lib/shapes/blocks.bdl", "import \"../helpers.bdl\" as h\ndef Block() {\n}\n");
  write("lib/helpers.bdl", "def Help() {\n}\n");
  write("main.bdl", "import std.nn\nimport shapes.blocks\ndef f() {\n}\n");
  LoadedProgram program;
  EXPECT_EQ(load("main.bdl", program, {dir_ / "lib"}), "");
  ASSERT_EQ(program.modules.size(), 4u);
  EXPECT_EQ(program.modules[1].path, fs::weakly_canonical(dir_ / "lib/std/nn.bdl"));
  EXPECT_EQ(program.modules[3].path.filename(), "helpers.bdl");
}

TEST_F(ModuleLoaderTest, DiamondImportsParseEachFileOnce) {
  write("a.bdl", "import \"b.bdl\"\nimport \"c.bdl\"\ndef A() {\n}\n");
  write("b.bdl", "import \"d.bdl\"\ndef B() {\n}\n");
  write("c.bdl", "import \"d.bdl\"\ndef C() {\n}\n");
  write("d.bdl", "def D() {\n}\n");
  LoadedProgram program;
  EXPECT_EQ(load("a.bdl", program), "");
  EXPECT_EQ(program.modules.size(), 4u);
}

TEST_F(ModuleLoaderTest, ImportCycleNamesTheCycle) {
  write("a.bdl", "import \"b.bdl\"\ndef A() {\n}\n");
  write("b.bdl", "def B() {\n}\nimport \"c.bdl\"\n");
  write("c.bdl", "import \"a.bdl\"\ndef C() {\n}\n");
  LoadedProgram program;
  std::string out = load("a.bdl", program);
  EXPECT_NE(out.find("c.bdl:1:1: error: import cycle: a.bdl -> b.bdl -> c.bdl -> a.bdl"), std::string::npos) << out;
  EXPECT_NE(out.find("b.bdl:3:1: note: c.bdl is imported here"), std::string::npos) << out;
}

TEST_F(ModuleLoaderTest, MissingModulesSayWhereTheyLooked) {
  write("main.bdl", "import std.nope\nimport mylib.layers\nimport \"gone.bdl\"\ndef f() {\n}\n");
  LoadedProgram program;
  std::string out = load("main.bdl", program);
  EXPECT_NE(out.find("main.bdl:1:1: error: cannot find module 'std.nope'"), std::string::npos) << out;
  EXPECT_NE(out.find("looked for " + (test::sourceDir() / "stdlib" / "nope.bdl").string()), std::string::npos) << out;
  EXPECT_NE(out.find("main.bdl:2:1: error: cannot find module 'mylib.layers'"), std::string::npos) << out;
  EXPECT_NE(out.find("hint: set BDL_PATH"), std::string::npos) << out;
  EXPECT_NE(out.find("main.bdl:3:8: error: cannot find 'gone.bdl'"), std::string::npos) << out;
}

TEST_F(ModuleLoaderTest, ErrorsInImportedFilesAreLocatedThere) {
  write("main.bdl", "import \"bad.bdl\"\ndef f() {\n}\n");
  write("bad.bdl", "def g( {\n}\n");
  LoadedProgram program;
  std::string out = load("main.bdl", program);
  EXPECT_NE(out.find("bad.bdl:1:8: error:"), std::string::npos) << out;
}
