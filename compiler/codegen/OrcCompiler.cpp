#include "compiler/codegen/OrcCompiler.h"

#include <llvm/AsmParser/Parser.h>
#include <llvm/Config/llvm-config.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/SourceMgr.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>

#include <mutex>

namespace bdl::codegen {

namespace {

void initializeLlvm() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
  });
}

std::string message(llvm::Error e) { return llvm::toString(std::move(e)); }

ir::Expected<llvm::orc::JITTargetMachineBuilder> hostBuilder() {
  initializeLlvm();
  auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!jtmb) return ir::makeError("LLVM: cannot describe the host: " + message(jtmb.takeError()));
  jtmb->setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  return std::move(*jtmb);
}

} // namespace

HostTarget hostTarget() {
  HostTarget t;
  t.llvmVersion = LLVM_VERSION_STRING;
  auto jtmb = hostBuilder();
  if (!jtmb) return t;
  t.triple = jtmb->getTargetTriple().str();
  t.cpu = jtmb->getCPU();
  t.features = jtmb->getFeatures().getString();
  return t;
}

ir::Expected<std::string> compileToObject(const std::string& irText, std::string* optimizedIr) {
  auto jtmb = hostBuilder();
  if (!jtmb) return jtmb.error();
  auto tm = jtmb->createTargetMachine();
  if (!tm) return ir::makeError("LLVM: no target machine: " + message(tm.takeError()));
  llvm::LLVMContext ctx;
  llvm::SMDiagnostic diag;
  std::unique_ptr<llvm::Module> mod = llvm::parseAssemblyString(irText, diag, ctx);
  if (!mod) {
    std::string s;
    llvm::raw_string_ostream os(s);
    diag.print("jit", os);
    return ir::makeError("internal error: generated LLVM IR does not parse: " + os.str());
  }
  mod->setDataLayout((*tm)->createDataLayout());
  mod->setTargetTriple((*tm)->getTargetTriple().str());
  {
    std::string s;
    llvm::raw_string_ostream os(s);
    if (llvm::verifyModule(*mod, &os)) return ir::makeError("internal error: generated LLVM IR is invalid: " + os.str());
  }
  // Per-function target attributes, so the vectoriser sees the host's widths.
  for (llvm::Function& f : *mod) {
    if (f.isDeclaration()) continue;
    f.addFnAttr("target-cpu", (*tm)->getTargetCPU());
    f.addFnAttr("target-features", (*tm)->getTargetFeatureString());
  }
  {
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PassBuilder pb(tm->get());
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
    mpm.run(*mod, mam);
  }
  if (optimizedIr) {
    llvm::raw_string_ostream os(*optimizedIr);
    mod->print(os, nullptr);
  }
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream out(buffer);
  llvm::legacy::PassManager pm;
  if ((*tm)->addPassesToEmitFile(pm, out, nullptr, llvm::CodeGenFileType::ObjectFile))
    return ir::makeError("LLVM: the host target cannot emit object files");
  pm.run(*mod);
  return std::string(buffer.begin(), buffer.end());
}

struct JitSession::Impl {
  std::unique_ptr<llvm::orc::LLJIT> jit;
};

JitSession::~JitSession() = default;

ir::Expected<std::unique_ptr<JitSession>> JitSession::create() {
  auto jtmb = hostBuilder();
  if (!jtmb) return jtmb.error();
  auto jit = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(std::move(*jtmb)).create();
  if (!jit) return ir::makeError("LLVM: cannot create the JIT: " + message(jit.takeError()));
  // Kernels call libm (tanhf, erff, ...): resolve from this process.
  auto gen = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      (*jit)->getDataLayout().getGlobalPrefix());
  if (!gen) return ir::makeError("LLVM: " + message(gen.takeError()));
  (*jit)->getMainJITDylib().addGenerator(std::move(*gen));
  std::unique_ptr<JitSession> s(new JitSession());
  s->impl_ = std::make_unique<Impl>();
  s->impl_->jit = std::move(*jit);
  return s;
}

std::optional<ir::Error> JitSession::addObject(const std::string& object) {
  auto buf = llvm::MemoryBuffer::getMemBufferCopy(object, "bdl-kernels");
  if (auto e = impl_->jit->addObjectFile(std::move(buf)))
    return ir::makeError("LLVM: cannot link the kernels: " + message(std::move(e)));
  return std::nullopt;
}

ir::Expected<KernelFn> JitSession::lookup(const std::string& name) {
  auto sym = impl_->jit->lookup(name);
  if (!sym) return ir::makeError("LLVM: no kernel " + name + ": " + message(sym.takeError()));
  return sym->toPtr<KernelFn>();
}

} // namespace bdl::codegen
