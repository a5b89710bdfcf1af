#include "tools/bdlc/ConsoleReporter.h"

#include "runtime/train/TrainError.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>

namespace bdl::cli {

std::string formatDuration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  if (s < 60) return fmt::format("{:.1f}s", s);
  auto total = static_cast<int64_t>(s + 0.5);
  if (total < 3600) return fmt::format("{}m{:02}s", total / 60, total % 60);
  return fmt::format("{}h{:02}m", total / 3600, (total % 3600) / 60);
}

std::string withThousands(double n) {
  std::string digits = fmt::format("{}", static_cast<int64_t>(std::llround(n))), out;
  size_t start = digits[0] == '-' ? 1 : 0;
  out = digits.substr(0, start);
  for (size_t i = start; i < digits.size(); ++i) {
    if (i > start && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

ConsoleReporter::ConsoleReporter(std::string jobName, const std::string& metricsPath, bool terminal, int64_t logEvery)
    : job_(std::move(jobName)), terminal_(terminal), logEvery_(logEvery), metricsPath_(metricsPath) {
  if (!metricsPath.empty()) {
    metrics_.open(metricsPath, std::ios::app);
    if (!metrics_) throw train::TrainError(fmt::format("{}: cannot open the metrics file for writing", metricsPath));
  }
}

ConsoleReporter::~ConsoleReporter() { clearLine(); }

void ConsoleReporter::clearLine() {
  if (!lineShown_) return;
  std::fputs("\r\033[K", stdout);
  std::fflush(stdout);
  lineShown_ = false;
}

void ConsoleReporter::writeJson(const std::string& line) {
  if (!metrics_.is_open()) return;
  metrics_ << line << '\n';
  metrics_.flush();
  if (!metrics_) throw train::TrainError(fmt::format("{}: cannot write the metrics file", metricsPath_));
}

void ConsoleReporter::started(const std::string& description) {
  std::printf("training %s on %s\n", job_.c_str(), description.c_str());
  std::fflush(stdout);
}

void ConsoleReporter::resumed(const std::string& checkpoint, int64_t iteration) {
  std::printf("resumed from %s (iteration %lld)\n", checkpoint.c_str(), static_cast<long long>(iteration));
  std::fflush(stdout);
}

void ConsoleReporter::step(const train::StepReport& r) {
  bool logStep = r.iteration % logEvery_ == 0;
  if (logStep)
    writeJson(nlohmann::json{{"kind", "train"}, {"epoch", r.epoch + 1}, {"iteration", r.iteration},
                             {"loss", r.loss}, {"lr", r.lr}, {"samples_per_second", r.samplesPerSecond},
                             {"seconds", r.seconds}}
                  .dump());
  std::string position = r.iterationsPerEpoch
                             ? fmt::format("step {}/{}", r.epochIteration, *r.iterationsPerEpoch)
                             : fmt::format("step {}", r.epochIteration);
  if (terminal_) {
    auto now = std::chrono::steady_clock::now();
    if (lineShown_ && now - lastDraw_ < std::chrono::milliseconds(200)) return;
    lastDraw_ = now;
    std::string eta;
    if (r.totalIterations && r.iteration > 0 && r.samplesPerSecond > 0 && r.samples > 0) {
      double perIteration = r.seconds / static_cast<double>(r.iteration);
      eta = "  ETA " + formatDuration(perIteration * static_cast<double>(*r.totalIterations - r.iteration));
    }
    std::printf("\r\033[Kepoch %lld  %s  loss %.4f  %s samples/s%s", static_cast<long long>(r.epoch + 1),
                position.c_str(), r.loss, withThousands(r.samplesPerSecond).c_str(), eta.c_str());
    std::fflush(stdout);
    lineShown_ = true;
  } else if (logStep) {
    std::printf("epoch %lld  %s  iteration %lld  loss %.4f  lr %.6g  %s samples/s\n",
                static_cast<long long>(r.epoch + 1), position.c_str(), static_cast<long long>(r.iteration), r.loss,
                r.lr, withThousands(r.samplesPerSecond).c_str());
    std::fflush(stdout);
  }
}

void ConsoleReporter::epochEnded(const train::StepReport& r) {
  // Epochs of a few iterations (iris) would flood the log; their progress shows in the step lines.
  if (r.epochIteration < logEvery_ / 2) return;
  clearLine();
  std::printf("epoch %lld done: %lld iterations, last loss %.4f, %s samples/s, %s elapsed\n",
              static_cast<long long>(r.epoch + 1), static_cast<long long>(r.epochIteration), r.loss,
              withThousands(r.samplesPerSecond).c_str(), formatDuration(r.seconds).c_str());
  std::fflush(stdout);
}

void ConsoleReporter::validated(const train::ValidationReport& r) {
  clearLine();
  nlohmann::json j{{"kind", "validation"}, {"epoch", r.epoch + 1}, {"iteration", r.iteration}, {"samples", r.samples}};
  size_t width = 6;
  for (const auto& [name, _] : r.metrics) width = std::max(width, name.size());
  std::printf("validation at iteration %lld (%s samples)\n", static_cast<long long>(r.iteration),
              withThousands(static_cast<double>(r.samples)).c_str());
  for (const auto& [name, value] : r.metrics) {
    std::printf("  %-*s  %.4f\n", static_cast<int>(width), name.c_str(), value);
    j[name] = value;
  }
  std::fflush(stdout);
  writeJson(j.dump());
}

void ConsoleReporter::checkpointed(const std::string& path) {
  clearLine();
  std::printf("checkpoint %s\n", path.c_str());
  std::fflush(stdout);
}

void ConsoleReporter::warning(const std::string& message) {
  clearLine();
  std::fprintf(stderr, "bdlc: warning: %s\n", message.c_str());
}

void ConsoleReporter::summary(const train::TrainSummary& s) {
  clearLine();
  if (s.iterationsThisRun == 0 && s.iterations > 0) {
    std::printf("done: the job had already finished at iteration %lld; final loss %.4f\n",
                static_cast<long long>(s.iterations), s.lastLoss);
    if (!s.lastCheckpoint.empty()) std::printf("  checkpoint %s\n", s.lastCheckpoint.c_str());
    std::fflush(stdout);
    return;
  }
  std::printf("done: %lld iterations (%s) in %s (%s samples/s), final loss %.4f\n",
              static_cast<long long>(s.iterations),
              s.epochFraction ? fmt::format("{:.2f} epochs", *s.epochFraction).c_str()
                              : fmt::format("{} epochs", s.epochs).c_str(),
              formatDuration(s.seconds).c_str(),
              withThousands(s.samplesPerSecond).c_str(), s.lastLoss);
  if (s.lastValidation)
    for (const auto& [name, value] : s.lastValidation->metrics) std::printf("  %s %.4f\n", name.c_str(), value);
  if (s.dataWaits)
    std::printf("  waited for data on %lld of %lld batches (%.2fs)\n", static_cast<long long>(s.dataWaits->waited),
                static_cast<long long>(s.dataWaits->delivered), s.dataWaits->waitSeconds);
  if (!s.lastCheckpoint.empty()) std::printf("  checkpoint %s\n", s.lastCheckpoint.c_str());
  std::fflush(stdout);
}

} // namespace bdl::cli
