// Losses (cross_entropy, nll, mse, bce_with_logits: scalar means) and
// metrics (accuracy, top_k: fractions, no gradient). Shape rule, kernel and
// gradient of each op.
#include "compiler/ir/ops/Common.h"
#include "compiler/ir/ops/Families.h"

#include <cmath>

namespace bdl::ir {

Expected<ValueId> GraphBuilder::crossEntropy(ValueId logits, ValueId labels) {
  return addOp(OpKind::CrossEntropy, {logits, labels});
}
Expected<ValueId> GraphBuilder::nll(ValueId logProbs, ValueId labels) {
  return addOp(OpKind::Nll, {logProbs, labels});
}
Expected<ValueId> GraphBuilder::mse(ValueId pred, ValueId target) {
  return addOp(OpKind::Mse, {pred, target});
}
Expected<ValueId> GraphBuilder::bceWithLogits(ValueId logits, ValueId target) {
  return addOp(OpKind::BceWithLogits, {logits, target});
}
Expected<ValueId> GraphBuilder::accuracy(ValueId logits, ValueId labels) {
  return addOp(OpKind::Accuracy, {logits, labels});
}
Expected<ValueId> GraphBuilder::topK(ValueId logits, ValueId labels, int64_t k) {
  Attrs a;
  a.count = k;
  return addOp(OpKind::TopK, {logits, labels}, a);
}

namespace ops {

Expected<TensorType> inferLoss(OpKind op, std::span<const TensorType> in, const Attrs& attrs) {
  std::string_view name = opName(op);
  const TensorType &a = in[0], &b = in[1];
  if (auto f = requireFloat(a, 0, name); !f) return f.error();
  if (op == OpKind::Mse || op == OpKind::BceWithLogits) {
    if (a.dtype != b.dtype) return dtypeMismatch(a, 0, b, 1);
    if (a.dims != b.dims)
      return makeError(std::string(name) + ": prediction and target shapes differ: " +
                           describe(a, 0) + " vs " + describe(b, 1),
                       1);
    return scalarType(a.dtype);
  }
  // Classification: logits [N, C], integer labels [N].
  if (auto r = requireRank(a, 0, 2, name); !r)
    return makeError(r.error().message + " ([batch, classes])", 0);
  if (auto i = requireInteger(b, 1, name); !i) return i.error();
  if (auto r = requireRank(b, 1, 1, name); !r)
    return makeError(r.error().message + " ([batch] class indices)", 1);
  if (a.dims[1].isSymbolic())
    return makeError(std::string(name) + ": the number of classes " + a.dims[1].toString() +
                         " must be concrete",
                     0, 1);
  if (a.dims[0] != b.dims[0])
    return makeError(std::string(name) + ": batch sizes differ: " + describe(a, 0) + " vs " +
                         describe(b, 1),
                     1, 0);
  if (op == OpKind::TopK &&
      (attrs.count < 1 || (a.dims[1].isConcrete() && attrs.count > a.dims[1].value)))
    return makeError("top_k: k = " + std::to_string(attrs.count) + " must be in 1.." +
                         a.dims[1].toString(),
                     0, 1);
  return scalarType(a.dtype);
}

static int64_t labelAt(const std::vector<double>& labels, int64_t row, int64_t classes,
                       std::string_view op) {
  int64_t c = static_cast<int64_t>(labels[row]);
  if (c < 0 || c >= classes)
    throw DataError(std::string(op) + ": label " + std::to_string(c) + " of row " +
                    std::to_string(row) + " is outside [0, " + std::to_string(classes) + ")");
  return c;
}

Tensor runLoss(const Node& n, std::span<const Tensor> in) {
  std::vector<double> a = toDoubles(in[0]), b = toDoubles(in[1]);
  double total = 0;
  double count = static_cast<double>(a.size());
  if (n.op == OpKind::Mse) {
    for (size_t i = 0; i < a.size(); ++i) total += (a[i] - b[i]) * (a[i] - b[i]);
  } else if (n.op == OpKind::BceWithLogits) {
    for (size_t i = 0; i < a.size(); ++i)
      total += std::max(a[i], 0.0) - a[i] * b[i] + std::log1p(std::exp(-std::fabs(a[i])));
  } else {
    int64_t rows = in[0].shape()[0], classes = in[0].shape()[1];
    count = static_cast<double>(rows);
    for (int64_t r = 0; r < rows; ++r) {
      const double* x = a.data() + r * classes;
      int64_t label = labelAt(b, r, classes, opName(n.op));
      double best = x[0];
      int64_t bestK = 0, above = 0;
      for (int64_t k = 0; k < classes; ++k) {
        if (x[k] > best) { best = x[k]; bestK = k; }
        if (x[k] > x[label]) ++above;
      }
      switch (n.op) {
      case OpKind::CrossEntropy: {
        double s = 0;
        for (int64_t k = 0; k < classes; ++k) s += std::exp(x[k] - best);
        total += best + std::log(s) - x[label];
        break;
      }
      case OpKind::Nll: total -= x[label]; break;
      case OpKind::Accuracy: total += bestK == label; break;
      case OpKind::TopK: total += above < n.attrs.count; break;
      default: BDL_IR_CHECK(false, "not a loss op");
      }
    }
  }
  return fromDoubles(n.type.dtype, {}, {count > 0 ? total / count : 0.0});
}

OperandGrads gradLoss(GraphBuilder& b, const Node& n, ValueId, ValueId g) {
  const ValueId x = n.operands[0], t = n.operands[1];
  const DType dt = n.type.dtype;
  // g / (number of averaged terms): rows for classification, elements otherwise.
  auto perTerm = [&](ValueId countOf) {
    return must(b.div(g, must(b.numElements(countOf, {}, dt))));
  };
  switch (n.op) {
  case OpKind::CrossEntropy: {
    int64_t classes = b.type(x).dims[1].value;
    ValueId p = must(b.softmax(x, 1));
    ValueId d = must(b.sub(p, must(b.oneHot(t, classes, dt))));
    return {must(b.mul(d, perTerm(t))), std::nullopt};
  }
  case OpKind::Nll: {
    int64_t classes = b.type(x).dims[1].value;
    ValueId d = must(b.neg(must(b.oneHot(t, classes, dt))));
    return {must(b.mul(d, perTerm(t))), std::nullopt};
  }
  case OpKind::Mse: {
    ValueId diff = must(b.sub(x, t));
    ValueId two = b.scalar(2.0, dt);
    ValueId d = must(b.mul(diff, must(b.mul(two, perTerm(x)))));
    return {d, must(b.neg(d))};
  }
  case OpKind::BceWithLogits: {
    ValueId s = perTerm(x);
    ValueId gx = must(b.mul(must(b.sub(must(b.sigmoid(x)), t)), s));
    return {gx, must(b.mul(must(b.neg(x)), s))};
  }
  default: return {std::nullopt, std::nullopt}; // metrics
  }
}

} // namespace ops
} // namespace bdl::ir
