// GraphBuilder: the only way nodes are created. Every add-op function runs
// the op's shape/type rule (NumPy broadcasting for element-wise ops) and
// returns the new value or a structured Error naming both shapes and the
// operand/dimension that failed; nothing here throws for user mistakes.
//
//   GraphBuilder b;
//   b.setLocation({file, line, col});                  // stamped on new nodes
//   ValueId x = *b.input("x", {DType::F32, {Dim::sym("N"), Dim::of(784)}});
//   ValueId W = *b.parameter("h1.W", {DType::F32, dimsOf({784, 256})},
//                            Initializer::glorotUniform());
//   Expected<ValueId> h = b.matmul(x, W);                // or h.error().message
//   b.output("logits", *h);
//   Graph g = b.finish();
#pragma once

#include "compiler/ir/Error.h"
#include "compiler/ir/Graph.h"

#include <span>
#include <string>
#include <vector>

namespace bdl::ir {

struct Conv2dOptions {
  std::array<int64_t, 2> stride{1, 1}, padding{0, 0}, dilation{1, 1};
  int64_t groups = 1;
};

struct Pool2dOptions {
  std::array<int64_t, 2> size{2, 2};
  std::array<int64_t, 2> stride{0, 0}; // 0: equal to size (PyTorch's default)
  std::array<int64_t, 2> padding{0, 0};
};

class GraphBuilder {
public:
  GraphBuilder() = default;
  // Continues building on an existing graph (autodiff, passes).
  explicit GraphBuilder(Graph graph) : g_(std::move(graph)) {}

  // The location stamped on every node created from now on.
  void setLocation(Location loc) { loc_ = loc; }
  Location location() const { return loc_; }

  // Registers a source file name for Location::fileId (idempotent).
  uint32_t addFile(const std::string& name);

  const Graph& graph() const { return g_; }
  Graph& mutableGraph() { return g_; }
  Graph finish() { return std::move(g_); }
  const TensorType& type(ValueId v) const { return g_.nodes.at(v).type; }

  // --- Leaves and effects -------------------------------------------------
  Expected<ValueId> input(const std::string& name, TensorType type);
  Expected<ValueId> parameter(const std::string& fullName, TensorType type, Initializer init);
  Expected<ValueId> state(const std::string& fullName, TensorType type, Initializer init);
  ValueId constant(Tensor value);                     // a literal tensor
  ValueId scalar(double value, DType dtype);          // a rank-0 constant
  // `state <- value` (runs in training only). Types must be equal.
  Expected<ValueId> stateUpdate(ValueId state, ValueId value);
  // Names a result of the graph (unique names).
  Expected<ValueId> output(const std::string& name, ValueId value);

  // Generic entry: checks arity and the op's shape rule, then adds the node.
  Expected<ValueId> addOp(OpKind op, std::vector<ValueId> operands, Attrs attrs = {});

  // --- Element-wise (compiler/ir/ops/Elementwise.cpp) -----------------------
  // Operands of binary ops must have the same dtype (no implicit promotion;
  // cast) and broadcast as in NumPy. Integer division truncates toward zero.
  // Comparisons give bool; bool takes only ==, != and where's condition.
  Expected<ValueId> neg(ValueId x) { return addOp(OpKind::Neg, {x}); }
  Expected<ValueId> exp(ValueId x) { return addOp(OpKind::Exp, {x}); }
  Expected<ValueId> log(ValueId x) { return addOp(OpKind::Log, {x}); }
  Expected<ValueId> sqrt(ValueId x) { return addOp(OpKind::Sqrt, {x}); }
  Expected<ValueId> rsqrt(ValueId x) { return addOp(OpKind::Rsqrt, {x}); }
  Expected<ValueId> abs(ValueId x) { return addOp(OpKind::Abs, {x}); }
  Expected<ValueId> sign(ValueId x) { return addOp(OpKind::Sign, {x}); }
  Expected<ValueId> tanh(ValueId x) { return addOp(OpKind::Tanh, {x}); }
  Expected<ValueId> sigmoid(ValueId x) { return addOp(OpKind::Sigmoid, {x}); }
  Expected<ValueId> relu(ValueId x) { return addOp(OpKind::Relu, {x}); }
  Expected<ValueId> leakyRelu(ValueId x, double alpha = 0.01);
  Expected<ValueId> elu(ValueId x, double alpha = 1.0);
  Expected<ValueId> gelu(ValueId x) { return addOp(OpKind::Gelu, {x}); }
  Expected<ValueId> softplus(ValueId x) { return addOp(OpKind::Softplus, {x}); }
  Expected<ValueId> identity(ValueId x) { return x; }
  Expected<ValueId> cast(ValueId x, DType to);
  Expected<ValueId> add(ValueId a, ValueId b) { return addOp(OpKind::Add, {a, b}); }
  Expected<ValueId> sub(ValueId a, ValueId b) { return addOp(OpKind::Sub, {a, b}); }
  Expected<ValueId> mul(ValueId a, ValueId b) { return addOp(OpKind::Mul, {a, b}); }
  Expected<ValueId> div(ValueId a, ValueId b) { return addOp(OpKind::Div, {a, b}); }
  Expected<ValueId> pow(ValueId a, ValueId b) { return addOp(OpKind::Pow, {a, b}); }
  Expected<ValueId> maximum(ValueId a, ValueId b) { return addOp(OpKind::Maximum, {a, b}); }
  Expected<ValueId> minimum(ValueId a, ValueId b) { return addOp(OpKind::Minimum, {a, b}); }
  Expected<ValueId> less(ValueId a, ValueId b) { return addOp(OpKind::Less, {a, b}); }
  Expected<ValueId> lessEqual(ValueId a, ValueId b) { return addOp(OpKind::LessEqual, {a, b}); }
  Expected<ValueId> greater(ValueId a, ValueId b) { return addOp(OpKind::Greater, {a, b}); }
  Expected<ValueId> greaterEqual(ValueId a, ValueId b) {
    return addOp(OpKind::GreaterEqual, {a, b});
  }
  Expected<ValueId> equal(ValueId a, ValueId b) { return addOp(OpKind::Equal, {a, b}); }
  Expected<ValueId> notEqual(ValueId a, ValueId b) { return addOp(OpKind::NotEqual, {a, b}); }
  Expected<ValueId> where(ValueId cond, ValueId a, ValueId b) {
    return addOp(OpKind::Where, {cond, a, b});
  }

  // --- Linear algebra (ops/Linalg.cpp) --------------------------------------
  // [.., m, k] @ [.., k, n]; batch dimensions broadcast. Both ranks >= 2.
  Expected<ValueId> matmul(ValueId a, ValueId b) { return addOp(OpKind::MatMul, {a, b}); }
  // perm empty: reverse the dimensions.
  Expected<ValueId> transpose(ValueId x, std::vector<int64_t> perm = {});

  // --- Shape (ops/Shape.cpp) --------------------------------------------------
  // One target dimension may be Dim::of(-1) (inferred).
  Expected<ValueId> reshape(ValueId x, Dims target);
  // Merges dimensions start..end (inclusive; negative counts from the end).
  Expected<ValueId> flatten(ValueId x, int64_t start = 1, int64_t end = -1);
  Expected<ValueId> concat(std::vector<ValueId> xs, int64_t axis);
  Expected<ValueId> slice(ValueId x, int64_t axis, int64_t start, int64_t end);
  Expected<ValueId> oneHot(ValueId labels, int64_t classes, DType dtype = DType::F32);
  Expected<ValueId> broadcastTo(ValueId x, Dims target);
  Expected<ValueId> pad(ValueId x, int64_t axis, int64_t before, int64_t after);
  // The number of elements of x over `axes` (all if empty), as a scalar.
  Expected<ValueId> numElements(ValueId x, std::vector<int64_t> axes, DType dtype);

  // --- Reductions (ops/Reduce.cpp); axes empty = all ----------------------------
  Expected<ValueId> sum(ValueId x, std::vector<int64_t> axes = {}, bool keepdims = false);
  Expected<ValueId> mean(ValueId x, std::vector<int64_t> axes = {}, bool keepdims = false);
  Expected<ValueId> max(ValueId x, std::vector<int64_t> axes = {}, bool keepdims = false);
  Expected<ValueId> min(ValueId x, std::vector<int64_t> axes = {}, bool keepdims = false);
  Expected<ValueId> softmax(ValueId x, int64_t axis = -1);
  Expected<ValueId> logSoftmax(ValueId x, int64_t axis = -1);
  Expected<ValueId> argmax(ValueId x, int64_t axis, bool keepdims = false); // i64

  // --- Neural network (ops/NN.cpp) -------------------------------------------
  // x: [N, C, H, W], w: [O, C/groups, kh, kw] -> [N, O, H', W'].
  Expected<ValueId> conv2d(ValueId x, ValueId w, Conv2dOptions opts = {});
  Expected<ValueId> maxPool2d(ValueId x, Pool2dOptions opts);
  Expected<ValueId> avgPool2d(ValueId x, Pool2dOptions opts); // counts padding (PyTorch default)
  // [N, C, H, W] -> [N, C] (mean over H and W).
  Expected<ValueId> globalAvgPool(ValueId x);
  // Zeroes each element with probability p and scales the rest by 1/(1-p).
  // The mask depends on (seed, the value of the integer scalar `key`, element
  // index). Without a key, the graph's step counter (stepCounter()) is the
  // key, so each training step draws a new mask. Evaluation graphs replace
  // dropout by the identity (see passes/Autodiff.h).
  Expected<ValueId> dropout(ValueId x, double p, uint64_t seed,
                            std::optional<ValueId> key = std::nullopt);
  // The graph's step counter: the i64 scalar State "rng:step" (initially 0)
  // with a state update to step + 1, created on first use. The trainer
  // carries it from step to step like any state.
  ValueId stepCounter();
  static constexpr const char* kStepCounterName = "rng:step";
  // ids: integer [...], table: [rows, D] -> [..., D].
  Expected<ValueId> embedding(ValueId ids, ValueId table);

  // --- Losses and metrics (ops/Loss.cpp); all scalar means over the batch ------
  Expected<ValueId> crossEntropy(ValueId logits, ValueId labels); // [N, C], int [N]
  Expected<ValueId> nll(ValueId logProbs, ValueId labels);        // [N, C], int [N]
  Expected<ValueId> mse(ValueId pred, ValueId target);            // equal shapes
  Expected<ValueId> bceWithLogits(ValueId logits, ValueId target); // equal shapes
  Expected<ValueId> accuracy(ValueId logits, ValueId labels);     // fraction, logits dtype
  Expected<ValueId> topK(ValueId logits, ValueId labels, int64_t k);

private:
  Expected<ValueId> addLeaf(OpKind op, const std::string& name, TensorType type,
                            Initializer init);
  ValueId append(Node node);

  Graph g_;
  Location loc_;
};

// Type inference of one op from its operand types and attributes: the shape
// rule GraphBuilder runs, and Verifier/specialize re-run.
Expected<TensorType> inferType(OpKind op, std::span<const TensorType> operands,
                               const Attrs& attrs);

} // namespace bdl::ir
