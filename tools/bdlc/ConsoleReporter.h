// What `bdlc train` shows while it runs: a live progress line on a terminal,
// plain log lines otherwise, a validation table, and a JSONL metrics file
// (one record per log step and per validation).
#pragma once

#include "runtime/train/Trainer.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

namespace bdl::cli {

class ConsoleReporter : public train::Reporter {
public:
  // `metricsPath` empty: no JSONL. `logEvery`: iterations between log lines.
  ConsoleReporter(std::string jobName, const std::string& metricsPath, bool terminal, int64_t logEvery = 50);
  ~ConsoleReporter() override;

  void started(const std::string& description) override;
  void resumed(const std::string& checkpoint, int64_t iteration) override;
  void step(const train::StepReport& r) override;
  void epochEnded(const train::StepReport& r) override;
  void validated(const train::ValidationReport& r) override;
  void checkpointed(const std::string& path) override;
  void warning(const std::string& message) override;
  void summary(const train::TrainSummary& s);

private:
  void clearLine();
  void writeJson(const std::string& line);

  std::string job_;
  bool terminal_;
  int64_t logEvery_;
  std::ofstream metrics_;
  std::string metricsPath_;
  bool lineShown_ = false;
  std::chrono::steady_clock::time_point lastDraw_{};
};

std::string formatDuration(double seconds); // "1h02m", "3m05s", "12.3s"
std::string withThousands(double n);        // "12,345"

} // namespace bdl::cli
