// The text of `bdlc dump --stage=fused|llvm|plan`.
#include "compiler/codegen/Jit.h"
#include "compiler/codegen/Lowering.h"
#include "compiler/codegen/MemoryPlan.h"
#include "compiler/codegen/OrcCompiler.h"
#include "compiler/ir/Printer.h"

#include <sstream>

namespace bdl::codegen {

using namespace bdl::ir;

std::string dumpFused(const Graph& g, bool fusion) {
  Fusion f = fuseElementwise(g, fusion);
  std::ostringstream os;
  os << f.groups.size() << " fused groups\n";
  for (size_t i = 0; i < f.groups.size(); ++i) {
    os << "g" << i << ": nodes";
    for (ValueId m : f.groups[i].members) os << " %" << m;
    os << "\n" << canonicalText(g, f.groups[i]);
  }
  return os.str();
}

Expected<std::string> dumpLlvm(const Graph& g, bool optimized, bool fusion) {
  // The module as lowering builds it: which groups store in place depends
  // on the memory plan.
  LoweringOptions lo;
  lo.fusion = fusion;
  lo.timeConvolutions = false; // the choice does not change the module
  lo.emitOnly = true;
  std::string text;
  try {
    auto p = lower(g, lo);
    if (!p) return p.error();
    text = p->llvmIr;
  } catch (const InternalError& e) {
    return makeError(std::string("internal error: ") + e.what());
  }
  if (!optimized) return text;
  std::string out;
  auto obj = compileToObject(text, &out);
  if (!obj) return obj.error();
  return out;
}

Expected<std::string> dumpPlan(const Graph& g, bool fusion) {
  LoweringOptions lo;
  lo.fusion = fusion;
  try {
    auto p = lower(g, lo);
    if (!p) return p.error();
    return describePlan(g, *p);
  } catch (const InternalError& e) {
    return makeError(std::string("internal error: ") + e.what());
  }
}

} // namespace bdl::codegen
