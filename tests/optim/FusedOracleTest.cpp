// The fused, vectorised loops against a plain oracle that transcribes torch
// 1.13's _single_tensor_* functions op by op, one whole-vector pass per torch
// op. Same float operations with the same roundings, so results must be
// bit-identical, at large odd sizes (vector body and tail) and at 0 and 1.
#include "runtime/optim/OptimizerFactory.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace bdl::optim {
namespace {

using Vec = std::vector<float>;
float f(double v) { return static_cast<float>(v); }

// torch ops on float32 tensors with Python-number arguments.
// ATen's add with alpha is a fused multiply-add; its a + s*u*v in addcmul is
// contracted by the compiler into fma(s * u, v, a).
Vec add(const Vec& a, const Vec& b, float alpha) { // a.add(b, alpha=alpha)
  Vec r(a.size());
  for (size_t i = 0; i < a.size(); ++i) r[i] = std::fma(alpha, b[i], a[i]);
  return r;
}
Vec mul(const Vec& a, float s) {
  Vec r(a.size());
  for (size_t i = 0; i < a.size(); ++i) r[i] = a[i] * s;
  return r;
}
Vec addcmul(const Vec& a, const Vec& t1, const Vec& t2, float value) {
  Vec r(a.size());
  for (size_t i = 0; i < a.size(); ++i) r[i] = std::fma(value * t1[i], t2[i], a[i]);
  return r;
}
Vec addcdiv(const Vec& a, const Vec& t1, const Vec& t2, float value) {
  Vec r(a.size());
  for (size_t i = 0; i < a.size(); ++i) r[i] = a[i] + value * t1[i] / t2[i];
  return r;
}
Vec sqrtOf(const Vec& a) {
  Vec r(a.size());
  for (size_t i = 0; i < a.size(); ++i) r[i] = std::sqrt(a[i]);
  return r;
}
Vec addScalar(const Vec& a, float s) {
  Vec r(a.size());
  for (size_t i = 0; i < a.size(); ++i) r[i] = a[i] + s;
  return r;
}
Vec divScalar(const Vec& a, float s) {
  Vec r(a.size());
  for (size_t i = 0; i < a.size(); ++i) r[i] = a[i] / s;
  return r;
}
Vec maximum(const Vec& a, const Vec& b) {
  Vec r(a.size());
  for (size_t i = 0; i < a.size(); ++i) r[i] = std::max(a[i], b[i]);
  return r;
}

struct OracleState {
  int64_t step = 0;
  Vec a, b, c; // the kind's buffers in stateBufferNames() order
};

void oracleStep(const OptimizerConfig& k, Vec& p, Vec grad, double lr, OracleState& st) {
  st.step += 1;
  const double t = static_cast<double>(st.step);
  if (k.maximize) grad = mul(grad, -1.0f);
  switch (k.kind) {
  case OptimizerKind::Sgd: {
    Vec d = k.weightDecay != 0 ? add(grad, p, f(k.weightDecay)) : grad;
    if (k.momentum != 0) {
      if (st.step == 1) st.a = d;
      else st.a = add(mul(st.a, f(k.momentum)), d, f(1 - k.dampening));
      d = k.nesterov ? add(d, st.a, f(k.momentum)) : st.a;
    }
    p = add(p, d, f(-lr));
    break;
  }
  case OptimizerKind::Adam:
  case OptimizerKind::AdamW: {
    if (k.kind == OptimizerKind::AdamW) p = mul(p, f(1 - lr * k.weightDecay));
    else if (k.weightDecay != 0) grad = add(grad, p, f(k.weightDecay));
    st.a = add(mul(st.a, f(k.beta1)), grad, f(1 - k.beta1));
    st.b = addcmul(mul(st.b, f(k.beta2)), grad, grad, f(1 - k.beta2));
    const double bc1 = 1 - std::pow(k.beta1, t), bc2 = 1 - std::pow(k.beta2, t);
    Vec denom;
    if (k.amsgrad) {
      st.c = maximum(st.c, st.b);
      denom = addScalar(divScalar(sqrtOf(st.c), f(std::sqrt(bc2))), f(k.eps));
    } else {
      denom = addScalar(divScalar(sqrtOf(st.b), f(std::sqrt(bc2))), f(k.eps));
    }
    p = addcdiv(p, st.a, denom, f(-(lr / bc1)));
    break;
  }
  case OptimizerKind::Adagrad: {
    if (k.weightDecay != 0) grad = add(grad, p, f(k.weightDecay));
    const double clr = lr / (1 + (t - 1) * k.lrDecay);
    st.a = addcmul(st.a, grad, grad, 1.0f);
    p = addcdiv(p, grad, addScalar(sqrtOf(st.a), f(k.eps)), f(-clr));
    break;
  }
  case OptimizerKind::RmsProp: {
    if (k.weightDecay != 0) grad = add(grad, p, f(k.weightDecay));
    st.a = addcmul(mul(st.a, f(k.alpha)), grad, grad, f(1 - k.alpha));
    Vec& gradAvg = k.momentum > 0 ? st.c : st.b;
    Vec avg;
    if (k.centered) {
      gradAvg = add(mul(gradAvg, f(k.alpha)), grad, f(1 - k.alpha));
      avg = sqrtOf(addcmul(st.a, gradAvg, gradAvg, -1.0f));
    } else {
      avg = sqrtOf(st.a);
    }
    avg = addScalar(avg, f(k.eps));
    if (k.momentum > 0) {
      st.b = addcdiv(mul(st.b, f(k.momentum)), grad, avg, 1.0f);
      p = add(p, st.b, f(-lr));
    } else {
      p = addcdiv(p, grad, avg, f(-lr));
    }
    break;
  }
  }
}

Vec randomVec(std::mt19937& rng, size_t n, float scale) {
  std::normal_distribution<float> dist(0.0f, scale);
  Vec v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

TEST(FusedOracle, BitIdenticalToOpByOpTorchTranscription) {
  const std::vector<std::pair<std::string, std::vector<NamedArg>>> configs = {
      {"sgd", {{"lr", 0.1}, {"weight_decay", 0.01}}},
      {"sgd", {{"lr", 0.1}, {"momentum", 0.9}, {"dampening", 0.2}, {"maximize", true}}},
      {"sgd", {{"lr", 0.1}, {"momentum", 0.9}, {"nesterov", true}, {"weight_decay", 0.01}}},
      {"adam", {{"lr", 0.01}, {"weight_decay", 0.1}}},
      {"adam", {{"lr", 0.01}, {"amsgrad", true}, {"maximize", true}}},
      {"adamw", {{"lr", 0.01}, {"weight_decay", 0.1}}},
      {"adamw", {{"lr", 0.01}, {"amsgrad", true}}},
      {"adagrad", {{"lr", 0.1}, {"lr_decay", 0.01}, {"weight_decay", 0.01},
                   {"initial_accumulator_value", 0.1}}},
      {"rmsprop", {{"lr", 0.01}, {"weight_decay", 0.01}}},
      {"rmsprop", {{"lr", 0.01}, {"momentum", 0.9}}},
      {"rmsprop", {{"lr", 0.01}, {"centered", true}}},
      {"rmsprop", {{"lr", 0.01}, {"momentum", 0.5}, {"centered", true}, {"maximize", true}}},
  };
  for (size_t n : {size_t{0}, size_t{1}, size_t{7}, size_t{4099}}) {
    for (size_t index = 0; index < configs.size(); ++index) {
      const auto& [name, args] = configs[index];
      SCOPED_TRACE(name + " config #" + std::to_string(index) + " n=" + std::to_string(n));
      std::mt19937 rng(static_cast<unsigned>(n) * 31 + 5);
      const OptimizerConfig config = makeOptimizerConfig(name, args).value();
      auto opt = Optimizer::create(config, {0, static_cast<int64_t>(n)}).value();
      Vec fused = randomVec(rng, n, 1.0f);
      Vec plain = fused;
      OracleState st;
      const float init = stateInitialValue(config, config.kind == OptimizerKind::Adagrad ? "sum" : "");
      st.a = Vec(n, init);
      st.b = Vec(n, 0.0f);
      st.c = Vec(n, 0.0f);
      for (int step = 0; step < 6; ++step) {
        const Vec grads = randomVec(rng, n, step % 2 ? 0.01f : 2.0f);
        const double lr = config.lr * (1.0 + 0.1 * step);
        ASSERT_TRUE(opt.step(fused, grads, lr).ok());
        oracleStep(config, plain, grads, lr, st);
        ASSERT_EQ(fused, plain) << "after step " << step + 1;
      }
      const std::vector<std::string> names = stateBufferNames(config);
      const Vec* oracleBuffers[] = {&st.a, &st.b, &st.c};
      for (size_t i = 0; i < names.size(); ++i) {
        const auto mine = opt.buffer(names[i]);
        EXPECT_EQ(Vec(mine.begin(), mine.end()), *oracleBuffers[i]) << names[i];
      }
    }
  }
}

} // namespace
} // namespace bdl::optim
