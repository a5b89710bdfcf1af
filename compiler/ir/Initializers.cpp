#include "compiler/ir/Initializers.h"

#include "compiler/ir/Random.h"
#include "compiler/ir/ops/Common.h"

#include <cmath>

namespace bdl::ir {

Fans fansOf(const Shape& shape) {
  if (shape.empty()) return {1, 1};
  if (shape.size() == 1) return {double(shape[0]), double(shape[0])};
  if (shape.size() == 2) return {double(shape[0]), double(shape[1])};
  double receptive = 1;
  for (size_t i = 2; i < shape.size(); ++i) receptive *= double(shape[i]);
  return {double(shape[1]) * receptive, double(shape[0]) * receptive};
}

static uint64_t streamKey(uint64_t seed, std::string_view name, const Shape& shape) {
  uint64_t key = mix64(seed ^ mix64(fnv1a64(name)));
  for (int64_t d : shape) key = mix64(key ^ static_cast<uint64_t>(d));
  return key;
}

Tensor initialValue(const Initializer& init, DType dtype, const Shape& shape, uint64_t seed,
                    std::string_view fullName) {
  const size_t n = static_cast<size_t>(numElements(shape));
  const uint64_t key = streamKey(seed, fullName, shape);
  const Fans f = fansOf(shape);
  std::vector<double> v(n, 0.0);
  auto uniform = [&](double lo, double hi) {
    for (size_t i = 0; i < n; ++i) v[i] = lo + (hi - lo) * randomUniform(key, i);
  };
  auto normal = [&](double mean, double std) {
    // Box-Muller on the draws 2i and 2i+1; 1 - u keeps the log finite.
    for (size_t i = 0; i < n; ++i) {
      double u1 = 1.0 - randomUniform(key, 2 * i), u2 = randomUniform(key, 2 * i + 1);
      v[i] = mean + std * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
    }
  };
  switch (init.kind) {
  case InitKind::Zeros: break;
  case InitKind::Ones: std::fill(v.begin(), v.end(), 1.0); break;
  case InitKind::Constant: std::fill(v.begin(), v.end(), init.a); break;
  case InitKind::Uniform: uniform(init.a, init.b); break;
  case InitKind::Normal: normal(init.a, init.b); break;
  case InitKind::GlorotUniform: {
    double bound = std::sqrt(6.0 / (f.in + f.out));
    uniform(-bound, bound);
    break;
  }
  case InitKind::GlorotNormal: normal(0.0, std::sqrt(2.0 / (f.in + f.out))); break;
  case InitKind::HeUniform: {
    double bound = std::sqrt(6.0 / f.in);
    uniform(-bound, bound);
    break;
  }
  case InitKind::HeNormal: normal(0.0, std::sqrt(2.0 / f.in)); break;
  }
  return ops::fromDoubles(dtype, shape, v);
}

} // namespace bdl::ir
