// Direct convolution kernels on the plan's own NCHW / OIHW layout (stride 1,
// dilation 1, one group): candidates next to oneDNN's implementations
// (DnnlConv.cpp times them all) for convolutions with few channels, where
// oneDNN's blocked kernels pad the channels to 16 and need reorders of the
// activations from and to NCHW that cost as much as the convolution
// (LeNet-5's first layer, and the input gradient of its second).
#pragma once

#include <cstdint>

namespace bdl::codegen {

struct DirectConvShape {
  int64_t n, c, h, w;  // x
  int64_t o, kh, kw;   // w: [o, c, kh, kw]
  int64_t oh, ow;      // y: [n, o, oh, ow]
  int64_t ph, pw;      // top / left padding (the rest is implied by oh, ow)
};

// The largest kernel width the weight-gradient kernel takes.
constexpr int64_t kDirectConvMaxKw = 7;

// y = conv(x, w), over `threads` threads (split by images).
void directConvForward(const DirectConvShape& s, const float* x, const float* w, float* y, int threads);

// dx = the gradient of conv(x, w) with respect to x, given dy.
void directConvGradInput(const DirectConvShape& s, const float* dy, const float* w, float* dx, int threads);

// dw = sum over images and positions of dy * x (the weight gradient), over
// `threads` threads; the per-thread partial sums are added in thread order,
// so the result depends only on the thread count. Needs kw <= kDirectConvMaxKw.
void directConvGradWeight(const DirectConvShape& s, const float* x, const float* dy, float* dw, int threads);

} // namespace bdl::codegen
