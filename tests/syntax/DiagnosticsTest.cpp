#include "tests/syntax/TestSupport.h"

#include <gtest/gtest.h>

using namespace bdl;
using bdl::test::parse;

TEST(Diagnostics, ThreeIndependentErrorsAreEachReportedInOrder) {
  auto p = parse(R"(model M(x: f32[N, 4]) -> f32[N, 4] {
  a = f(x, 1
  b = a +
  return b
}
train T {
  seed = 42;
}
)");
  EXPECT_FALSE(p->module);
  EXPECT_EQ(p->diags->errorCount(), 3u) << p->errors();
  std::string out = p->errors();
  auto first = out.find("test.bdl:2:13: error: expected ')' to close the call of 'f' that starts at 2:8");
  auto second = out.find("test.bdl:3:10: error: expected an expression after '+'\n");
  auto third = out.find("test.bdl:7:12: error: unexpected character ';'");
  EXPECT_NE(first, std::string::npos) << out;
  EXPECT_NE(second, std::string::npos) << out;
  EXPECT_NE(third, std::string::npos) << out;
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
}

TEST(Diagnostics, ClangLayoutWithCaretNoteAndHint) {
  auto p = parse("def f(x: f32[N]) {\n  y = g(x,\n}\n");
  std::string out = p->errors();
  EXPECT_EQ(out,
            "test.bdl:2:11: error: expected ')' to close the call of 'g' that starts at 2:8\n"
            "  y = g(x,\n"
            "          ^\n"
            "test.bdl:2:8: note: to match this '('\n"
            "  y = g(x,\n"
            "       ^\n");
}

TEST(Diagnostics, UnderlinesTheWholeTokenAndCountsCodePoints) {
  auto p = parse("// ünïcödé\ndef f() {\n  return x ++ \n}\n");
  std::string out = p->errors();
  EXPECT_NE(out.find("test.bdl:3:13: error: expected an expression after '+', found '+'"), std::string::npos) << out;
  auto q = parse("def f() {\n  \"é\" = 1\n}\n");
  EXPECT_NE(q->errors().find("test.bdl:2:3: error: expected a statement or '}', found string \"é\""),
            std::string::npos)
      << q->errors();
  EXPECT_NE(q->errors().find("  ^~~\n"), std::string::npos) << q->errors();
}

TEST(Diagnostics, ColourOnlyWhenAsked) {
  auto p = parse("def f( {\n}\n");
  ASSERT_TRUE(p->diags->hasErrors());
  const Diagnostic& d = p->diags->diagnostics().front();
  EXPECT_EQ(formatDiagnostic(d, p->sources, false).find("\033["), std::string::npos);
  EXPECT_NE(formatDiagnostic(d, p->sources, true).find("\033[1;31m"), std::string::npos);
}

TEST(Diagnostics, ErrorLimitStopsReporting) {
  std::string text;
  for (int i = 0; i < 50; ++i) text += "def f" + std::to_string(i) + "( {\n}\n";
  SourceManager sources;
  DiagnosticEngine diags(sources, 5);
  FileId id = sources.addFile("many.bdl", text);
  EXPECT_FALSE(parseModule(sources, id, diags));
  EXPECT_EQ(diags.errorCount(), 5u);
  EXPECT_NE(diags.renderToString().find("too many errors (5)"), std::string::npos);
}

TEST(Diagnostics, InputThatIsNotSourceText) {
  EXPECT_NE(parse("")->errors().find("error: file has no declarations"), std::string::npos);
  EXPECT_NE(parse("// only a comment\n")->errors().find("file has no declarations"), std::string::npos);
  EXPECT_NE(parse(std::string("def\0f", 5))->errors().find("NUL byte at offset 3"), std::string::npos);
  EXPECT_NE(parse("def f\xff() {}")->errors().find("invalid UTF-8 byte 0xff at offset 5"), std::string::npos);
  EXPECT_NE(parse("\xc0\xaf")->errors().find("invalid UTF-8"), std::string::npos); // overlong
  auto big = parse(std::string(kMaxSourceBytes + 1, ' '));
  EXPECT_NE(big->errors().find("bdlc reads source files of at most 8 MiB"), std::string::npos);
}

TEST(Diagnostics, NestingIsBounded) {
  std::string deep = "def f() {\n  x = " + std::string(10000, '(') + "1" + std::string(10000, ')') + "\n}\n";
  auto p = parse(deep);
  EXPECT_FALSE(p->module);
  EXPECT_NE(p->errors().find("brackets nested more than 200 deep"), std::string::npos);
  std::string chain = "def f(a: f32[N]) {\n  x = a";
  for (int i = 0; i < 100000; ++i) chain += " + a";
  chain += "\n}\n";
  auto q = parse(chain);
  EXPECT_FALSE(q->module);
  EXPECT_NE(q->errors().find("operator chain longer than 200"), std::string::npos) << q->errors().substr(0, 300);
  std::string unary = "def f(a: f32[N]) {\n  x = " + std::string(5000, '-') + "a\n}\n";
  EXPECT_NE(parse(unary)->errors().find("nested more than 200"), std::string::npos);
}

TEST(Diagnostics, LexicalErrorsDoNotHideSyntaxErrors) {
  auto p = parse("def f() {\n  s = \"open\n  y = g(\n}\n");
  std::string out = p->errors();
  EXPECT_NE(out.find("2:7: error: unterminated string"), std::string::npos) << out;
  EXPECT_NE(out.find("3:9: error: expected ')' to close the call of 'g'"), std::string::npos) << out;
  EXPECT_NE(parse("/* never closed\ndef f() {}\n")->errors().find("1:1: error: unterminated '/*' comment"),
            std::string::npos);
}
