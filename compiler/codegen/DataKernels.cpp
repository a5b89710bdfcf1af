// Ops that move data rather than compute on it, for every dtype: transpose,
// concat, slice, pad, and the f32 gather/scatter ops of the NN family:
// dropout (the reference's counter-based mask, bit for bit), embedding and
// its gradient.
#include "compiler/codegen/Kernels.h"

#include "compiler/ir/Error.h"
#include "compiler/ir/Random.h"
#include "compiler/ir/ops/Common.h"

#include <cstring>
#include <string>

namespace bdl::codegen {

using namespace bdl::ir;

namespace {

// Copies `rows` blocks of `len` bytes with the given strides (bytes).
void copyBlocks(const char* src, int64_t srcStride, char* dst, int64_t dstStride, int64_t rows, int64_t len) {
  for (int64_t r = 0; r < rows; ++r) std::memcpy(dst + r * dstStride, src + r * srcStride, static_cast<size_t>(len));
}

StepFn transposeStep(const Graph& g, ValueId out) {
  const Node& n = g.node(out);
  ValueId x = n.operands[0];
  Shape in = *g.type(x).shape(), os = *n.type.shape();
  size_t esz = dtypeSize(n.type.dtype);
  std::vector<int64_t> inStrides = ops::stridesOf(in), st(os.size());
  for (size_t i = 0; i < os.size(); ++i) st[i] = inStrides[*ops::normalizeAxis(n.attrs.axes[i], n.type.rank())];
  int64_t total = numElements(os);
  return [=](RunContext& ctx) {
    const char* src = static_cast<const char*>(ctx.ptr[x]);
    char* dst = static_cast<char*>(ctx.ptr[out]);
    std::vector<int64_t> idx(os.size(), 0);
    int64_t off = 0;
    for (int64_t lin = 0; lin < total; ++lin) {
      std::memcpy(dst + lin * esz, src + off * esz, esz);
      for (int64_t d = static_cast<int64_t>(os.size()) - 1; d >= 0; --d) {
        if (++idx[d] < os[d]) { off += st[d]; break; }
        off -= st[d] * (os[d] - 1);
        idx[d] = 0;
      }
    }
  };
}

} // namespace

std::optional<StepFn> dataKernel(const Graph& g, ValueId out) {
  const Node& n = g.node(out);
  size_t esz = dtypeSize(n.type.dtype);
  Shape os = *n.type.shape();
  switch (n.op) {
  case OpKind::Transpose: return transposeStep(g, out);
  case OpKind::Concat: {
    int64_t axis = *ops::normalizeAxis(n.attrs.axes[0], n.type.rank());
    ops::AxisSplit o = ops::splitAt(os, axis);
    std::vector<ValueId> ins = n.operands;
    std::vector<ops::AxisSplit> splits;
    for (ValueId v : ins) splits.push_back(ops::splitAt(*g.type(v).shape(), axis));
    return [=](RunContext& ctx) {
      char* dst = static_cast<char*>(ctx.ptr[out]);
      int64_t offset = 0;
      for (size_t i = 0; i < ins.size(); ++i) {
        const ops::AxisSplit& s = splits[i];
        int64_t row = s.len * s.inner * static_cast<int64_t>(esz);
        copyBlocks(static_cast<const char*>(ctx.ptr[ins[i]]), row, dst + offset * o.inner * static_cast<int64_t>(esz),
                   o.len * o.inner * static_cast<int64_t>(esz), s.outer, row);
        offset += s.len;
      }
    };
  }
  case OpKind::Slice:
  case OpKind::Pad: {
    int64_t axis = *ops::normalizeAxis(n.attrs.axes[0], n.type.rank());
    ValueId x = n.operands[0];
    ops::AxisSplit s = ops::splitAt(*g.type(x).shape(), axis), o = ops::splitAt(os, axis);
    int64_t e = static_cast<int64_t>(esz), start = n.attrs.start;
    bool slice = n.op == OpKind::Slice;
    int64_t bytes = numElements(os) * e;
    return [=](RunContext& ctx) {
      const char* src = static_cast<const char*>(ctx.ptr[x]);
      char* dst = static_cast<char*>(ctx.ptr[out]);
      if (slice) {
        copyBlocks(src + start * s.inner * e, s.len * s.inner * e, dst, o.len * o.inner * e, s.outer,
                   o.len * o.inner * e);
      } else {
        std::memset(dst, 0, static_cast<size_t>(bytes));
        copyBlocks(src, s.len * s.inner * e, dst + start * o.inner * e, o.len * o.inner * e, s.outer,
                   s.len * s.inner * e);
      }
    };
  }
  case OpKind::Dropout: {
    if (n.type.dtype != DType::F32) return std::nullopt;
    ValueId x = n.operands[0];
    std::optional<ValueId> keyValue;
    DType keyType = DType::I64;
    if (n.operands.size() == 2) {
      keyValue = n.operands[1];
      keyType = g.type(n.operands[1]).dtype;
    }
    uint64_t seed = n.attrs.seed;
    double p = n.attrs.alpha, keepScale = 1.0 / (1.0 - n.attrs.alpha);
    int64_t total = numElements(os);
    return [=](RunContext& ctx) {
      uint64_t key = mix64(seed);
      if (keyValue) {
        // As the reference: the key's value through double, then to u64.
        double k = keyType == DType::I64 ? static_cast<double>(*ctx.at<int64_t>(*keyValue))
                                         : static_cast<double>(*ctx.at<int32_t>(*keyValue));
        key = mix64(key ^ static_cast<uint64_t>(k));
      }
      const float* xp = ctx.at<float>(x);
      float* yp = ctx.at<float>(out);
      parallelFor(ctx.threads, total, 1 << 14, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i)
          yp[i] = randomUniform(key, static_cast<uint64_t>(i)) >= p
                      ? static_cast<float>(static_cast<double>(xp[i]) * keepScale)
                      : 0.0f;
      });
    };
  }
  case OpKind::Embedding:
  case OpKind::EmbeddingGrad: {
    if (n.type.dtype != DType::F32) return std::nullopt;
    bool fwd = n.op == OpKind::Embedding;
    ValueId ids = n.operands[0], v = n.operands[1];
    DType idType = g.type(ids).dtype;
    int64_t count = numElements(*g.type(ids).shape());
    int64_t rows = fwd ? (*g.type(v).shape())[0] : os[0];
    int64_t width = fwd ? (*g.type(v).shape())[1] : os[1];
    return [=](RunContext& ctx) {
      const float* vp = ctx.at<float>(v);
      float* yp = ctx.at<float>(out);
      if (!fwd) std::memset(yp, 0, sizeof(float) * static_cast<size_t>(rows * width));
      for (int64_t i = 0; i < count; ++i) {
        int64_t id = idType == DType::I64 ? ctx.at<int64_t>(ids)[i] : ctx.at<int32_t>(ids)[i];
        if (id < 0 || id >= rows)
          throw DataError("embedding: id " + std::to_string(id) + " is outside [0, " + std::to_string(rows) + ")");
        if (fwd) std::memcpy(yp + i * width, vp + id * width, sizeof(float) * static_cast<size_t>(width));
        else
          for (int64_t k = 0; k < width; ++k) yp[id * width + k] += vp[i * width + k];
      }
    };
  }
  default: return std::nullopt;
  }
}

} // namespace bdl::codegen
