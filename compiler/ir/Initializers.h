// Initial values of parameters and states. A value depends only on (seed,
// full name, shape, initializer): the stream key hashes the name (FNV-1a)
// with the seed and the shape, and element i takes the i-th counter-based
// draw, so adding a layer never changes the other layers' values.
//
// Fans: rank 1 [n]: fan_in = fan_out = n. Rank 2 [in, out] (BDL's `x @ W`
// layout, as Keras): fan_in = in, fan_out = out. Rank >= 3 (conv OIHW, as
// PyTorch): fan_in = I * prod(kernel), fan_out = O * prod(kernel).
// glorot_uniform: U(+-sqrt(6 / (fan_in + fan_out))); glorot_normal: N(0,
// 2 / (fan_in + fan_out)); he_uniform: U(+-sqrt(6 / fan_in)); he_normal:
// N(0, 2 / fan_in) (PyTorch's kaiming_* with a = 0, mode fan_in).
#pragma once

#include "compiler/ir/Graph.h"

#include <cstdint>
#include <string_view>

namespace bdl::ir {

struct Fans {
  double in = 1, out = 1;
};
Fans fansOf(const Shape& shape);

Tensor initialValue(const Initializer& init, DType dtype, const Shape& shape, uint64_t seed,
                    std::string_view fullName);

} // namespace bdl::ir
