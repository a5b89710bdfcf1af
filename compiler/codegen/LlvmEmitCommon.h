// What the two LLVM emitters share (LlvmEmit.cpp: element-wise groups,
// ReduceEmit.cpp: groups rooted at a reduction): SSA naming, one node's
// scalar code, and the loop space of a group.
#pragma once

#include "compiler/ir/Graph.h"

#include <sstream>
#include <string>
#include <vector>

namespace bdl::codegen::emit {

// A rank-0 f32 constant: its value is written into the code, it takes no argument.
bool inlinedConstant(const ir::Graph& g, ir::ValueId v);

// An f32 literal as LLVM IR writes it: the double with the same value, in hex.
std::string floatLit(double v);

class Emitter {
public:
  std::ostringstream os;
  int next = 0;
  std::string fresh() { return "%t" + std::to_string(next++); }
  std::string line(const std::string& rhs) {
    std::string t = fresh();
    os << "  " << t << " = " << rhs << "\n";
    return t;
  }
  std::string call1(const char* fn, const std::string& x) {
    return line(std::string("call float @") + fn + "(float " + x + ")");
  }
  std::string bin(const char* op, const std::string& a, const std::string& b) {
    return line(std::string(op) + " float " + a + ", " + b);
  }
  std::string select(const std::string& c, const char* ty, const std::string& a, const std::string& b) {
    return line("select i1 " + c + ", " + ty + " " + a + ", " + ty + " " + b);
  }
  std::string fcmp(const char* pred, const std::string& a, const std::string& b) {
    return line(std::string("fcmp ") + pred + " float " + a + ", " + b);
  }
};

// `void <name>(ptr args, i64 begin, i64 end)`: loads `pointers` pointers
// from args and calls `<name>.body(ptr..., begin, end)`.
std::string emitEntry(const std::string& name, size_t pointers);

// The scalar code of one element-wise node on its operands' values.
std::string emitOp(Emitter& e, const ir::Graph& g, const ir::Node& n, const std::vector<std::string>& x);

// Element strides of `v` (of a shape that broadcasts to `s`) over the dims of `s`.
std::vector<int64_t> broadcastStrides(const ir::Graph& g, ir::ValueId v, const Shape& s);

// The loop space after dropping size-1 dimensions and merging neighbours
// that every stride vector walks the same way.
struct LoopSpace {
  std::vector<int64_t> dims;                 // outer..., inner
  std::vector<std::vector<int64_t>> strides; // per stride vector given, per dim
};
LoopSpace mergeLoopSpace(const Shape& s, const std::vector<std::vector<int64_t>>& strides);

} // namespace bdl::codegen::emit
