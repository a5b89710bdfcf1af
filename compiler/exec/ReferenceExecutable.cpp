#include "compiler/exec/ReferenceExecutable.h"

namespace bdl::exec {

namespace {

class ReferenceExecutable final : public Executable {
public:
  explicit ReferenceExecutable(ir::Graph graph) : graph_(std::move(graph)) {}
  ir::Expected<interp::RunResult> run(const interp::Feeds& feeds) override { return interp::run(graph_, feeds); }
  const ir::Graph& graph() const override { return graph_; }
  Engine engine() const override { return Engine::Reference; }

private:
  ir::Graph graph_;
};

} // namespace

std::unique_ptr<Executable> makeReferenceExecutable(ir::Graph graph) {
  return std::make_unique<ReferenceExecutable>(std::move(graph));
}

} // namespace bdl::exec
