// The one op enum of the IR and its table: name, family and arity of every
// op. The table is indexed by the enum and static_assert checks that it
// lists every op, in order (ggml style), so adding an op without its entry
// does not compile. Shape rules, gradient rules and reference kernels are in
// compiler/ir/ops/<Family>.cpp, found through the family.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace bdl::ir {

enum class OpKind : uint8_t {
  // Leaves.
  Input, Parameter, State, Constant,
  // Element-wise unary.
  Neg, Exp, Log, Sqrt, Rsqrt, Abs, Sign, Tanh, Sigmoid, Relu, LeakyRelu, Elu, Gelu,
  GeluDerivative, Softplus, Cast,
  // Element-wise binary and ternary (NumPy broadcasting).
  Add, Sub, Mul, Div, Pow, Maximum, Minimum,
  Less, LessEqual, Greater, GreaterEqual, Equal, NotEqual, Where,
  // Linear algebra.
  MatMul, Transpose,
  // Shape.
  Reshape, BroadcastTo, Concat, Slice, Pad, OneHot, NumElements,
  // Reductions and normalisations along axes.
  Sum, Mean, Max, Min, Softmax, LogSoftmax, ArgMax,
  // Neural-network ops and the internal ops of their gradients.
  Conv2d, Conv2dGradInput, Conv2dGradWeight, MaxPool2d, MaxPool2dGrad, AvgPool2d,
  AvgPool2dGrad, Dropout, Embedding, EmbeddingGrad,
  // Losses (scalar means) and metrics.
  CrossEntropy, Nll, Mse, BceWithLogits, Accuracy, TopK,
  // Graph effects.
  StateUpdate,
  Count
};

enum class OpFamily : uint8_t { Leaf, Elementwise, Linalg, Shape, Reduce, NN, Loss, Effect };

struct OpInfo {
  OpKind kind;
  std::string_view name; // as printed by the text printer
  OpFamily family;
  int8_t minArity;
  int8_t maxArity; // -1: variadic
  bool internal;   // created by autodiff/lowering, not written in BDL
  bool differentiable; // gradients flow through it to its operands
};

inline constexpr size_t kOpCount = static_cast<size_t>(OpKind::Count);

inline constexpr std::array<OpInfo, kOpCount> kOpTable = {{
    // kind, name, family, min arity, max arity, internal, differentiable
    {OpKind::Input, "input", OpFamily::Leaf, 0, 0, false, false},
    {OpKind::Parameter, "parameter", OpFamily::Leaf, 0, 0, false, false},
    {OpKind::State, "state", OpFamily::Leaf, 0, 0, false, false},
    {OpKind::Constant, "constant", OpFamily::Leaf, 0, 0, false, false},
    {OpKind::Neg, "neg", OpFamily::Elementwise, 1, 1, false, true},
    {OpKind::Exp, "exp", OpFamily::Elementwise, 1, 1, false, true},
    {OpKind::Log, "log", OpFamily::Elementwise, 1, 1, false, true},
    {OpKind::Sqrt, "sqrt", OpFamily::Elementwise, 1, 1, false, true},
    {OpKind::Rsqrt, "rsqrt", OpFamily::Elementwise, 1, 1, false, true},
    {OpKind::Abs, "abs", OpFamily::Elementwise, 1, 1, false, true},
    {OpKind::Sign, "sign", OpFamily::Elementwise, 1, 1, true, false},
    {OpKind::Tanh, "tanh", OpFamily::Elementwise, 1, 1, false, true},
    {OpKind::Sigmoid, "sigmoid", OpFamily::Elementwise, 1, 1, false, true},
    {OpKind::Relu, "relu", OpFamily::Elementwise, 1, 1, false, true},
    {OpKind::LeakyRelu, "leaky_relu", OpFamily::Elementwise, 1, 1, false, true},
    {OpKind::Elu, "elu", OpFamily::Elementwise, 1, 1, false, true},
    {OpKind::Gelu, "gelu", OpFamily::Elementwise, 1, 1, false, true},
    {OpKind::GeluDerivative, "gelu_derivative", OpFamily::Elementwise, 1, 1, true, false},
    {OpKind::Softplus, "softplus", OpFamily::Elementwise, 1, 1, false, true},
    {OpKind::Cast, "cast", OpFamily::Elementwise, 1, 1, false, true},
    {OpKind::Add, "add", OpFamily::Elementwise, 2, 2, false, true},
    {OpKind::Sub, "sub", OpFamily::Elementwise, 2, 2, false, true},
    {OpKind::Mul, "mul", OpFamily::Elementwise, 2, 2, false, true},
    {OpKind::Div, "div", OpFamily::Elementwise, 2, 2, false, true},
    {OpKind::Pow, "pow", OpFamily::Elementwise, 2, 2, false, true},
    {OpKind::Maximum, "maximum", OpFamily::Elementwise, 2, 2, false, true},
    {OpKind::Minimum, "minimum", OpFamily::Elementwise, 2, 2, false, true},
    {OpKind::Less, "less", OpFamily::Elementwise, 2, 2, false, false},
    {OpKind::LessEqual, "less_equal", OpFamily::Elementwise, 2, 2, false, false},
    {OpKind::Greater, "greater", OpFamily::Elementwise, 2, 2, false, false},
    {OpKind::GreaterEqual, "greater_equal", OpFamily::Elementwise, 2, 2, false, false},
    {OpKind::Equal, "equal", OpFamily::Elementwise, 2, 2, false, false},
    {OpKind::NotEqual, "not_equal", OpFamily::Elementwise, 2, 2, false, false},
    {OpKind::Where, "where", OpFamily::Elementwise, 3, 3, false, true},
    {OpKind::MatMul, "matmul", OpFamily::Linalg, 2, 2, false, true},
    {OpKind::Transpose, "transpose", OpFamily::Linalg, 1, 1, false, true},
    {OpKind::Reshape, "reshape", OpFamily::Shape, 1, 1, false, true},
    {OpKind::BroadcastTo, "broadcast_to", OpFamily::Shape, 1, 1, true, true},
    {OpKind::Concat, "concat", OpFamily::Shape, 1, -1, false, true},
    {OpKind::Slice, "slice", OpFamily::Shape, 1, 1, false, true},
    {OpKind::Pad, "pad", OpFamily::Shape, 1, 1, true, true},
    {OpKind::OneHot, "one_hot", OpFamily::Shape, 1, 1, false, false},
    {OpKind::NumElements, "num_elements", OpFamily::Shape, 1, 1, true, false},
    {OpKind::Sum, "sum", OpFamily::Reduce, 1, 1, false, true},
    {OpKind::Mean, "mean", OpFamily::Reduce, 1, 1, false, true},
    {OpKind::Max, "max", OpFamily::Reduce, 1, 1, false, true},
    {OpKind::Min, "min", OpFamily::Reduce, 1, 1, false, true},
    {OpKind::Softmax, "softmax", OpFamily::Reduce, 1, 1, false, true},
    {OpKind::LogSoftmax, "log_softmax", OpFamily::Reduce, 1, 1, false, true},
    {OpKind::ArgMax, "argmax", OpFamily::Reduce, 1, 1, false, false},
    {OpKind::Conv2d, "conv2d", OpFamily::NN, 2, 2, false, true},
    {OpKind::Conv2dGradInput, "conv2d_grad_input", OpFamily::NN, 2, 2, true, false},
    {OpKind::Conv2dGradWeight, "conv2d_grad_weight", OpFamily::NN, 2, 2, true, false},
    {OpKind::MaxPool2d, "max_pool2d", OpFamily::NN, 1, 1, false, true},
    {OpKind::MaxPool2dGrad, "max_pool2d_grad", OpFamily::NN, 2, 2, true, false},
    {OpKind::AvgPool2d, "avg_pool2d", OpFamily::NN, 1, 1, false, true},
    {OpKind::AvgPool2dGrad, "avg_pool2d_grad", OpFamily::NN, 1, 1, true, false},
    {OpKind::Dropout, "dropout", OpFamily::NN, 1, 2, false, true},
    {OpKind::Embedding, "embedding", OpFamily::NN, 2, 2, false, true},
    {OpKind::EmbeddingGrad, "embedding_grad", OpFamily::NN, 2, 2, true, false},
    {OpKind::CrossEntropy, "cross_entropy", OpFamily::Loss, 2, 2, false, true},
    {OpKind::Nll, "nll", OpFamily::Loss, 2, 2, false, true},
    {OpKind::Mse, "mse", OpFamily::Loss, 2, 2, false, true},
    {OpKind::BceWithLogits, "bce_with_logits", OpFamily::Loss, 2, 2, false, true},
    {OpKind::Accuracy, "accuracy", OpFamily::Loss, 2, 2, false, false},
    {OpKind::TopK, "top_k", OpFamily::Loss, 2, 2, false, false},
    {OpKind::StateUpdate, "state_update", OpFamily::Effect, 2, 2, false, false},
}};

static_assert(kOpTable.size() == kOpCount, "kOpTable must list every OpKind");

constexpr bool opTableInEnumOrder() {
  for (size_t i = 0; i < kOpTable.size(); ++i)
    if (static_cast<size_t>(kOpTable[i].kind) != i || kOpTable[i].name.empty()) return false;
  return true;
}
static_assert(opTableInEnumOrder(), "kOpTable rows must follow the OpKind order and be named");

constexpr const OpInfo& opInfo(OpKind k) { return kOpTable[static_cast<size_t>(k)]; }
constexpr std::string_view opName(OpKind k) { return opInfo(k).name; }
constexpr OpFamily opFamily(OpKind k) { return opInfo(k).family; }
constexpr bool isLeaf(OpKind k) { return opFamily(k) == OpFamily::Leaf; }
constexpr bool isDifferentiable(OpKind k) { return opInfo(k).differentiable; }

} // namespace bdl::ir
