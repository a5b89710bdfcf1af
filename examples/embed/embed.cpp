// Embedding bdl in a C++ program: compile a .bdl file, initialise a model's
// parameters and run it on a batch. Build: the `embed_example` target.
//
//   ./build/embed_example examples/fashion_mlp.bdl MLP
#include <bdl/bdl.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s FILE.bdl MODEL\n", argv[0]);
    return 2;
  }
  bdl::Result<bdl::Program> program = bdl::Program::compileFile(argv[1]);
  if (!program) {
    std::fputs(program.error().rendered.c_str(), stderr);
    return 1;
  }
  bdl::Result<bdl::Model> model = program->model(argv[2]);
  if (!model) {
    std::fputs(model.error().rendered.c_str(), stderr);
    return 1;
  }
  std::printf("%s: %lld parameters\n", argv[2], static_cast<long long>(model->parameterCount()));

  // One input per model argument, with every batch dimension set to 2.
  bdl::TensorMap inputs;
  for (const bdl::InputInfo& in : model->inputs()) {
    bdl::Shape shape;
    for (const std::string& d : in.dims) shape.push_back(d.find_first_not_of("0123456789") == std::string::npos ? std::stoll(d) : 2);
    bdl::Tensor t(in.dtype, shape);
    if (in.dtype == bdl::DType::F32)
      for (size_t i = 0; i < t.span<float>().size(); ++i) t.span<float>()[i] = static_cast<float>(i % 7) / 7.0f;
    inputs[in.name] = t;
  }
  bdl::Result<bdl::TensorMap> outputs = model->forward(inputs, model->initialize(42));
  if (!outputs) {
    std::fprintf(stderr, "error: %s\n", outputs.error().message.c_str());
    return 1;
  }
  for (const auto& [name, tensor] : *outputs) {
    std::printf("%s: %s%s", name.c_str(), std::string(bdl::dtypeName(tensor.dtype())).c_str(),
                bdl::shapeToString(tensor.shape()).c_str());
    if (tensor.dtype() == bdl::DType::F32)
      for (size_t i = 0; i < tensor.span<float>().size() && i < 4; ++i) std::printf(" %.4f", tensor.span<float>()[i]);
    std::printf("\n");
  }
  return 0;
}
