#include "compiler/sema/AddLoss.h"

#include "compiler/ir/Builder.h"

namespace bdl::sema {

ir::Expected<ir::Graph> addLoss(ir::Graph forward, const std::string& loss) {
  if (forward.outputs.size() != 1)
    return ir::makeError("the model has " + std::to_string(forward.outputs.size()) + " outputs; a loss needs exactly one");
  ir::ValueId out = forward.outputs[0].value;
  ir::GraphBuilder b(std::move(forward));
  const ir::TensorType type = b.type(out);
  ir::Expected<ir::ValueId> value = ir::makeError("unknown loss '" + loss + "'; use cross_entropy, mse or output");
  if (loss == "cross_entropy") {
    ir::Dims batch(type.dims.begin(), type.dims.end() - (type.rank() > 0 ? 1 : 0));
    ir::Expected<ir::ValueId> labels = b.input("labels", {DType::I64, batch});
    if (!labels) return labels.error();
    value = b.crossEntropy(out, *labels);
  } else if (loss == "mse") {
    ir::Expected<ir::ValueId> target = b.input("target", type);
    if (!target) return target.error();
    value = b.mse(out, *target);
  } else if (loss == "output") {
    value = out;
  }
  if (!value) return value.error();
  if (ir::Expected<ir::ValueId> named = b.output("loss", *value); !named) return named.error();
  return b.finish();
}

} // namespace bdl::sema
