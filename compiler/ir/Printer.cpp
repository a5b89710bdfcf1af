#include "compiler/ir/Printer.h"

#include "compiler/ir/ops/Common.h"

#include <cstdio>

namespace bdl::ir {

static std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

static std::string ints(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

static std::string pair(const std::array<int64_t, 2>& v) {
  return "[" + std::to_string(v[0]) + ", " + std::to_string(v[1]) + "]";
}

// Attributes that differ from the defaults, in declaration order.
static std::string printAttrs(const Node& n) {
  const Attrs& a = n.attrs;
  const Attrs d;
  std::vector<std::string> parts;
  if (a.axes != d.axes) parts.push_back("axes=" + ints(a.axes));
  if (a.shape != d.shape) parts.push_back("shape=" + dimsToString(a.shape));
  if (a.keepdims != d.keepdims) parts.push_back("keepdims=true");
  if (a.alpha != d.alpha) parts.push_back(std::string(n.op == OpKind::Dropout ? "p=" : "alpha=") + num(a.alpha));
  if (a.start != d.start) parts.push_back("start=" + std::to_string(a.start));
  if (a.end != d.end) parts.push_back("end=" + std::to_string(a.end));
  if (a.count != d.count) parts.push_back("count=" + std::to_string(a.count));
  if (a.window != d.window) parts.push_back("window=" + pair(a.window));
  if (a.stride != d.stride) parts.push_back("stride=" + pair(a.stride));
  if (a.padding != d.padding) parts.push_back("padding=" + pair(a.padding));
  if (a.dilation != d.dilation) parts.push_back("dilation=" + pair(a.dilation));
  if (a.seed != d.seed) parts.push_back("seed=" + std::to_string(a.seed));
  if (n.op == OpKind::Cast || n.op == OpKind::OneHot || n.op == OpKind::NumElements)
    parts.push_back("dtype=" + std::string(dtypeName(a.dtype)));
  if (parts.empty()) return "";
  std::string s = " {";
  for (size_t i = 0; i < parts.size(); ++i) s += (i ? ", " : "") + parts[i];
  return s + "}";
}

static std::string printConstant(const Tensor& t) {
  if (t.numel() > 16) return "<" + std::to_string(t.numel()) + " values>";
  std::vector<double> v = ops::toDoubles(t);
  if (t.rank() == 0) return num(v[0]);
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + num(v[i]);
  return s + "]";
}

static std::string printLocation(const Graph& g, const Location& loc) {
  std::string file = loc.fileId < g.files.size() ? g.files[loc.fileId] : "#" + std::to_string(loc.fileId);
  return file + ":" + std::to_string(loc.line) + ":" + std::to_string(loc.col);
}

std::string printNode(const Graph& g, ValueId id, PrintOptions options) {
  const Node& n = g.node(id);
  std::string s = "%" + std::to_string(id) + " = " + std::string(opName(n.op));
  switch (n.op) {
  case OpKind::Input: s += " \"" + n.name + "\""; break;
  case OpKind::Parameter:
  case OpKind::State: s += " \"" + n.name + "\" " + n.init.toString(); break;
  case OpKind::Constant: s += " " + printConstant(n.value); break;
  default: {
    s += "(";
    for (size_t i = 0; i < n.operands.size(); ++i)
      s += (i ? ", %" : "%") + std::to_string(n.operands[i]);
    s += ")" + printAttrs(n);
  }
  }
  s += " : " + n.type.toString();
  if (options.locations && n.loc.known()) s += " loc(" + printLocation(g, n.loc) + ")";
  return s;
}

std::string printGraph(const Graph& g, PrintOptions options) {
  std::string s = "graph {\n";
  for (ValueId i = 0; i < g.nodes.size(); ++i) s += "  " + printNode(g, i, options) + "\n";
  for (const GraphOutput& o : g.outputs)
    s += "  output \"" + o.name + "\" = %" + std::to_string(o.value) + "\n";
  return s + "}\n";
}

static std::string dotEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string printDot(const Graph& g) {
  std::string s = "digraph bdl {\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\"];\n";
  for (ValueId i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    std::string label = "%" + std::to_string(i) + " " + std::string(opName(n.op));
    if (!n.name.empty()) label += " " + n.name;
    label = dotEscape(label) + "\\n" + n.type.toString();
    const char* style = isLeaf(n.op) ? ", style=filled, fillcolor=\"#e8e8e8\"" : "";
    s += "  n" + std::to_string(i) + " [label=\"" + label + "\"" + style + "];\n";
    for (ValueId o : n.operands) s += "  n" + std::to_string(o) + " -> n" + std::to_string(i) + ";\n";
  }
  for (size_t k = 0; k < g.outputs.size(); ++k) {
    s += "  out" + std::to_string(k) + " [label=\"" + dotEscape(g.outputs[k].name) +
         "\", shape=ellipse];\n";
    s += "  n" + std::to_string(g.outputs[k].value) + " -> out" + std::to_string(k) + ";\n";
  }
  return s + "}\n";
}

} // namespace bdl::ir
