#include "compiler/exec/SpecializedExecutables.h"

#include "compiler/ir/Specialize.h"

namespace bdl::exec {

ir::Expected<Executable*> SpecializedExecutables::get(const std::map<std::string, int64_t>& sizes) {
  auto it = compiled_.find(sizes);
  if (it != compiled_.end()) return it->second.get();
  ir::Expected<ir::Graph> concrete = ir::specialize(graph_, sizes);
  if (!concrete) return concrete.error();
  ir::Expected<std::unique_ptr<Executable>> exe = compile(std::move(*concrete), options_);
  if (!exe) return exe.error();
  return compiled_.emplace(sizes, std::move(*exe)).first->second.get();
}

} // namespace bdl::exec
