// The embedding API (include/bdl/bdl.h) on top of the compiler: sources →
// checked program → per-model forward and training graphs, run by the
// reference interpreter. Every internal exception stops here and becomes an
// Error, so a host process never sees an abort.
#include "bdl/bdl.h"

#include "compiler/driver/ApiSupport.h"
#include "compiler/exec/SpecializedExecutables.h"
#include "compiler/interp/Interpreter.h"
#include "compiler/ir/Builder.h"
#include "compiler/ir/Initializers.h"
#include "compiler/ir/Specialize.h"
#include "compiler/passes/Autodiff.h"
#include "compiler/sema/AddLoss.h"
#include "compiler/sema/Elaborate.h"
#include "compiler/sema/ModuleLoader.h"

#include <fmt/format.h>
#include <mutex>
#include <optional>
#include <stdexcept>

namespace bdl {

struct Model::Impl {
  std::string name;
  ir::Graph training; // forward graph with training = true
  ir::Graph eval;     // training = false
  exec::EngineOptions engine;
  // The graphs that run ("eval", "grad <loss>"), each compiled once per
  // batch size, so repeated calls (serving) pay for compilation once.
  // The mutex also serialises runs: an executable owns its buffers.
  mutable std::mutex mutex;
  mutable std::map<std::string, exec::SpecializedExecutables> runnable;
};

namespace {

using api::guarded;
using api::simpleError;
using api::userError;

ModuleSearchPaths searchPaths(const CompileOptions& options) {
  ModuleSearchPaths paths = ModuleSearchPaths::fromEnvironment();
  std::vector<std::filesystem::path> dirs(options.modulePaths.begin(), options.modulePaths.end());
  dirs.insert(dirs.end(), paths.userDirs.begin(), paths.userDirs.end());
  paths.userDirs = dirs;
  if (!options.stdlibDir.empty()) paths.stdlibDir = options.stdlibDir;
  return paths;
}

Result<Program> compile(const std::string& path, std::optional<std::string> text, const CompileOptions& options,
                        std::shared_ptr<Program::Impl>& impl) {
  impl = std::make_shared<Program::Impl>();
  impl->options = options;
  DiagnosticEngine diags(impl->sources, options.errorLimit);
  ModuleSearchPaths paths = searchPaths(options);
  bool loaded = text ? loadProgramFromText(path, std::move(*text), paths, impl->sources, diags, impl->program)
                     : loadProgram(path, paths, impl->sources, diags, impl->program);
  if (loaded) sema::checkProgram(impl->program, impl->sources, diags);
  diags.sortBySource();
  if (diags.hasErrors()) return userError(diags, impl->sources, options.color);
  return Error{}; // replaced by the caller
}

// The sizes of symbolic dimensions, read off the fed inputs.
Result<std::map<std::string, int64_t>> bindSizes(const ir::Graph& g, const TensorMap& inputs) {
  std::map<std::string, int64_t> sizes;
  for (ir::ValueId id : g.leaves(ir::OpKind::Input)) {
    const ir::Node& n = g.node(id);
    auto it = inputs.find(n.name);
    if (it == inputs.end()) return simpleError(fmt::format("input '{}' ({}) is missing", n.name, n.type.toString()));
    const Tensor& t = it->second;
    if (t.dtype() != n.type.dtype || t.rank() != n.type.rank())
      return simpleError(fmt::format("input '{}' must be {}, got {}{}", n.name, n.type.toString(), dtypeName(t.dtype()),
                                     shapeToString(t.shape())));
    for (size_t k = 0; k < n.type.dims.size(); ++k) {
      const ir::Dim& d = n.type.dims[k];
      int64_t size = t.shape()[k];
      bool fits = d.isConcrete() ? size == d.value : size % d.value == 0;
      int64_t value = d.isConcrete() ? size : size / d.value;
      if (fits && d.isSymbolic()) {
        auto [bound, inserted] = sizes.emplace(d.symbol, value);
        fits = inserted || bound->second == value;
      }
      if (!fits)
        return simpleError(fmt::format("input '{}' must be {}, got {}{}", n.name, n.type.toString(),
                                       dtypeName(t.dtype()), shapeToString(t.shape())));
    }
  }
  return sizes;
}

// Runs the graph of `kind`, made by `make` on first use; the caller holds m.mutex.
template <typename Make>
Result<interp::RunResult> runGraph(const Model::Impl& m, const std::string& kind, Make&& make,
                                   const TensorMap& inputs, const TensorMap& params) {
  auto it = m.runnable.find(kind);
  if (it == m.runnable.end()) {
    Result<ir::Graph> g = make();
    if (!g) return g.error();
    it = m.runnable.emplace(kind, exec::SpecializedExecutables(std::move(*g), m.engine)).first;
  }
  Result<std::map<std::string, int64_t>> sizes = bindSizes(it->second.graph(), inputs);
  if (!sizes) return sizes.error();
  ir::Expected<exec::Executable*> exe = it->second.get(*sizes);
  if (!exe) return simpleError(exe.error().message);
  interp::Feeds feeds = inputs;
  for (const auto& [name, t] : params) feeds[name] = t;
  ir::Expected<interp::RunResult> r = (*exe)->run(feeds);
  if (!r) return simpleError(r.error().message);
  return std::move(*r);
}

} // namespace

Result<Program> Program::compileFile(const std::string& path, const CompileOptions& options) {
  return guarded<Program>([&]() -> Result<Program> {
    std::shared_ptr<Impl> impl;
    Result<Program> r = compile(path, std::nullopt, options, impl);
    if (!r.error().diagnostics.empty()) return r;
    Program p;
    p.impl_ = impl;
    return p;
  });
}

Result<Program> Program::compileString(const std::string& name, const std::string& source,
                                       const CompileOptions& options) {
  return guarded<Program>([&]() -> Result<Program> {
    std::shared_ptr<Impl> impl;
    Result<Program> r = compile(name, source, options, impl);
    if (!r.error().diagnostics.empty()) return r;
    Program p;
    p.impl_ = impl;
    return p;
  });
}

std::vector<std::string> Program::models() const {
  std::vector<std::string> out;
  if (impl_)
    for (const sema::ModelRef& m : sema::findModels(impl_->program)) out.push_back(m.decl->name.name);
  return out;
}

Result<Model> Program::model(const std::string& name) const {
  return guarded<Model>([&]() -> Result<Model> {
    if (!impl_) return simpleError("the program was not compiled");
    DiagnosticEngine diags(impl_->sources, impl_->options.errorLimit);
    sema::ModelRef ref = sema::findModel(impl_->program, name, diags);
    if (!ref.decl) return userError(diags, impl_->sources, impl_->options.color);
    std::optional<ir::Graph> training = sema::elaborateModel(impl_->program, ref, {true, 0}, impl_->sources, diags);
    std::optional<ir::Graph> eval = sema::elaborateModel(impl_->program, ref, {false, 0}, impl_->sources, diags);
    if (!training || !eval) return userError(diags, impl_->sources, impl_->options.color);
    auto impl = std::make_shared<Model::Impl>();
    impl->name = name;
    impl->training = std::move(*training);
    impl->eval = std::move(*eval);
    std::optional<exec::Engine> engine = exec::engineFromName(impl_->options.engine);
    if (!engine) return simpleError(fmt::format("unknown engine '{}'; use \"jit\" or \"reference\"", impl_->options.engine));
    impl->engine.engine = *engine;
    impl->engine.threads = exec::threadsFor(impl_->options.threads);
    Model m;
    m.impl_ = impl;
    return m;
  });
}

const std::string& Model::name() const { return impl_->name; }

std::vector<InputInfo> Model::inputs() const {
  std::vector<InputInfo> out;
  for (ir::ValueId id : impl_->eval.leaves(ir::OpKind::Input)) {
    const ir::Node& n = impl_->eval.node(id);
    InputInfo info{n.name, n.type.dtype, {}};
    for (const ir::Dim& d : n.type.dims) info.dims.push_back(d.toString());
    out.push_back(std::move(info));
  }
  return out;
}

std::vector<ParameterInfo> Model::parameters() const {
  std::vector<ParameterInfo> out;
  for (ir::OpKind kind : {ir::OpKind::Parameter, ir::OpKind::State}) {
    for (ir::ValueId id : impl_->training.leaves(kind)) {
      const ir::Node& n = impl_->training.node(id);
      if (n.name.rfind("rng:", 0) == 0) continue; // dropout's internal step counter
      Shape shape = *n.type.shape();
      out.push_back({n.name, n.type.dtype, shape, numElements(shape), kind == ir::OpKind::Parameter});
    }
  }
  return out;
}

int64_t Model::parameterCount() const {
  int64_t n = 0;
  for (const ParameterInfo& p : parameters()) n += p.trainable ? p.count : 0;
  return n;
}

TensorMap Model::initialize(uint64_t seed) const {
  TensorMap out;
  for (ir::OpKind kind : {ir::OpKind::Parameter, ir::OpKind::State})
    for (ir::ValueId id : impl_->training.leaves(kind)) {
      const ir::Node& n = impl_->training.node(id);
      out[n.name] = ir::initialValue(n.init, n.type.dtype, *n.type.shape(), seed, n.name);
    }
  return out;
}

Result<TensorMap> Model::forward(const TensorMap& inputs, const TensorMap& params) const {
  return guarded<TensorMap>([&]() -> Result<TensorMap> {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    Result<interp::RunResult> r =
        runGraph(*impl_, "eval", [&]() -> Result<ir::Graph> { return impl_->eval; }, inputs, params);
    if (!r) return r.error();
    return std::move(r->outputs);
  });
}

Result<Model::Gradients> Model::gradients(const TensorMap& inputs, const TensorMap& params,
                                          const std::string& loss) const {
  return guarded<Gradients>([&]() -> Result<Gradients> {
    if (impl_->training.outputs.size() != 1)
      return simpleError(fmt::format("model '{}' has {} outputs; gradients() needs one", impl_->name,
                                     impl_->training.outputs.size()));
    auto makeTraining = [&]() -> Result<ir::Graph> {
      ir::Expected<ir::Graph> withLoss = sema::addLoss(impl_->training, loss);
      if (!withLoss) return simpleError(withLoss.error().message);
      ir::Expected<ir::Graph> g = passes::buildTrainingGraph(*withLoss, "loss");
      if (!g) return simpleError(g.error().message);
      return std::move(*g);
    };
    std::lock_guard<std::mutex> lock(impl_->mutex);
    Result<interp::RunResult> r = runGraph(*impl_, "grad " + loss, makeTraining, inputs, params);
    if (!r) return r.error();
    Gradients g;
    for (auto& [name, t] : r->outputs) {
      if (name == "loss") g.loss = t.dtype() == DType::F64 ? t.data<double>()[0] : t.data<float>()[0];
      else if (name.rfind("grad:", 0) == 0) g.gradients[name.substr(5)] = t;
      else g.outputs[name] = t;
    }
    return g;
  });
}

} // namespace bdl
