// The element types are part of the public API: see include/bdl/DType.h.
#pragma once
#include "bdl/DType.h"
