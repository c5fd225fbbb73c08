// Consistency models and anomalies: which anomalies imply which, which models imply which, and
// which anomalies each model rules out. The relations follow Adya's thesis, Bailis et al. and
// Cerone et al. as summarised by the Elle paper; the tables are in models.cc.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace faultline::txn {

// Every model name the checker knows, weakest first (read-uncommitted ... strict-serializable).
const std::vector<std::string>& ConsistencyModelNames();
bool IsConsistencyModel(const std::string& name);
bool IsAnomalyName(const std::string& name);

// The anomalies that a history must not contain if every model in `models` is to hold, plus the
// anomalies named in `anomalies`; both are closed under "implies" (G0 implies G1c, so a model
// forbidding G1c forbids G0 too).
std::set<std::string> ProhibitedAnomalies(const std::vector<std::string>& models,
                                          const std::vector<std::string>& anomalies = {});

struct ModelBoundary {
  std::vector<std::string> not_models;        // weakest models the anomalies rule out
  std::vector<std::string> also_not;          // the stronger models ruled out as well
  std::vector<std::string> strongest_models;  // strongest models not ruled out
};
ModelBoundary Boundary(const std::set<std::string>& anomalies);

}  // namespace faultline::txn
