// metrics: see metrics.hpp.
#include "telemetry/metrics.hpp"

namespace branchline::telemetry {

bool MetricsRegistry::record(MetricType type, const std::string& name, const std::string& labels, double value) {
  if (name.empty() || name.size() > 200) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  if (type == MetricType::Counter && !(value >= 0)) return false;
  std::lock_guard lock(mutex_);
  auto [it, inserted] = values_.try_emplace({name, labels});
  MetricValue& m = it->second;
  if (inserted) m.type = type;
  if (m.type != type) return false;
  if (type == MetricType::Gauge) m.value = value;
  else m.value += value;
  ++m.count;
  return true;
}

MetricValue MetricsRegistry::get(const std::string& name, const std::string& labels) const {
  std::lock_guard lock(mutex_);
  auto it = values_.find({name, labels});
  return it == values_.end() ? MetricValue{} : it->second;
}

}  // namespace branchline::telemetry
