#include "compiler/ir/Graph.h"

#include <cstdio>

namespace bdl::ir {

static std::string formatNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string Initializer::toString() const {
  switch (kind) {
  case InitKind::Zeros: return "zeros()";
  case InitKind::Ones: return "ones()";
  case InitKind::Constant: return "constant(" + formatNumber(a) + ")";
  case InitKind::Uniform: return "uniform(" + formatNumber(a) + ", " + formatNumber(b) + ")";
  case InitKind::Normal: return "normal(" + formatNumber(a) + ", " + formatNumber(b) + ")";
  case InitKind::GlorotUniform: return "glorot_uniform()";
  case InitKind::GlorotNormal: return "glorot_normal()";
  case InitKind::HeUniform: return "he_uniform()";
  case InitKind::HeNormal: return "he_normal()";
  }
  return "?";
}

std::optional<ValueId> Graph::findOutput(std::string_view name) const {
  for (const GraphOutput& o : outputs)
    if (o.name == name) return o.value;
  return std::nullopt;
}

std::optional<ValueId> Graph::findLeaf(OpKind op, std::string_view name) const {
  for (ValueId i = 0; i < nodes.size(); ++i)
    if (nodes[i].op == op && nodes[i].name == name) return i;
  return std::nullopt;
}

std::vector<ValueId> Graph::leaves(OpKind op) const {
  std::vector<ValueId> out;
  for (ValueId i = 0; i < nodes.size(); ++i)
    if (nodes[i].op == op) out.push_back(i);
  return out;
}

} // namespace bdl::ir
