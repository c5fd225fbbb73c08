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

inline constexpr size_t kNoRead = SIZE_MAX;

// One element that may have been added, and what the ok reads (numbered in invocation order)
// say about it.
struct Element {
  int64_t value = 0;
  const Op* known = nullptr;  // the completion that first proved it present
  size_t known_position = SIZE_MAX;
  size_t last_holding = kNoRead;  // the latest read that held it
  // The reads from here to the last one all held it (the read count when the last one missed it).
  size_t trailing_from = 0;
};

// The element whose value is `value` in `elements` (sorted by value), or null. Reads are sorted,
// so each search starts at `*cursor`, where the previous one ended: a read that holds most
// elements costs a step per element, not a binary search.
Element* FindElement(std::vector<Element>& elements, int64_t value, size_t* cursor) {
  if (*cursor < elements.size() && elements[*cursor].value == value) return &elements[(*cursor)++];
  auto found = std::lower_bound(
      elements.begin() + static_cast<std::ptrdiff_t>(*cursor), elements.end(), value,
      [](const Element& element, int64_t wanted) { return element.value < wanted; });
  *cursor = static_cast<size_t>(found - elements.begin());
  if (found == elements.end() || found->value != value) return nullptr;
  ++*cursor;
  return &*found;
}

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

  // Each element's fate needs, of the reads invoked after it was known, the last that held it
  // and the last that missed it. One pass over the reads, last first, gives every element its
  // latest holding read and the run of reads up to the last that all held it; from those, each
  // element is judged in O(log reads). The cost is the size of the reads, once, where comparing
  // every element with every read took minutes on a 20-second run.
  CheckResult Check(const History& history, const CheckContext& context) const override {
    std::vector<std::string> warnings;
    Result<std::vector<Call>> calls = workload_checks::ClientCalls(history, context, &warnings);
    if (!calls.ok()) return CheckResult::Failed(calls.status());
    Result<std::vector<Element>> elements = AddedElements(history, *calls);
    if (!elements.ok()) return CheckResult::Failed(elements.status());
    std::vector<const Call*> reads;  // ok reads in invocation order
    for (const Call& call : *calls) {
      if (call.invoke->f == "read" && call.ok()) reads.push_back(&call);
    }
    for (Element& element : *elements) element.trailing_from = reads.size();
    std::set<int64_t> duplicated;
    std::set<int64_t> unexpected;
    for (size_t r = reads.size(); r-- > 0;) {
      Result<std::vector<int64_t>> read = workload_checks::ReadElements(history, *reads[r]);
      if (!read.ok()) return CheckResult::Failed(read.status());
      size_t cursor = 0;
      for (size_t i = 0; i < read->size(); ++i) {
        const int64_t value = (*read)[i];
        if (i > 0 && (*read)[i - 1] == value) {
          duplicated.insert(value);
          continue;
        }
        Element* element = FindElement(*elements, value, &cursor);
        if (element == nullptr) {
          unexpected.insert(value);
          continue;
        }
        if (element->last_holding == kNoRead) element->last_holding = r;
        if (element->trailing_from == r + 1) element->trailing_from = r;
        if (reads[r]->completion_position < element->known_position) {
          element->known = reads[r]->completion;
          element->known_position = reads[r]->completion_position;
        }
      }
    }
    std::vector<Judged> stable;
    std::vector<Judged> stale;
    std::vector<Judged> lost;
    std::vector<int64_t> never_read;
    std::vector<int64_t> unconfirmed;
    std::vector<double> stable_latencies;
    for (const Element& element : *elements) {
      if (element.known == nullptr) {
        unconfirmed.push_back(element.value);
        continue;
      }
      // The first read invoked once the element was known.
      const size_t first =
          static_cast<size_t>(std::lower_bound(reads.begin(), reads.end(), element.known_position,
                                               [](const Call* read, size_t position) {
                                                 return read->invoke_position < position;
                                               }) -
                              reads.begin());
      Judged judged{element.value, element.known, nullptr, nullptr};
      if (element.last_holding != kNoRead && element.last_holding >= first)
        judged.last_seen = reads[element.last_holding]->invoke;
      if (element.trailing_from > first)
        judged.last_missed = reads[element.trailing_from - 1]->invoke;
      if (judged.last_seen == nullptr && judged.last_missed == nullptr) {
        never_read.push_back(element.value);
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
    return Summarize(elements->size(), stable, stale, lost, never_read, unconfirmed,
                     {duplicated.begin(), duplicated.end()}, {unexpected.begin(), unexpected.end()},
                     stable_latencies, reads.size(), std::move(warnings));
  }

 private:
  // Every element an add that may have happened added, sorted by value, known at the earliest
  // ok add's completion (reads may prove it earlier).
  static Result<std::vector<Element>> AddedElements(const History& history,
                                                    const std::vector<Call>& calls) {
    std::map<int64_t, Element> elements;
    for (const Call& call : calls) {
      if (call.invoke->f != "add") continue;
      Result<int64_t> value = workload_checks::AddedElement(history, call);
      if (!value.ok()) return value.status();
      if (!call.may_have_happened()) continue;
      Element& element = elements[*value];
      element.value = *value;
      if (call.ok() && call.completion_position < element.known_position) {
        element.known = call.completion;
        element.known_position = call.completion_position;
      }
    }
    std::vector<Element> sorted;
    sorted.reserve(elements.size());
    for (auto& [value, element] : elements) sorted.push_back(element);
    return sorted;
  }

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
