// Internal to checker/workloads: a history's client calls (invocation with its completion), which
// every checker of the folder reads the same way.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "checker/checker.h"

namespace faultline::workload_checks {

// One client call. Positions are indices into History::ops, the order every checker here uses.
struct Call {
  const Op* invoke = nullptr;
  const Op* completion = nullptr;  // null while pending (never completed)
  size_t invoke_position = 0;
  size_t completion_position = SIZE_MAX;  // SIZE_MAX while pending

  bool ok() const { return completion != nullptr && completion->type == OpType::kOk; }
  bool failed() const { return completion != nullptr && completion->type == OpType::kFail; }
  // Ok, or info/pending: it may have happened.
  bool may_have_happened() const { return !failed(); }
  // The value holding the call's result: the completion's when it has one, else the invoke's.
  const Json& value() const;
};

// Client calls in invocation order (nemesis ops left out). Strict or lenient as context says
// (core/validate.h); lenient-mode findings go to *warnings. Orphan completions are skipped.
Result<std::vector<Call>> ClientCalls(const History& history, const CheckContext& context,
                                      std::vector<std::string>* warnings);

// "op 12 (process 3)": how results name an op for people.
std::string DescribeOp(const Op& op);

// An op's value as an int64; false when it is not an integer.
bool IntegerValue(const Json& value, int64_t* out);

// Set workloads: an add's element (its invoke's integer value), and an ok read's elements
// (its completion's array of integers) sorted, duplicates kept; HistoryOpError when they are not
// so.
Result<int64_t> AddedElement(const History& history, const Call& add);
Result<std::vector<int64_t>> ReadElements(const History& history, const Call& read);

// Integers as a JSON array of at most kMaxListed of them.
Json ListedIntegers(const std::vector<int64_t>& values);
// "1, 4, 7 and 2 more" (at most kMaxInText of them).
std::string IntegersText(const std::vector<int64_t>& values);

// Milliseconds between two ops' times; -1 when either has no time.
double MillisBetween(const Op& from, const Op& to);

// The 0, 0.5, 0.95, 0.99 and 1 quantiles of `values` as {"0": .., "0.5": .., ...}; {} when empty.
Json Quantiles(std::vector<double> values);

// At most this many anomalies are listed in a result's JSON (their count is always exact), and
// the first few of them in its text.
inline constexpr size_t kMaxListed = 1000;
inline constexpr size_t kMaxInText = 10;

// A result from its parts; text gets "<verdict>: " in front.
CheckResult MakeResult(Verdict verdict, Json json, const std::string& text,
                       std::vector<std::string> warnings);

}  // namespace faultline::workload_checks
