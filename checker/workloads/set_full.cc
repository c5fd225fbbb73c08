// A simplified Jepsen set-full: each element's presence across the reads that began after it was
// known to be in the set (checker/workloads/workloads.h defines the outcomes).
#include <algorithm>
#include <map>
#include <set>

#include "checker/workloads/internal.h"
#include "checker/workloads/workloads.h"

namespace faultline {
namespace {

using workload_checks::Call;

struct Read {
  const Call* call = nullptr;
  std::vector<int64_t> elements;  // sorted, duplicates kept
  bool Holds(int64_t element) const {
    return std::binary_search(elements.begin(), elements.end(), element);
  }
};

struct Element {
  int64_t value = 0;
  const Op* known = nullptr;  // the completion that first proved it present
  size_t known_position = SIZE_MAX;
};

struct Judged {
  int64_t element = 0;
  const Op* known = nullptr;
  const Op* last_seen = nullptr;    // invoke of the last read (after known) that held it
  const Op* last_missed = nullptr;  // invoke of the last read (after known) that missed it
};

Json JudgedJson(const Judged& judged) {
  auto index = [](const Op* op) { return op == nullptr ? Json() : Json(op->index); };
  return {{"element", judged.element},
          {"known_index", judged.known->index},
          {"last_seen_index", index(judged.last_seen)},
          {"last_missed_index", index(judged.last_missed)}};
}

class SetFullChecker : public Checker {
 public:
  std::string Name() const override { return "set-full"; }
  Json Describe() const override { return {{"name", Name()}}; }

  CheckResult Check(const History& history, const CheckContext& context) const override {
    std::vector<std::string> warnings;
    Result<std::vector<Call>> calls = workload_checks::ClientCalls(history, context, &warnings);
    if (!calls.ok()) return CheckResult::Failed(calls.status());
    std::map<int64_t, Element> elements;
    std::vector<Read> reads;  // ok reads in invocation order
    for (const Call& call : *calls) {
      if (call.invoke->f == "add") {
        Result<int64_t> value = workload_checks::AddedElement(history, call);
        if (!value.ok()) return CheckResult::Failed(value.status());
        if (!call.may_have_happened()) continue;
        Element& element = elements[*value];
        element.value = *value;
        if (call.ok() && call.completion_position < element.known_position) {
          element.known = call.completion;
          element.known_position = call.completion_position;
        }
      } else if (call.invoke->f == "read" && call.ok()) {
        Result<std::vector<int64_t>> read = workload_checks::ReadElements(history, call);
        if (!read.ok()) return CheckResult::Failed(read.status());
        reads.push_back({&call, std::move(*read)});
      }
    }
    std::set<int64_t> duplicated;
    std::set<int64_t> unexpected;
    for (const Read& read : reads) {
      for (size_t i = 0; i < read.elements.size(); ++i) {
        int64_t value = read.elements[i];
        if (i > 0 && read.elements[i - 1] == value) duplicated.insert(value);
        auto found = elements.find(value);
        if (found == elements.end()) {
          unexpected.insert(value);
          continue;
        }
        if (read.call->completion_position < found->second.known_position) {
          found->second.known = read.call->completion;
          found->second.known_position = read.call->completion_position;
        }
      }
    }
    std::vector<Judged> stable;
    std::vector<Judged> stale;
    std::vector<Judged> lost;
    std::vector<int64_t> never_read;
    std::vector<int64_t> unconfirmed;
    std::vector<double> stable_latencies;
    for (const auto& [value, element] : elements) {
      if (element.known == nullptr) {
        unconfirmed.push_back(value);
        continue;
      }
      Judged judged{value, element.known, nullptr, nullptr};
      for (const Read& read : reads) {
        if (read.call->invoke_position < element.known_position) continue;
        (read.Holds(value) ? judged.last_seen : judged.last_missed) = read.call->invoke;
      }
      if (judged.last_seen == nullptr && judged.last_missed == nullptr) {
        never_read.push_back(value);
      } else if (judged.last_seen != nullptr &&
                 (judged.last_missed == nullptr ||
                  judged.last_missed->index < judged.last_seen->index)) {
        stable.push_back(judged);
        if (judged.last_missed != nullptr) stale.push_back(judged);
        double latency = judged.last_missed == nullptr
                             ? 0
                             : workload_checks::MillisBetween(*element.known, *judged.last_missed);
        if (latency >= 0) stable_latencies.push_back(latency);
      } else {
        lost.push_back(judged);
      }
    }
    return Summarize(elements.size(), stable, stale, lost, never_read, unconfirmed,
                     {duplicated.begin(), duplicated.end()}, {unexpected.begin(), unexpected.end()},
                     stable_latencies, reads.size(), std::move(warnings));
  }

 private:
  static CheckResult Summarize(size_t attempt_count, const std::vector<Judged>& stable,
                               const std::vector<Judged>& stale, const std::vector<Judged>& lost,
                               const std::vector<int64_t>& never_read,
                               const std::vector<int64_t>& unconfirmed,
                               const std::vector<int64_t>& duplicated,
                               const std::vector<int64_t>& unexpected,
                               std::vector<double> stable_latencies, size_t read_count,
                               std::vector<std::string> warnings) {
    auto listed = [](const std::vector<Judged>& judged) {
      Json list = Json::array();
      for (size_t i = 0; i < judged.size() && i < workload_checks::kMaxListed; ++i) {
        list.push_back(JudgedJson(judged[i]));
      }
      return list;
    };
    auto values = [](const std::vector<Judged>& judged) {
      std::vector<int64_t> values;
      for (const Judged& one : judged) values.push_back(one.element);
      return values;
    };
    Json json = {{"attempt_count", attempt_count},
                 {"read_count", read_count},
                 {"stable_count", stable.size()},
                 {"stale_count", stale.size()},
                 {"stale", listed(stale)},
                 {"lost_count", lost.size()},
                 {"lost", listed(lost)},
                 {"never_read_count", never_read.size()},
                 {"never_read", workload_checks::ListedIntegers(never_read)},
                 {"unconfirmed_count", unconfirmed.size()},
                 {"duplicated_count", duplicated.size()},
                 {"duplicated", workload_checks::ListedIntegers(duplicated)},
                 {"unexpected_count", unexpected.size()},
                 {"unexpected", workload_checks::ListedIntegers(unexpected)},
                 {"stable_latencies_ms", workload_checks::Quantiles(std::move(stable_latencies))}};
    std::string text;
    if (!lost.empty()) {
      const Judged& first = lost.front();
      text += "; " + std::to_string(lost.size()) + " lost (" +
              workload_checks::IntegersText(values(lost)) + "): element " +
              std::to_string(first.element) + " was known at op " +
              std::to_string(first.known->index) + ", then missed by the read invoked at op " +
              std::to_string(first.last_missed->index) +
              (first.last_seen ? "" : " and every later one") + " and never seen again";
    }
    if (!stale.empty()) {
      const Judged& first = stale.front();
      text += "; " + std::to_string(stale.size()) + " stale (" +
              workload_checks::IntegersText(values(stale)) + "): element " +
              std::to_string(first.element) + " was known at op " +
              std::to_string(first.known->index) + ", yet the read invoked at op " +
              std::to_string(first.last_missed->index) + " missed it";
    }
    if (!unexpected.empty()) {
      text += "; " + std::to_string(unexpected.size()) +
              " read but never added: " + workload_checks::IntegersText(unexpected);
    }
    if (!duplicated.empty()) {
      text += "; " + std::to_string(duplicated.size()) +
              " read twice in one read: " + workload_checks::IntegersText(duplicated);
    }
    std::string counts = std::to_string(stable.size()) + " of " + std::to_string(attempt_count) +
                         " elements stable, " + std::to_string(never_read.size()) +
                         " never read, " + std::to_string(unconfirmed.size()) + " unconfirmed";
    Verdict verdict = !text.empty()     ? Verdict::kInvalid
                      : read_count == 0 ? Verdict::kUnknown
                                        : Verdict::kValid;
    if (verdict == Verdict::kUnknown) text = "; the set was never read";
    return workload_checks::MakeResult(verdict, std::move(json), counts + text,
                                       std::move(warnings));
  }
};

}  // namespace

CheckerPtr MakeSetFullChecker() { return std::make_shared<SetFullChecker>(); }

}  // namespace faultline
