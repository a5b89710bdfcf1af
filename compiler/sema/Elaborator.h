// The elaborator's internals, shared by Elaborator.cpp (definitions, calls,
// statements), Expressions.cpp (operators, names, literals) and Builtins.cpp
// (the built-in operations of LANGUAGE.md section 4).
#pragma once

#include "compiler/ir/Builder.h"
#include "compiler/sema/Elaborate.h"
#include "compiler/sema/Job.h"
#include "compiler/sema/Value.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace bdl::sema {

// Thrown after a diagnostic is reported, to abandon the current model.
struct ElaborationStopped {};

// One argument as written at a call site.
struct CallArg {
  std::optional<std::string> name;
  SourceRange nameRange; // the name if given, else the value
  Value value;
  SourceRange range;
};

class Elaborator {
public:
  Elaborator(const LoadedProgram& program, const SourceManager& sources, DiagnosticEngine& diags,
             ElaborateOptions options);
  std::optional<ir::Graph> model(ModelRef ref);
  // Lambdas hold their scope and scopes hold lambdas: the cycles are broken
  // here, when elaboration ends.
  ~Elaborator();

  // ---- train jobs and pipelines (Jobs.cpp, Pipelines.cpp) ----
  std::optional<JobSpec> job(const ast::TrainDecl& decl, size_t module);
  std::optional<PipelineSpec> pipelineWithDefaults(const ast::PipelineDecl& decl, size_t module);
  std::optional<ir::Graph> pipelineFunction(const PipelineStep& step, const std::vector<FieldType>& fields);
  std::optional<ir::Graph> jobGraph(const JobSpec& job, const std::vector<FieldType>& fields, JobGraphKind kind);

  // ---- used by the expression and builtin files ----
  struct Frame {
    size_t module = 0;
    std::string prefix; // instance path of this call, "" for the model itself
    std::shared_ptr<Scope> scope;
    std::map<std::string, SourceRange> instances; // instance names taken in this body
    std::vector<int64_t> loopIndices;
    std::string target; // the name being bound by the current statement
    const ast::DefDecl* def = nullptr;
    SourceRange callSite;
    SourceRange returnAt;                  // the `return` that ended the body
    std::vector<SourceRange> returnRanges; // one per returned value
    bool jobTop = false; // the body of a train job: model calls keep the model's own names
  };

  Value eval(const ast::Expr& e, bool wholeValueOfBinding = false);
  Value callValue(const Value& callee, std::vector<CallArg> args, SourceRange range, bool wholeValueOfBinding);
  Value callBuiltin(const std::string& name, std::vector<CallArg> args, SourceRange range);
  Value binary(ast::BinaryOp op, const Value& lhs, const Value& rhs, SourceRange range, SourceRange opRange);

  // A tensor from a value: tensors as they are, numbers as scalar constants
  // of `like`'s dtype (f32 when there is none).
  ir::ValueId asTensor(const Value& v, SourceRange range, std::optional<DType> like = std::nullopt);
  int64_t asInt(const Value& v, SourceRange range, const char* what);
  double asNumber(const Value& v, SourceRange range, const char* what);
  bool asBool(const Value& v, SourceRange range, const char* what);
  std::vector<int64_t> asIntList(const Value& v, SourceRange range, const char* what); // an int or a list of ints
  const ir::TensorType& typeOf(ir::ValueId id) const { return builder_.type(id); }

  // Reports an error at `range` with the call-stack notes, then stops.
  [[noreturn]] void fail(SourceRange range, std::string message, std::string hint = {},
                         std::vector<DiagnosticNote> notes = {});
  // Turns a shape-rule error into a diagnostic, with a note on where the
  // mismatching dimension came from.
  // `names` say what the IR calls operand 0, 1, ... in the user's terms
  // ("the left operand", "'logits'").
  // `matmul` pairs the inner dimensions of a matrix product instead of
  // broadcasting's dimensions counted from the right.
  [[noreturn]] void failShape(const ir::Error& error, SourceRange range, const std::vector<Value>& operands,
                              const std::vector<std::string>& names, bool matmul = false);
  ir::ValueId check(ir::Expected<ir::ValueId> result, SourceRange range, const std::vector<Value>& operands,
                    const std::vector<std::string>& names = {}, bool matmul = false);
  void at(SourceRange range); // stamps the location on nodes built next

  ir::GraphBuilder& builder() { return builder_; }
  Frame& frame() { return frames_.back(); }
  const ElaborateOptions& options() const { return options_; }
  uint64_t nextDropoutSeed();

private:
  std::vector<Value> callDef(const Value& fn, std::vector<CallArg> args, SourceRange range, bool wholeValueOfBinding);
  Value callLambda(const Value& fn, std::vector<CallArg> args, SourceRange range);
  std::shared_ptr<Scope> newScope();
  std::vector<Value> runBody(const ast::Block& body);
  bool runStatements(const ast::Block& body, std::vector<Value>& returned);
  void statement(const ast::Stmt& s, std::vector<Value>& returned, bool& done);
  void declareVar(const ast::VarDecl& v, bool isParam);
  ir::Initializer initializer(const ast::Expr& e);
  // Binds an argument or result to its declared type, binding new dimension
  // symbols in the current scope.
  Value bindTyped(const ast::TypeExpr& type, const Value& value, SourceRange valueRange, const std::string& what);
  // Checks returned values against declared result types, at the `return`.
  std::vector<Value> checkResults(const ast::DefDecl& def, std::vector<Value> results, const std::string& what);
  ir::Dims concreteDims(const ast::TypeExpr& type, std::vector<std::optional<DimOrigin>>& origins);
  std::string instanceName(SourceRange range);
  Value lookup(const std::string& name, SourceRange range);

  // Job and pipeline helpers (Jobs.cpp, Pipelines.cpp).
  ClauseValue clauseValue(const ast::Expr& e);
  std::vector<ClauseArg> clauseArgs(const ast::Call& call, const ast::Expr* skip = nullptr);
  Value valueOfClause(const ClauseValue& c);
  void pipelineSteps(const ast::Expr& e, PipelineSpec& out, int depth);
  void enterPipeline(const ast::PipelineDecl& decl, size_t module, const std::vector<ClauseArg>& args,
                     SourceRange callRange);
  PipelineSpec pipelineValue(const ast::Expr& e, const std::string& name);
  ir::Graph finishGraph();

  const LoadedProgram& program_;
  const SourceManager& sources_;
  DiagnosticEngine& diags_;
  ElaborateOptions options_;
  ir::GraphBuilder builder_;
  std::vector<Frame> frames_;
  std::map<FileId, uint32_t> fileIds_;
  std::map<std::string, SourceRange> fullNames_; // parameter and state names taken
  std::map<ir::ValueId, SourceRange> leafDecls_;  // where each param/state was declared
  uint64_t dropoutCount_ = 0;
  std::vector<std::shared_ptr<Scope>> scopes_;    // every scope made, see ~Elaborator
  int64_t unrolled_ = 0;                          // loop iterations unrolled so far
  std::map<ir::ValueId, SourceRange> updatedAt_;  // each state's `<-`
  int depth_ = 0;

  // Each module's top-level names (defs and imports), built on first use.
  std::map<size_t, std::map<std::string, Value>> globals_;

  friend Value lookupGlobal(Elaborator&, size_t module, const std::string& name);
};

// Names of the built-in operations and values, for lookups and "did you mean".
bool isBuiltinFunction(const std::string& name);
std::vector<std::string> builtinNames();
// The closest of `candidates` to `name` by edit distance, or "".
std::string closestName(const std::string& name, const std::vector<std::string>& candidates);

} // namespace bdl::sema
