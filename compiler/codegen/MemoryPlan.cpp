#include "compiler/codegen/MemoryPlan.h"

#include <algorithm>
#include <map>
#include <sstream>

namespace bdl::codegen {

using namespace bdl::ir;

namespace {

constexpr size_t kAlign = 64;

size_t aligned(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

ValueId rootOf(const Program& p, ValueId v) {
  while (p.homes[v].kind == Home::Alias) v = p.homes[v].aliasOf;
  return v;
}

// First-fit over the gaps between live blocks.
class Arena {
public:
  size_t allocate(size_t bytes) {
    size_t at = 0;
    for (const auto& [off, size] : live_) {
      if (off >= at + bytes) break;
      at = std::max(at, off + size);
    }
    live_.emplace(at, bytes);
    peak_ = std::max(peak_, at + bytes);
    return at;
  }
  void release(size_t offset) { live_.erase(offset); }
  size_t peak() const { return peak_; }

private:
  std::multimap<size_t, size_t> live_; // offset -> bytes
  size_t peak_ = 0;
};

} // namespace

void planMemory(const Graph& g, Program& p) {
  const size_t end = p.steps.size();
  std::vector<size_t> lastUse(g.size(), 0);
  std::vector<bool> isArena(g.size(), false);
  for (ValueId v = 0; v < g.size(); ++v) isArena[v] = p.homes[v].kind == Home::Arena;
  for (size_t s = 0; s < p.steps.size(); ++s) {
    for (ValueId v : p.steps[s].outputs) lastUse[rootOf(p, v)] = std::max(lastUse[rootOf(p, v)], s);
    for (ValueId v : p.steps[s].inputs) lastUse[rootOf(p, v)] = std::max(lastUse[rootOf(p, v)], s);
  }
  for (const GraphOutput& o : g.outputs) lastUse[rootOf(p, o.value)] = end;
  for (ValueId v = 0; v < g.size(); ++v)
    if (g.node(v).op == OpKind::StateUpdate) lastUse[rootOf(p, v)] = end;

  Arena arena;
  std::vector<bool> placed(g.size(), false);
  auto releaseDying = [&](const Step& st, size_t s) {
    for (ValueId in : st.inputs) {
      ValueId r = rootOf(p, in);
      if (!isArena[r] || !placed[r] || lastUse[r] != s) continue;
      arena.release(p.homes[r].offset);
      placed[r] = false;
      lastUse[r] = end + 1; // released once
    }
  };
  // The input whose block step s's one output can take over: it dies here,
  // has the output's bytes, and every value of the step that reads its
  // block reads it element for element (an in-place input), so no element
  // is read after the output's element at the same place is written.
  auto takeOver = [&](const Step& st, size_t s) -> std::optional<ValueId> {
    if (st.outputs.size() != 1 || !isArena[st.outputs[0]] || placed[st.outputs[0]]) return std::nullopt;
    for (ValueId in : st.inPlaceInputs) {
      ValueId r = rootOf(p, in);
      if (!isArena[r] || !placed[r] || lastUse[r] != s || p.homes[r].bytes != p.homes[st.outputs[0]].bytes) continue;
      bool onlyElementwise = std::all_of(st.inputs.begin(), st.inputs.end(), [&](ValueId x) {
        return rootOf(p, x) != r ||
               std::find(st.inPlaceInputs.begin(), st.inPlaceInputs.end(), x) != st.inPlaceInputs.end();
      });
      if (onlyElementwise) return in;
    }
    return std::nullopt;
  };
  for (size_t s = 0; s < p.steps.size(); ++s) {
    Step& st = p.steps[s];
    st.writesOver.reset();
    if (std::optional<ValueId> in = takeOver(st, s)) {
      // The output keeps the block where it is; the input no longer owns it.
      ValueId r = rootOf(p, *in), out = st.outputs[0];
      p.homes[out].offset = p.homes[r].offset;
      placed[out] = true;
      placed[r] = false;
      lastUse[r] = end + 1;
      st.writesOver = *in;
    }
    for (ValueId v : st.outputs) {
      if (!isArena[v] || placed[v]) continue;
      p.homes[v].offset = arena.allocate(aligned(std::max<size_t>(p.homes[v].bytes, 1)));
      placed[v] = true;
    }
    releaseDying(st, s);
    // Written but never read: free right away.
    for (ValueId v : st.outputs)
      if (isArena[v] && placed[v] && lastUse[v] == s) {
        arena.release(p.homes[v].offset);
        placed[v] = false;
      }
  }
  p.arenaBytes = arena.peak();
}

std::string describePlan(const Graph& g, const Program& p) {
  std::ostringstream os;
  os << "plan: " << p.steps.size() << " steps, arena " << p.arenaBytes << " bytes peak\n";
  auto where = [&](ValueId v) {
    const ValueHome& h = p.homes[v];
    std::ostringstream w;
    w << "%" << v;
    switch (h.kind) {
    case Home::Arena: w << "@" << h.offset << "+" << h.bytes; break;
    case Home::Feed: w << "(" << g.node(v).name << ")"; break;
    case Home::Constant: w << "(const)"; break;
    case Home::Alias: w << "=%" << h.aliasOf; break;
    case Home::None: w << "(fused)"; break;
    }
    return w.str();
  };
  for (size_t s = 0; s < p.steps.size(); ++s) {
    const Step& st = p.steps[s];
    os << "  " << s << ": " << st.label << "  ";
    for (size_t i = 0; i < st.outputs.size(); ++i) os << (i ? ", " : "") << where(st.outputs[i]);
    os << " <- ";
    for (size_t i = 0; i < st.inputs.size(); ++i) os << (i ? ", " : "") << where(st.inputs[i]);
    if (st.writesOver) os << "  (in place over %" << *st.writesOver << ")";
    os << "\n";
  }
  return os.str();
}

} // namespace bdl::codegen
