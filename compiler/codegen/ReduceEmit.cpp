#include "compiler/codegen/ReduceEmit.h"

#include "compiler/codegen/LlvmEmitCommon.h"
#include "compiler/ir/Error.h"
#include "compiler/ir/ops/Common.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <map>

namespace bdl::codegen {

using namespace bdl::ir;
using namespace bdl::codegen::emit;

namespace {

// A reduced run longer than this (with nothing else reduced) is cut into
// chunks of this many elements, combined in chunk order: several threads
// can share one output, and no f32 accumulator sums more than this many.
constexpr int64_t kChunk = 16384;
// Outputs along a kept inner dimension, per work item (a dense layer's bias
// gradient of 256 columns is two items: two threads).
constexpr int64_t kColumns = 128;
constexpr int kLanes = 16;

// The group's loop space with the reduction's output as one more stride
// vector (0 on reduced dims), so no merged dimension mixes reduced and kept
// ones. Stride vectors: the inputs, the members' contiguous layout, the root's.
struct Space {
  LoopSpace ls;
  std::vector<ValueId> ins;
  std::vector<size_t> keptOuter, reducedOuter; // outer merged dims, in order
  bool innerReduced = false;
  int64_t keptCount = 1, reducedCount = 1, inner = 1;
};

Space spaceOf(const Graph& g, const FusedGroup& grp) {
  BDL_IR_CHECK(grp.root && grp.members.back() == *grp.root, "ReduceEmit.cpp: group without a reduction root");
  const Node& root = g.node(*grp.root);
  const Shape& s = grp.shape;
  const int64_t rank = static_cast<int64_t>(s.size());
  auto axes = ops::normalizeAxes(root.attrs.axes, rank, 0);
  BDL_IR_CHECK(axes.ok(), "ReduceEmit.cpp: reduction axes out of range");
  Space sp;
  std::vector<std::vector<int64_t>> st;
  for (ValueId v : grp.inputs)
    if (!inlinedConstant(g, v)) {
      sp.ins.push_back(v);
      st.push_back(broadcastStrides(g, v, s));
    }
  std::vector<int64_t> contig(s.size(), 1), out(s.size(), 0);
  for (size_t k = s.size(); k-- > 1;) contig[k - 1] = contig[k] * s[k];
  int64_t acc = 1;
  for (int64_t d = rank; d-- > 0;) {
    if (std::find(axes->begin(), axes->end(), d) != axes->end()) continue;
    out[d] = acc;
    acc *= s[d];
  }
  st.push_back(contig);
  st.push_back(out);
  sp.ls = mergeLoopSpace(s, st);
  const std::vector<int64_t>& outSt = sp.ls.strides.back();
  size_t k = sp.ls.dims.size();
  sp.innerReduced = outSt[k - 1] == 0;
  sp.inner = sp.ls.dims[k - 1];
  for (size_t d = 0; d + 1 < k; ++d) {
    if (outSt[d] == 0) {
      sp.reducedOuter.push_back(d);
      sp.reducedCount *= sp.ls.dims[d];
    } else {
      sp.keptOuter.push_back(d);
      sp.keptCount *= sp.ls.dims[d];
    }
  }
  return sp;
}

// Rows of a chunk when reduced rows are cut: a chunk holds about kChunk elements.
int64_t chunkRows(const Space& sp) { return std::max<int64_t>(1, kChunk / sp.inner); }

ReduceLayout layoutOf(const Graph& g, const FusedGroup& grp, const Space& sp) {
  ReduceLayout lay;
  lay.op = g.node(*grp.root).op;
  lay.outputs = numElements(*g.type(*grp.root).shape());
  if (sp.innerReduced) {
    // One run: chunks of it, an output's chunks next to each other. Several
    // rows: chunks of rows, ordered chunk by chunk, so that a thread's items
    // cover a contiguous part of the input as an element-wise group's would
    // (the step before wrote it in that order, into that thread's cache).
    bool oneRun = sp.reducedCount == 1;
    lay.split = oneRun ? (sp.inner + kChunk - 1) / kChunk : (sp.reducedCount + chunkRows(sp) - 1) / chunkRows(sp);
    lay.partials = lay.split > 1;
    lay.outputStride = oneRun ? lay.split : 1;
    lay.chunkStride = oneRun ? 1 : sp.keptCount;
  } else {
    lay.split = (sp.inner + kColumns - 1) / kColumns;
  }
  lay.items = sp.keptCount * lay.split;
  if (lay.op == OpKind::Mean)
    lay.scale = static_cast<double>(lay.outputs) / static_cast<double>(numElements(grp.shape));
  return lay;
}

// Emitter plus what the reduction's loops need: allocas hoisted to the
// entry block (mem2reg turns them into registers) and unique labels.
struct LoopEmitter : Emitter {
  std::ostringstream allocas;
  int slots = 0;
  std::string slot(const char* ty) {
    std::string s = "%s" + std::to_string(slots++);
    allocas << "  " << s << " = alloca " << ty << "\n";
    return s;
  }
  // for (i = lo; i < hi; i += step) body(i)
  void forLoop(const std::string& lo, const std::string& hi, int64_t step,
               const std::function<void(const std::string&)>& body) {
    std::string id = std::to_string(next++), counter = slot("i64");
    os << "  store i64 " << lo << ", ptr " << counter << "\n";
    std::string any = line("icmp slt i64 " + lo + ", " + hi);
    os << "  br i1 " << any << ", label %L" << id << ", label %E" << id << "\nL" << id << ":\n";
    std::string i = line("load i64, ptr " + counter);
    body(i);
    std::string in = line("add nsw i64 " + i + ", " + std::to_string(step));
    os << "  store i64 " << in << ", ptr " << counter << "\n";
    std::string more = line("icmp slt i64 " + in + ", " + hi);
    os << "  br i1 " << more << ", label %L" << id << ", label %E" << id << "\nE" << id << ":\n";
  }
  // Its operands are emitted first: `os << "store " << line(...)` would not be.
  void store(const std::string& value, const std::string& ptr) { os << "  store float " << value << ", ptr " << ptr << "\n"; }
  std::string combine(OpKind op, const std::string& acc, const std::string& v) {
    // max and min as the reference's std::max(acc, v) and std::min(acc, v).
    if (op == OpKind::Max) return select(fcmp("olt", acc, v), "float", v, acc);
    if (op == OpKind::Min) return select(fcmp("olt", v, acc), "float", v, acc);
    return bin("fadd", acc, v);
  }
};

// sum_d (index of merged dim d within `dims`, from `linear`) * stride[d], per stride vector.
std::vector<std::string> offsets(LoopEmitter& e, const Space& sp, const std::vector<size_t>& dims,
                                 const std::string& linear) {
  std::vector<std::string> off(sp.ls.strides.size(), "0");
  int64_t divisor = 1;
  for (size_t k = dims.size(); k-- > 0;) {
    size_t d = dims[k];
    std::string q = divisor == 1 ? linear : e.line("udiv i64 " + linear + ", " + std::to_string(divisor));
    std::string idx = k == 0 ? q : e.line("urem i64 " + q + ", " + std::to_string(sp.ls.dims[d]));
    for (size_t s = 0; s < off.size(); ++s) {
      int64_t st = sp.ls.strides[s][d];
      if (st == 0) continue;
      std::string term = e.line("mul i64 " + idx + ", " + std::to_string(st));
      off[s] = off[s] == "0" ? term : e.line("add i64 " + off[s] + ", " + term);
    }
    divisor *= sp.ls.dims[d];
  }
  return off;
}

// Max or min over [lo, hi) of rows [rowLo, rowHi) in 16 lanes (lane l takes
// the elements at l modulo 16 of a row, the rest of each row one more
// accumulator), folded in a fixed tree: exact in any order, so only NaNs
// could tell. The lanes are one vector built from 16 scalar values.
std::string emitLanes(LoopEmitter& e, OpKind op, const std::string& init, const std::string& lo,
                      const std::string& hi, const std::string& rowLo, const std::string& rowHi,
                      const std::function<void(const std::string&)>& setRow,
                      const std::function<std::string(const std::string&)>& chainAt) {
  auto& os = e.os;
  const std::string vty = "<" + std::to_string(kLanes) + " x float>";
  std::string lanes = e.slot(vty.c_str()), tail = e.slot("float");
  os << "  store " << vty << " splat (float " << init << "), ptr " << lanes << "\n";
  e.store(init, tail);
  std::string n = e.line("sub i64 " + hi + ", " + lo);
  std::string n16 = e.line("add i64 " + lo + ", " + e.line("and i64 " + n + ", -" + std::to_string(kLanes)));
  e.forLoop(rowLo, rowHi, 1, [&](const std::string& r) {
    setRow(r);
    e.forLoop(lo, n16, kLanes, [&](const std::string& j) {
      std::string vec = "poison";
      for (int l = 0; l < kLanes; ++l) {
        std::string v = chainAt(l == 0 ? j : e.line("add nsw i64 " + j + ", " + std::to_string(l)));
        vec = e.line("insertelement " + vty + " " + vec + ", float " + v + ", i32 " + std::to_string(l));
      }
      std::string a = e.line("load " + vty + ", ptr " + lanes);
      // As combine(): the new value where it is strictly better.
      std::string better = op == OpKind::Max ? e.line("fcmp olt " + vty + " " + a + ", " + vec)
                                             : e.line("fcmp olt " + vty + " " + vec + ", " + a);
      std::string next = e.line("select <" + std::to_string(kLanes) + " x i1> " + better + ", " + vty + " " + vec +
                                ", " + vty + " " + a);
      os << "  store " << vty << " " << next << ", ptr " << lanes << "\n";
    });
    e.forLoop(n16, hi, 1, [&](const std::string& j) {
      std::string v = chainAt(j);
      e.store(e.combine(op, e.line("load float, ptr " + tail), v), tail);
    });
  });
  std::vector<std::string> part;
  std::string all = e.line("load " + vty + ", ptr " + lanes);
  for (int l = 0; l < kLanes; ++l) part.push_back(e.line("extractelement " + vty + " " + all + ", i32 " + std::to_string(l)));
  for (size_t width = part.size(); width > 1; width /= 2)
    for (size_t i = 0; i < width / 2; ++i) part[i] = e.combine(op, part[2 * i], part[2 * i + 1]);
  return e.combine(op, part[0], e.line("load float, ptr " + tail));
}

} // namespace

ReduceLayout reduceLayout(const Graph& g, const FusedGroup& grp) { return layoutOf(g, grp, spaceOf(g, grp)); }

std::string emitReduceFunction(const Graph& g, const FusedGroup& grp, const std::string& name) {
  const Space sp = spaceOf(g, grp);
  const ReduceLayout lay = layoutOf(g, grp, sp);
  const size_t nin = sp.ins.size(), nargs = nin + grp.outputs.size();
  const size_t contigVec = nin; // index of the members' stride vector
  const std::string rootArg = "%a" + std::to_string(nargs - 1);
  const OpKind op = lay.op;
  const float inf = std::numeric_limits<float>::infinity();
  const std::string init = floatLit(op == OpKind::Max ? -inf : op == OpKind::Min ? inf : 0.0f);
  auto elemTy = [&](ValueId v) { return g.type(v).dtype == DType::Bool ? "i8" : "float"; };
  LoopEmitter e;
  auto& os = e.os;

  // The chain's values at index j of the current row; members read
  // elsewhere are stored there too (every element is visited once).
  std::vector<std::string> rowPtr(sp.ls.strides.size());
  auto chainAt = [&](const std::string& j) {
    std::map<ValueId, std::string> val;
    for (size_t i = 0; i < nin; ++i) {
      ValueId v = sp.ins[i];
      std::string p = sp.ls.strides[i].back() == 0
                          ? rowPtr[i]
                          : e.line(std::string("getelementptr inbounds ") + elemTy(v) + ", ptr " + rowPtr[i] + ", i64 " + j);
      val[v] = g.type(v).dtype == DType::Bool ? e.line("icmp ne i8 " + e.line("load i8, ptr " + p) + ", 0")
                                              : e.line("load float, ptr " + p);
    }
    for (ValueId v : grp.inputs)
      if (inlinedConstant(g, v)) val[v] = floatLit(g.node(v).value.data<float>()[0]);
    for (ValueId m : grp.members) {
      if (m == *grp.root) break;
      std::vector<std::string> x;
      for (ValueId o : g.node(m).operands) x.push_back(val.at(o));
      val[m] = emitOp(e, g, g.node(m), x);
    }
    for (size_t k = 0; k + 1 < grp.outputs.size(); ++k) {
      ValueId v = grp.outputs[k];
      std::string p = e.line(std::string("getelementptr inbounds ") + elemTy(v) + ", ptr %a" + std::to_string(nin + k) +
                             ", i64 " + e.line("add i64 " + rowPtr[contigVec] + ", " + j));
      std::string x = g.type(v).dtype == DType::Bool ? e.line("zext i1 " + val.at(v) + " to i8") : val.at(v);
      os << "  store " << elemTy(v) << " " << x << ", ptr " << p << "\n";
    }
    return val.at(g.node(*grp.root).operands[0]);
  };
  // Row pointers for the current (kept, reduced) outer position; the
  // members' stride vector stays an element offset (outputs differ in type).
  auto setRow = [&](const std::vector<std::string>& keptOff, const std::string& ro) {
    std::vector<std::string> redOff = offsets(e, sp, sp.reducedOuter, ro);
    for (size_t s = 0; s < rowPtr.size(); ++s) {
      std::string off = keptOff[s] == "0" ? redOff[s]
                        : redOff[s] == "0" ? keptOff[s]
                                           : e.line("add i64 " + keptOff[s] + ", " + redOff[s]);
      if (s < nin)
        rowPtr[s] = e.line(std::string("getelementptr inbounds ") + elemTy(sp.ins[s]) + ", ptr %a" +
                           std::to_string(s) + ", i64 " + off);
      else rowPtr[s] = off;
    }
  };

  // Item w: output (row) ko and chunk c, in the layout's order.
  const bool rowChunks = lay.partials && sp.reducedCount > 1;
  auto umin = [&](const std::string& a, int64_t b) {
    return e.line("select i1 " + e.line("icmp slt i64 " + a + ", " + std::to_string(b)) + ", i64 " + a + ", i64 " +
                  std::to_string(b));
  };
  e.forLoop("%begin", "%end", 1, [&](const std::string& w) {
    std::string ko = w, c = "0";
    if (lay.split > 1) {
      int64_t by = rowChunks ? sp.keptCount : lay.split;
      std::string q = e.line("udiv i64 " + w + ", " + std::to_string(by));
      std::string m = e.line("urem i64 " + w + ", " + std::to_string(by));
      ko = rowChunks ? m : q;
      c = rowChunks ? q : m;
    }
    // The inner range [lo, hi) and the reduced rows [rowLo, rowHi) of this item.
    std::string lo = "0", hi = std::to_string(sp.inner), rowLo = "0", rowHi = std::to_string(sp.reducedCount);
    int64_t width = rowChunks ? chunkRows(sp) : sp.innerReduced ? kChunk : kColumns;
    if (lay.split > 1) {
      std::string& first = rowChunks ? rowLo : lo;
      std::string& last = rowChunks ? rowHi : hi;
      first = e.line("mul i64 " + c + ", " + std::to_string(width));
      last = umin(e.line("add i64 " + first + ", " + std::to_string(width)), rowChunks ? sp.reducedCount : sp.inner);
    }
    std::vector<std::string> keptOff = offsets(e, sp, sp.keptOuter, ko);
    if (sp.innerReduced) {
      std::string result;
      if (op == OpKind::Sum || op == OpKind::Mean) {
        // One accumulator whose adds may be reassociated: the loop vectoriser
        // then keeps vectors of partial sums and folds them after the loop.
        // Its order is fixed by the compiled code and the run's bounds
        // (fixed by the shapes), never by the thread count.
        std::string acc = e.slot("float");
        e.store(init, acc);
        e.forLoop(rowLo, rowHi, 1, [&](const std::string& r) {
          setRow(keptOff, r);
          e.forLoop(lo, hi, 1, [&](const std::string& j) {
            std::string v = chainAt(j);
            e.store(e.line("fadd reassoc float " + e.line("load float, ptr " + acc) + ", " + v), acc);
          });
        });
        result = e.line("load float, ptr " + acc);
      } else {
        result = emitLanes(e, op, init, lo, hi, rowLo, rowHi, [&](const std::string& r) { setRow(keptOff, r); }, chainAt);
      }
      if (lay.partials) {
        e.store(result, e.line("getelementptr inbounds float, ptr %part, i64 " + w));
      } else {
        if (lay.scale != 1) result = e.bin("fmul", result, floatLit(lay.scale));
        e.store(result, e.line("getelementptr inbounds float, ptr " + rootArg + ", i64 " + ko));
      }
    } else {
      // The output row itself accumulates, one reduced row after another:
      // each element's order is the rows' order, whatever the split.
      std::string yRow = e.line("getelementptr inbounds float, ptr " + rootArg + ", i64 " +
                                e.line("mul i64 " + ko + ", " + std::to_string(sp.inner)));
      auto yAt = [&](const std::string& j) { return e.line("getelementptr inbounds float, ptr " + yRow + ", i64 " + j); };
      e.forLoop(lo, hi, 1, [&](const std::string& j) { e.store(init, yAt(j)); });
      e.forLoop(rowLo, rowHi, 1, [&](const std::string& r) {
        setRow(keptOff, r);
        e.forLoop(lo, hi, 1, [&](const std::string& j) {
          std::string v = chainAt(j);
          std::string p = yAt(j);
          e.store(e.combine(op, e.line("load float, ptr " + p), v), p);
        });
      });
      if (lay.scale != 1)
        e.forLoop(lo, hi, 1, [&](const std::string& j) {
          std::string p = yAt(j);
          e.store(e.bin("fmul", e.line("load float, ptr " + p), floatLit(lay.scale)), p);
        });
    }
  });

  std::ostringstream fn;
  fn << "define internal void @" << name << ".body(";
  for (size_t i = 0; i < nargs; ++i) fn << "ptr noalias %a" << i << ", ";
  if (lay.partials) fn << "ptr noalias %part, ";
  fn << "i64 %begin, i64 %end) alwaysinline nounwind {\nentry:\n" << e.allocas.str() << os.str() << "  ret void\n}\n\n";
  return fn.str() + emitEntry(name, nargs + (lay.partials ? 1 : 0));
}

} // namespace bdl::codegen
