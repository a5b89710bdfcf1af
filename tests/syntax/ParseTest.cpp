#include "tests/syntax/TestSupport.h"

#include <gtest/gtest.h>

using namespace bdl;
using namespace bdl::ast;
using bdl::test::parse;

TEST(Parse, EveryShippedFileParses) {
  auto files = test::shippedBdlFiles();
  ASSERT_GE(files.size(), 6u);
  for (const auto& path : files) {
    auto p = parse(test::readText(path), path.string());
    EXPECT_TRUE(p->module) << path << "\n" << p->errors();
  }
}

TEST(Parse, DefinitionsKeepTheirParts) {
  auto p = parse(R"(
def Dense(x: f32[N, I], units: int, act: fn = relu) -> f32[N, units] {
  param W: f32[I, units] = glorot_uniform()
  return act(x @ W)
}
def Two(x: f32[N]) -> (f32[N], f32[N]) {
  return x, -x
}
)");
  ASSERT_TRUE(p->module) << p->errors();
  ASSERT_EQ(p->module->decls.size(), 2u);
  auto* dense = p->module->decls[0]->as<DefDecl>();
  ASSERT_TRUE(dense);
  EXPECT_FALSE(dense->isModel);
  ASSERT_EQ(dense->params.size(), 3u);
  EXPECT_EQ(dense->params[2].name.name, "act");
  ASSERT_TRUE(dense->params[2].defaultValue);
  EXPECT_EQ(dense->params[0].type.dims.size(), 2u);
  ASSERT_EQ(dense->body.size(), 2u);
  auto* param = dense->body[0]->as<ParamStmt>();
  ASSERT_TRUE(param);
  EXPECT_EQ(param->name.name, "W");
  EXPECT_EQ(param->range.begin, (SourceLoc{3, 3}));
  auto* two = p->module->decls[1]->as<DefDecl>();
  ASSERT_TRUE(two);
  EXPECT_TRUE(two->resultsParenthesized);
  EXPECT_EQ(two->results.size(), 2u);
  auto* ret = two->body[0]->as<ReturnStmt>();
  ASSERT_TRUE(ret);
  EXPECT_EQ(ret->values.size(), 2u);
}

TEST(Parse, PrecedenceIsTheUsualOne) {
  auto p = parse("def f(a: f32[N], b: f32[N]) {\n  y = a + b * a @ b - -a\n  z = a < b + 1\n}\n");
  ASSERT_TRUE(p->module) << p->errors();
  auto* f = p->module->decls[0]->as<DefDecl>();
  auto* y = f->body[0]->as<AssignStmt>();
  // ((a + ((b * a) @ b)) - (-a))
  auto* top = y->value->as<Binary>();
  ASSERT_TRUE(top);
  EXPECT_EQ(top->op, BinaryOp::Sub);
  EXPECT_TRUE(top->rhs->as<Unary>());
  auto* add = top->lhs->as<Binary>();
  ASSERT_TRUE(add);
  EXPECT_EQ(add->op, BinaryOp::Add);
  auto* matmul = add->rhs->as<Binary>();
  ASSERT_TRUE(matmul);
  EXPECT_EQ(matmul->op, BinaryOp::MatMul);
  EXPECT_EQ(matmul->lhs->as<Binary>()->op, BinaryOp::Mul);
  auto* z = f->body[1]->as<AssignStmt>()->value->as<Binary>();
  EXPECT_EQ(z->op, BinaryOp::Lt);
  EXPECT_EQ(z->rhs->as<Binary>()->op, BinaryOp::Add);
}

TEST(Parse, PipelinesTrainBlocksAndDurations) {
  auto p = parse(R"(
pipeline P = synthetic(shape = [4], classes = 2, count = 10, seed = 1) |> batch(2) |> take(3)
train T {
  data = P()
  stop = 5 epochs
  validate = P() every 1 epoch with [accuracy(logits, label)]
  checkpoint = "ckpt" every 200 iterations keep 3
}
)");
  ASSERT_TRUE(p->module) << p->errors();
  auto* pipeline = p->module->decls[0]->as<PipelineDecl>();
  ASSERT_TRUE(pipeline);
  EXPECT_FALSE(pipeline->hasParamList);
  auto* outer = pipeline->body->as<Binary>();
  ASSERT_TRUE(outer);
  EXPECT_EQ(outer->op, BinaryOp::Pipe);
  auto* train = p->module->decls[1]->as<TrainDecl>();
  ASSERT_TRUE(train);
  ASSERT_EQ(train->items.size(), 4u);
  auto* stop = train->items[1].value->as<DurationLit>();
  ASSERT_TRUE(stop);
  EXPECT_EQ(stop->count, 5);
  EXPECT_EQ(stop->unit, DurationUnit::Epochs);
  EXPECT_TRUE(train->items[2].every && train->items[2].with && !train->items[2].keep);
  auto* every = train->items[3].every->as<DurationLit>();
  ASSERT_TRUE(every);
  EXPECT_EQ(every->unit, DurationUnit::Iterations);
  EXPECT_TRUE(train->items[3].keep);
}

TEST(Parse, DurationUnitsStayUsableAsNamesButClauseWordsAreReserved) {
  auto p = parse("def f(epochs: int, iteration: int) {\n  epoch = epochs + iteration\n  return epoch\n}\n");
  EXPECT_TRUE(p->module) << p->errors();
  auto q = parse("def f(every: int) {\n  return every\n}\n");
  EXPECT_FALSE(q->module);
}

TEST(Parse, ControlFlowLambdasAndIndexing) {
  auto p = parse(R"(
def Stack(x: f32[N, D], n: int) -> f32[N, D] {
  h = x
  for i in 0..n {
    h = Dense(h, D)
  }
  if n > 2 {
    h = h * 2.0
  } else if n == 1 {
    h = h[:, 0:D]
  } else {
    h = h
  }
  f = (a, b) => a + b
  return f(h, h)
}
)");
  ASSERT_TRUE(p->module) << p->errors();
  auto* def = p->module->decls[0]->as<DefDecl>();
  auto* loop = def->body[1]->as<ForStmt>();
  ASSERT_TRUE(loop);
  EXPECT_EQ(loop->var.name, "i");
  EXPECT_EQ(loop->body.size(), 1u);
  auto* cond = def->body[2]->as<IfStmt>();
  ASSERT_TRUE(cond);
  EXPECT_TRUE(cond->elseIsIf);
  auto* inner = cond->elseBody[0]->as<IfStmt>();
  ASSERT_TRUE(inner);
  auto* index = inner->thenBody[0]->as<AssignStmt>()->value->as<Index>();
  ASSERT_TRUE(index);
  ASSERT_EQ(index->items.size(), 2u);
  EXPECT_TRUE(index->items[0].isSlice && !index->items[0].lo && !index->items[0].hi);
  EXPECT_TRUE(index->items[1].isSlice && index->items[1].lo && index->items[1].hi);
  auto* lambda = def->body[3]->as<AssignStmt>()->value->as<Lambda>();
  ASSERT_TRUE(lambda);
  EXPECT_EQ(lambda->params.size(), 2u);
}

TEST(Parse, StringEscapesAndLiterals) {
  auto p = parse("pipeline P = npy(\"a\\\"b\\n\") |> take(1e-4) |> skip(0.5)\n");
  ASSERT_TRUE(p->module) << p->errors();
  auto* chain = p->module->decls[0]->as<PipelineDecl>()->body->as<Binary>();
  auto* first = chain->lhs->as<Binary>()->lhs->as<Call>();
  ASSERT_TRUE(first);
  auto* s = first->args[0].value->as<StringLit>();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->value, "a\"b\n");
  EXPECT_EQ(s->spelling, "\"a\\\"b\\n\"");
}
