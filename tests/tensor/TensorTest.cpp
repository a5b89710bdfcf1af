#include "runtime/tensor/Tensor.h"

#include <gtest/gtest.h>

#include <cstdint>

using namespace bdl;

TEST(Tensor, ZeroFilledAndAligned) {
  Tensor t(DType::F32, {3, 5});
  EXPECT_EQ(t.numel(), 15);
  EXPECT_EQ(t.bytes(), 60u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.rawData()) % 64, 0u);
  for (float v : t.span<float>()) EXPECT_EQ(v, 0.0f);
}

TEST(Tensor, ReshapeSharesStorageCloneDoesNot) {
  Tensor t(DType::I64, {2, 3});
  Tensor view = t.reshaped({6});
  view.data<int64_t>()[4] = 7;
  EXPECT_EQ(t.data<int64_t>()[4], 7);
  Tensor copy = t.clone();
  copy.data<int64_t>()[4] = 9;
  EXPECT_EQ(t.data<int64_t>()[4], 7);
  EXPECT_THROW(t.reshaped({4}), std::invalid_argument);
}

TEST(Tensor, EmptyAndScalarShapes) {
  Tensor empty(DType::F64, {0, 4});
  EXPECT_EQ(empty.numel(), 0);
  Tensor scalar(DType::Bool, {});
  EXPECT_EQ(scalar.numel(), 1);
  EXPECT_EQ(shapeToString({2, 3}), "[2, 3]");
  EXPECT_EQ(dtypeFromName("i32"), DType::I32);
  EXPECT_FALSE(dtypeFromName("f16").has_value());
}

TEST(Tensor, ViewSharesStorageAtAnOffset) {
  Tensor flat(DType::F32, {10});
  for (int i = 0; i < 10; ++i) flat.data<float>()[i] = static_cast<float>(i);
  Tensor v = flat.view(4, {2, 3});
  EXPECT_EQ(v.shape(), (Shape{2, 3}));
  EXPECT_EQ(v.data<float>()[0], 4.0f);
  EXPECT_EQ(v.data<float>()[5], 9.0f);
  v.data<float>()[1] = -1.0f;
  EXPECT_EQ(flat.data<float>()[5], -1.0f);
  Tensor inner = v.view(3, {3});
  EXPECT_EQ(inner.data<float>()[0], 7.0f);
  EXPECT_THROW(flat.view(8, {3}), std::invalid_argument);
  EXPECT_THROW(flat.view(-1, {1}), std::invalid_argument);
}
