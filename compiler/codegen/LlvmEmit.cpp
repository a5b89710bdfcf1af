#include "compiler/codegen/LlvmEmit.h"

#include "compiler/codegen/LlvmEmitCommon.h"
#include "compiler/codegen/ReduceEmit.h"
#include "compiler/ir/Error.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <sstream>

namespace bdl::codegen {

using namespace bdl::ir;
using namespace bdl::codegen::emit;

namespace emit {

bool inlinedConstant(const Graph& g, ValueId v) {
  const Node& n = g.node(v);
  return n.op == OpKind::Constant && n.type.rank() == 0 && n.type.dtype == DType::F32;
}

std::string floatLit(double v) {
  double d = static_cast<double>(static_cast<float>(v));
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%016llX", static_cast<unsigned long long>(bits));
  return buf;
}

std::vector<int64_t> broadcastStrides(const Graph& g, ValueId v, const Shape& s) {
  Shape in = *g.type(v).shape();
  size_t r = s.size();
  std::vector<int64_t> out(r, 0);
  int64_t acc = 1;
  for (size_t k = 0; k < in.size(); ++k) {
    size_t i = in.size() - 1 - k, d = r - 1 - k;
    out[d] = in[i] == 1 ? 0 : acc;
    acc *= in[i];
  }
  return out;
}

LoopSpace mergeLoopSpace(const Shape& s, const std::vector<std::vector<int64_t>>& st) {
  LoopSpace ls;
  std::vector<std::vector<int64_t>> merged(st.size());
  for (size_t d = 0; d < s.size(); ++d) {
    if (s[d] == 1) continue;
    bool canMerge = !ls.dims.empty();
    for (size_t o = 0; o < st.size() && canMerge; ++o)
      canMerge = merged[o].back() == st[o][d] * s[d];
    if (canMerge) {
      ls.dims.back() *= s[d];
      for (size_t o = 0; o < st.size(); ++o) merged[o].back() = st[o][d];
    } else {
      ls.dims.push_back(s[d]);
      for (size_t o = 0; o < st.size(); ++o) merged[o].push_back(st[o][d]);
    }
  }
  if (ls.dims.empty()) {
    ls.dims.push_back(1);
    for (auto& m : merged) m.push_back(1);
  }
  ls.strides = std::move(merged);
  return ls;
}

std::string emitEntry(const std::string& name, size_t pointers) {
  std::ostringstream os;
  os << "define void @" << name << "(ptr %args, i64 %begin, i64 %end) nounwind {\nentry:\n";
  for (size_t i = 0; i < pointers; ++i) {
    os << "  %pp" << i << " = getelementptr inbounds ptr, ptr %args, i64 " << i << "\n";
    os << "  %p" << i << " = load ptr, ptr %pp" << i << "\n";
  }
  os << "  call void @" << name << ".body(";
  for (size_t i = 0; i < pointers; ++i) os << "ptr %p" << i << ", ";
  os << "i64 %begin, i64 %end)\n  ret void\n}\n";
  return os.str();
}

namespace {

const char* fcmpPred(OpKind op) {
  switch (op) {
  case OpKind::Less: return "olt";
  case OpKind::LessEqual: return "ole";
  case OpKind::Greater: return "ogt";
  case OpKind::GreaterEqual: return "oge";
  case OpKind::Equal: return "oeq";
  default: return "une";
  }
}

} // namespace

std::string emitOp(Emitter& e, const Graph& g, const Node& n, const std::vector<std::string>& x) {
  const std::string zero = floatLit(0), one = floatLit(1);
  auto isBool = [&](size_t i) { return g.type(n.operands[i]).dtype == DType::Bool; };
  switch (n.op) {
  case OpKind::Neg: return e.line("fneg float " + x[0]);
  case OpKind::Exp: return e.call1("llvm.exp.f32", x[0]);
  case OpKind::Log: return e.call1("llvm.log.f32", x[0]);
  case OpKind::Sqrt: return e.call1("llvm.sqrt.f32", x[0]);
  case OpKind::Rsqrt: return e.bin("fdiv", one, e.call1("llvm.sqrt.f32", x[0]));
  case OpKind::Abs: return e.call1("llvm.fabs.f32", x[0]);
  case OpKind::Sign: {
    std::string neg = e.select(e.fcmp("olt", x[0], zero), "float", floatLit(-1), zero);
    return e.select(e.fcmp("ogt", x[0], zero), "float", one, neg);
  }
  case OpKind::Tanh: return e.call1("tanhf", x[0]);
  case OpKind::Sigmoid: {
    std::string ex = e.call1("llvm.exp.f32", e.line("fneg float " + x[0]));
    return e.bin("fdiv", one, e.bin("fadd", one, ex));
  }
  case OpKind::Relu: return e.select(e.fcmp("ogt", x[0], zero), "float", x[0], zero);
  case OpKind::LeakyRelu:
    return e.select(e.fcmp("ogt", x[0], zero), "float", x[0], e.bin("fmul", floatLit(n.attrs.alpha), x[0]));
  case OpKind::Elu: {
    std::string em1 = e.bin("fsub", e.call1("llvm.exp.f32", x[0]), one);
    return e.select(e.fcmp("ogt", x[0], zero), "float", x[0], e.bin("fmul", floatLit(n.attrs.alpha), em1));
  }
  case OpKind::Gelu: {
    std::string erf = e.call1("erff", e.bin("fmul", x[0], floatLit(M_SQRT1_2)));
    return e.bin("fmul", e.bin("fmul", floatLit(0.5), x[0]), e.bin("fadd", one, erf));
  }
  case OpKind::GeluDerivative: {
    std::string erf = e.call1("erff", e.bin("fmul", x[0], floatLit(M_SQRT1_2)));
    std::string cdf = e.bin("fmul", floatLit(0.5), e.bin("fadd", one, erf));
    std::string sq = e.bin("fmul", e.bin("fmul", x[0], x[0]), floatLit(-0.5));
    std::string pdf = e.bin("fmul", e.call1("llvm.exp.f32", sq), floatLit(1.0 / std::sqrt(2.0 * M_PI)));
    return e.bin("fadd", cdf, e.bin("fmul", x[0], pdf));
  }
  case OpKind::Softplus: {
    std::string pos = e.select(e.fcmp("ogt", x[0], zero), "float", x[0], zero);
    std::string ex = e.call1("llvm.exp.f32", e.line("fneg float " + e.call1("llvm.fabs.f32", x[0])));
    return e.bin("fadd", pos, e.call1("log1pf", ex));
  }
  case OpKind::Cast: {
    bool from = isBool(0), to = n.type.dtype == DType::Bool;
    if (from == to) return x[0];
    if (to) return e.fcmp("une", x[0], zero);
    return e.line("uitofp i1 " + x[0] + " to float");
  }
  case OpKind::BroadcastTo: return x[0];
  case OpKind::Add: return e.bin("fadd", x[0], x[1]);
  case OpKind::Sub: return e.bin("fsub", x[0], x[1]);
  case OpKind::Mul: return e.bin("fmul", x[0], x[1]);
  case OpKind::Div: return e.bin("fdiv", x[0], x[1]);
  case OpKind::Pow: return e.line("call float @llvm.pow.f32(float " + x[0] + ", float " + x[1] + ")");
  case OpKind::Maximum: return e.select(e.fcmp("olt", x[0], x[1]), "float", x[1], x[0]);
  case OpKind::Minimum: return e.select(e.fcmp("olt", x[1], x[0]), "float", x[1], x[0]);
  case OpKind::Equal:
  case OpKind::NotEqual:
    if (isBool(0))
      return e.line(std::string("icmp ") + (n.op == OpKind::Equal ? "eq" : "ne") + " i1 " + x[0] + ", " + x[1]);
    return e.fcmp(fcmpPred(n.op), x[0], x[1]);
  case OpKind::Less:
  case OpKind::LessEqual:
  case OpKind::Greater:
  case OpKind::GreaterEqual: return e.fcmp(fcmpPred(n.op), x[0], x[1]);
  case OpKind::Where: return e.select(x[0], n.type.dtype == DType::Bool ? "i1" : "float", x[1], x[2]);
  default: throw InternalError("codegen: no LLVM lowering for " + std::string(opName(n.op)));
  }
}

} // namespace emit

namespace {

LoopSpace loopSpace(const Graph& g, const FusedGroup& grp, const std::vector<ValueId>& ins) {
  std::vector<std::vector<int64_t>> st;
  for (ValueId v : ins) st.push_back(broadcastStrides(g, v, grp.shape));
  // The outputs' own (contiguous) strides take part in merging too.
  std::vector<int64_t> contig(grp.shape.size(), 1);
  for (size_t k = grp.shape.size(); k-- > 1;) contig[k - 1] = contig[k] * grp.shape[k];
  st.push_back(contig);
  LoopSpace ls = mergeLoopSpace(grp.shape, st);
  ls.strides.pop_back();
  return ls;
}

} // namespace

std::vector<ValueId> kernelArguments(const Graph& g, const FusedGroup& group) {
  std::vector<ValueId> args;
  for (ValueId v : group.inputs)
    if (!inlinedConstant(g, v)) args.push_back(v);
  args.insert(args.end(), group.outputs.begin(), group.outputs.end());
  return args;
}

std::string emitGroupFunction(const Graph& g, const FusedGroup& grp, const std::string& name,
                              std::optional<ValueId> writesOver) {
  if (grp.root) {
    BDL_IR_CHECK(!writesOver, "LlvmEmit.cpp: a reduction group's output written over an input");
    return emitReduceFunction(g, grp, name);
  }
  std::vector<ValueId> ins;
  for (ValueId v : grp.inputs)
    if (!inlinedConstant(g, v)) ins.push_back(v);
  LoopSpace ls = loopSpace(g, grp, ins);
  const int64_t inner = ls.dims.back();
  const size_t outer = ls.dims.size() - 1;
  Emitter e;
  auto& os = e.os;
  auto elemTy = [&](ValueId v) { return g.type(v).dtype == DType::Bool ? "i8" : "float"; };

  os << "define internal void @" << name << ".body(";
  size_t nargs = ins.size() + grp.outputs.size();
  for (size_t i = 0; i < nargs; ++i) os << "ptr noalias %a" << i << ", ";
  os << "i64 %begin, i64 %end) alwaysinline nounwind {\nentry:\n";
  os << "  %r0 = udiv i64 %begin, " << inner << "\n";
  os << "  %endm1 = sub i64 %end, 1\n";
  os << "  %r1 = udiv i64 %endm1, " << inner << "\n";
  os << "  br label %row\nrow:\n";
  os << "  %r = phi i64 [ %r0, %entry ], [ %rn, %rowend ]\n";
  os << "  %rbase = mul i64 %r, " << inner << "\n";
  os << "  %lo0 = sub i64 %begin, %rbase\n  %lopos = icmp sgt i64 %lo0, 0\n";
  os << "  %lo = select i1 %lopos, i64 %lo0, i64 0\n";
  os << "  %hi0 = sub i64 %end, %rbase\n  %hilt = icmp slt i64 %hi0, " << inner << "\n";
  os << "  %hi = select i1 %hilt, i64 %hi0, i64 " << inner << "\n";
  // Row base pointers: inputs by their (broadcast) strides over the outer dims.
  std::vector<std::string> rowPtr(nargs);
  for (size_t i = 0; i < ins.size(); ++i) {
    std::string off = "0";
    int64_t divisor = 1;
    for (size_t d = outer; d-- > 0;) {
      int64_t st = ls.strides[i][d];
      if (st != 0) {
        std::string q = divisor == 1 ? "%r" : e.line("udiv i64 %r, " + std::to_string(divisor));
        std::string idx = d == 0 ? q : e.line("urem i64 " + q + ", " + std::to_string(ls.dims[d]));
        std::string term = e.line("mul i64 " + idx + ", " + std::to_string(st));
        off = off == "0" ? term : e.line("add i64 " + off + ", " + term);
      }
      divisor *= ls.dims[d];
    }
    rowPtr[i] = e.line(std::string("getelementptr inbounds ") + elemTy(ins[i]) + ", ptr %a" +
                       std::to_string(i) + ", i64 " + off);
  }
  for (size_t k = 0; k < grp.outputs.size(); ++k) {
    size_t a = ins.size() + k;
    rowPtr[a] = e.line(std::string("getelementptr inbounds ") + elemTy(grp.outputs[k]) + ", ptr %a" +
                       std::to_string(a) + ", i64 %rbase");
  }
  // In place: the store goes through the input's own pointer (the output's
  // argument holds the same address but is never used, so `noalias` holds).
  if (writesOver) {
    auto at = std::find(ins.begin(), ins.end(), *writesOver);
    BDL_IR_CHECK(grp.outputs.size() == 1 && at != ins.end() && *g.type(*writesOver).shape() == grp.shape,
                 "in-place group output over an input it does not read element for element");
    rowPtr[ins.size()] = rowPtr[at - ins.begin()];
  }
  os << "  %any = icmp slt i64 %lo, %hi\n  br i1 %any, label %body, label %rowend\nbody:\n";
  os << "  %j = phi i64 [ %lo, %row ], [ %jn, %body ]\n";
  std::map<ValueId, std::string> val;
  auto loadOf = [&](size_t i) {
    ValueId v = ins[i];
    std::string p = ls.strides[i].back() == 0
                        ? rowPtr[i]
                        : e.line(std::string("getelementptr inbounds ") + elemTy(v) + ", ptr " + rowPtr[i] + ", i64 %j");
    if (g.type(v).dtype == DType::Bool) return e.line("icmp ne i8 " + e.line("load i8, ptr " + p) + ", 0");
    return e.line("load float, ptr " + p);
  };
  for (size_t i = 0; i < ins.size(); ++i) val[ins[i]] = loadOf(i);
  for (ValueId v : grp.inputs)
    if (inlinedConstant(g, v)) val[v] = floatLit(g.node(v).value.data<float>()[0]);
  for (ValueId m : grp.members) {
    const Node& n = g.node(m);
    std::vector<std::string> x;
    for (ValueId o : n.operands) x.push_back(val.at(o));
    val[m] = emitOp(e, g, n, x);
  }
  for (size_t k = 0; k < grp.outputs.size(); ++k) {
    ValueId v = grp.outputs[k];
    bool b = g.type(v).dtype == DType::Bool;
    std::string p = e.line(std::string("getelementptr inbounds ") + elemTy(v) + ", ptr " +
                           rowPtr[ins.size() + k] + ", i64 %j");
    std::string x = b ? e.line("zext i1 " + val.at(v) + " to i8") : val.at(v);
    os << "  store " << elemTy(v) << " " << x << ", ptr " << p << "\n";
  }
  os << "  %jn = add nsw i64 %j, 1\n  %more = icmp slt i64 %jn, %hi\n";
  os << "  br i1 %more, label %body, label %rowend\nrowend:\n";
  os << "  %rn = add i64 %r, 1\n  %again = icmp ule i64 %rn, %r1\n";
  os << "  br i1 %again, label %row, label %exit\nexit:\n  ret void\n}\n\n";

  return os.str() + emitEntry(name, nargs);
}

std::string emitModule(const std::vector<std::string>& functions) {
  std::string m =
      "declare float @llvm.exp.f32(float)\n"
      "declare float @llvm.log.f32(float)\n"
      "declare float @llvm.sqrt.f32(float)\n"
      "declare float @llvm.fabs.f32(float)\n"
      "declare float @llvm.pow.f32(float, float)\n"
      "declare float @tanhf(float)\n"
      "declare float @erff(float)\n"
      "declare float @log1pf(float)\n\n";
  for (const std::string& f : functions) m += f + "\n";
  return m;
}

} // namespace bdl::codegen
