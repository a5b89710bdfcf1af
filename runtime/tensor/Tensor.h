// Tensors are part of the public API: see include/bdl/Tensor.h.
#pragma once
#include "bdl/Tensor.h"
