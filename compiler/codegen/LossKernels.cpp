// Classification losses and metrics over [N, C] f32 logits and integer
// labels (cross_entropy, nll, accuracy), one_hot, and mse. A label outside
// [0, C) is a DataError, as in the reference.
#include "compiler/codegen/Kernels.h"

#include "compiler/ir/Error.h"

#include <cmath>
#include <cstring>
#include <string>

namespace bdl::codegen {

using namespace bdl::ir;

namespace {

int64_t labelOf(const void* p, DType t, int64_t i) {
  return t == DType::I64 ? static_cast<const int64_t*>(p)[i] : static_cast<const int32_t*>(p)[i];
}

int64_t checkedLabel(const void* p, DType t, int64_t row, int64_t classes, OpKind op) {
  int64_t c = labelOf(p, t, row);
  if (c < 0 || c >= classes)
    throw DataError(std::string(opName(op)) + ": label " + std::to_string(c) + " of row " + std::to_string(row) +
                    " is outside [0, " + std::to_string(classes) + ")");
  return c;
}

} // namespace

std::optional<StepFn> lossKernel(const Graph& g, ValueId out) {
  const Node& n = g.node(out);
  switch (n.op) {
  case OpKind::CrossEntropy:
  case OpKind::Nll:
  case OpKind::Accuracy: {
    ValueId x = n.operands[0], l = n.operands[1];
    if (g.type(x).dtype != DType::F32) return std::nullopt;
    Shape s = *g.type(x).shape();
    int64_t rows = s[0], classes = s[1];
    DType lt = g.type(l).dtype;
    OpKind op = n.op;
    return [=](RunContext& ctx) {
      const float* xp = ctx.at<float>(x);
      const void* lp = ctx.ptr[l];
      double total = 0;
      for (int64_t r = 0; r < rows; ++r) {
        const float* row = xp + r * classes;
        int64_t label = checkedLabel(lp, lt, r, classes, op);
        if (op == OpKind::Nll) {
          total -= row[label];
          continue;
        }
        float best = row[0];
        int64_t bestK = 0;
        for (int64_t k = 1; k < classes; ++k)
          if (row[k] > best) { best = row[k]; bestK = k; }
        if (op == OpKind::Accuracy) {
          total += bestK == label;
          continue;
        }
        double sum = 0;
        for (int64_t k = 0; k < classes; ++k) sum += std::exp(static_cast<double>(row[k] - best));
        total += best + std::log(sum) - row[label];
      }
      ctx.at<float>(out)[0] = rows > 0 ? static_cast<float>(total / static_cast<double>(rows)) : 0.0f;
    };
  }
  case OpKind::OneHot: {
    ValueId l = n.operands[0];
    if (n.type.dtype != DType::F32) return std::nullopt;
    DType lt = g.type(l).dtype;
    int64_t count = g.type(l).shape() ? numElements(*g.type(l).shape()) : 0, classes = n.attrs.count;
    return [=](RunContext& ctx) {
      float* y = ctx.at<float>(out);
      std::memset(y, 0, sizeof(float) * static_cast<size_t>(count * classes));
      for (int64_t i = 0; i < count; ++i) {
        int64_t c = labelOf(ctx.ptr[l], lt, i);
        if (c >= 0 && c < classes) y[i * classes + c] = 1.0f; // out of range: all zeros
      }
    };
  }
  case OpKind::Mse: {
    ValueId a = n.operands[0], b = n.operands[1];
    if (n.type.dtype != DType::F32) return std::nullopt;
    int64_t count = numElements(*g.type(a).shape());
    return [=](RunContext& ctx) {
      const float *pa = ctx.at<float>(a), *pb = ctx.at<float>(b);
      double total = 0;
      for (int64_t i = 0; i < count; ++i) {
        double d = static_cast<double>(pa[i]) - pb[i];
        total += d * d;
      }
      ctx.at<float>(out)[0] = count > 0 ? static_cast<float>(total / static_cast<double>(count)) : 0.0f;
    };
  }
  default: return std::nullopt;
  }
}

} // namespace bdl::codegen
