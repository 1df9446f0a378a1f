// metrics: the host's metric registry (counters, gauges, histograms), fed by the host and by
// plugins through host->metric. Exposed in the Prometheus text format by the API (later issue).
//
// Contract: thread-safe; names are [a-z0-9_]+; labels are a canonical JSON object string.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace branchline::telemetry {

enum class MetricType { Counter, Gauge, Histogram };

struct MetricValue {
  MetricType type = MetricType::Counter;
  double value = 0;        // counter total, gauge value, or histogram sum
  std::uint64_t count = 0; // samples recorded
};

class MetricsRegistry {
 public:
  // Returns false (and records nothing) for an invalid name or a type clash with an earlier sample.
  bool record(MetricType type, const std::string& name, const std::string& labels, double value);
  // The current value, or a zero MetricValue when never recorded.
  MetricValue get(const std::string& name, const std::string& labels = "{}") const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, MetricValue> values_;
};

}  // namespace branchline::telemetry
