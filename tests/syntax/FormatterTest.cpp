#include "tests/syntax/TestSupport.h"

#include "compiler/syntax/AstDump.h"
#include "compiler/syntax/Formatter.h"

#include <gtest/gtest.h>

using namespace bdl;
using bdl::test::parse;

namespace {

std::string format(const std::string& text) {
  auto p = parse(text);
  EXPECT_TRUE(p->module) << p->errors();
  return p->module ? formatModule(*p->module) : "";
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

} // namespace

TEST(Formatter, ShippedFilesAreCanonicalAndFormattingIsIdempotent) {
  for (const auto& path : test::shippedBdlFiles()) {
    std::string original = test::readText(path);
    std::string once = format(original);
    EXPECT_EQ(once, original) << path << " is not in canonical form";
    EXPECT_EQ(format(once), once) << path;
  }
}

TEST(Formatter, FormattingKeepsTheProgram) {
  for (const auto& path : test::shippedBdlFiles()) {
    auto before = parse(test::readText(path));
    ASSERT_TRUE(before->module);
    auto after = parse(formatModule(*before->module));
    ASSERT_TRUE(after->module) << after->errors();
    EXPECT_EQ(dumpAst(*before->module, false), dumpAst(*after->module, false)) << path;
  }
}

TEST(Formatter, NormalisesLayout) {
  EXPECT_EQ(format("def   f( x:f32[N,4] ,k:int=3)->f32[N,4]{\nreturn x*k+1}"),
            "def f(x: f32[N, 4], k: int = 3) -> f32[N, 4] {\n  return x * k + 1\n}\n");
  EXPECT_EQ(format("import std.nn\nimport \"b.bdl\" as b\ndef g(){}"),
            "import std.nn\nimport \"b.bdl\" as b\n\ndef g() {\n}\n");
}

TEST(Formatter, ParenthesesOnlyWhereTheyMatter) {
  EXPECT_EQ(format("def f() {\n  y = ((a + b)) * (c) - (d - e) + (x => x)(1)\n}\n"),
            "def f() {\n  y = (a + b) * c - (d - e) + (x => x)(1)\n}\n");
  EXPECT_EQ(format("def f() {\n  y = -(a + b) + (-a).b + (a < b) == c\n}\n"),
            "def f() {\n  y = -(a + b) + (-a).b + (a < b) == c\n}\n");
}

TEST(Formatter, KeepsEveryCommentAndBlankLineGroups) {
  std::string src = R"(// header
import std.nn // trailing

/* block */
def f(x: f32[N]) { // after brace


  a = x // one
  // before b
  b = g(x, // inside a call
        a)
  // at the end of the body
}
// end of file
)";
  std::string out = format(src);
  for (const char* c : {"// header", "// trailing", "/* block */", "// one", "// before b", "// inside a call",
                        "// at the end of the body", "// end of file", "// after brace"})
    EXPECT_EQ(count(out, c), 1u) << c << "\n" << out;
  EXPECT_EQ(format(out), out);
  EXPECT_EQ(count(out, "\n\n\n"), 0u) << out;
}

TEST(Formatter, AlignsTrainItemsAndBreaksLongCalls) {
  std::string out = format(
      "train T {\ndata = D()\ncheckpoint = \"c\" every 1 epoch keep 3\n}\n"
      "pipeline P = idx(images = \"/a/very/long/path/to/train-images.gz\", labels = \"/a/very/long/path/labels.gz\")\n");
  EXPECT_EQ(out,
            "train T {\n"
            "  data       = D()\n"
            "  checkpoint = \"c\" every 1 epoch keep 3\n"
            "}\n\n"
            "pipeline P =\n"
            "  idx(images = \"/a/very/long/path/to/train-images.gz\",\n"
            "      labels = \"/a/very/long/path/labels.gz\")\n");
}
