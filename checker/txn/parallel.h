// Internal: the few threads the checker uses. Work is split into contiguous parts, one per
// thread, and results are merged in part order, so a result never depends on the thread count.
#pragma once

#include <algorithm>
#include <cstddef>
#include <thread>
#include <vector>

namespace faultline::txn {

// `requested`, or one per core when 0.
inline size_t ThreadCount(size_t requested) {
  if (requested > 0) return requested;
  return std::max<size_t>(1, std::thread::hardware_concurrency());
}

// Calls work(part) for every part in [0, parts), each on its own thread (part 0 on the caller's).
template <typename Work>
void RunParts(size_t parts, const Work& work) {
  std::vector<std::thread> workers;
  for (size_t part = 1; part < parts; ++part) workers.emplace_back([&work, part] { work(part); });
  if (parts > 0) work(0);
  for (std::thread& worker : workers) worker.join();
}

// Splits items [0, count) into at most `parts` contiguous ranges of about equal weight, where
// before(i) is the total weight of items [0, i) (a prefix sum, such as CSR offsets). Returns the
// boundaries: first 0, last `count`.
template <typename Before>
std::vector<size_t> SplitEvenly(size_t count, size_t parts, const Before& before) {
  const double total = static_cast<double>(before(count));
  std::vector<size_t> bounds = {0};
  for (size_t part = 1; part < parts; ++part) {
    const double target = total * static_cast<double>(part) / static_cast<double>(parts);
    size_t low = bounds.back(), high = count;  // first i with before(i) >= target
    while (low < high) {
      size_t middle = low + (high - low) / 2;
      if (static_cast<double>(before(middle)) < target) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
    if (low > bounds.back() && low < count) bounds.push_back(low);
  }
  bounds.push_back(count);
  return bounds;
}

}  // namespace faultline::txn
