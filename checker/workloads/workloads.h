// Checkers of Jepsen's classic workloads (docs/workloads.md says what each op's value means):
//
//   counter     `add` (value: a positive integer) and `read` (value: the counter). Jepsen's
//               counter: each ok read lies within [the sum of the ok adds that completed before
//               the read was invoked, the sum of the adds invoked before the read completed and
//               not failed]. Out-of-bounds reads are listed with their bounds.
//   set         `add` (value: an element, unique per add) and `read` (value: every element).
//               Jepsen's set, judged on the last ok read: ok adds missing from it are lost, read
//               elements never added are unexpected, info adds present are recovered.
//   set-full    the same ops with reads throughout; each element whose presence is known (its add
//               completed ok, or a read saw it) is judged on the ok reads invoked after that:
//                 stable     the last of those reads that saw it began after the last that missed
//                            it; stale when some read began after it was known and missed it
//                            (it showed up late; a linearizable set never does this)
//                 lost       a read that missed it began after the last read that saw it
//                 never-read no ok read began after it was known
//               An info or pending add that no read saw is not known: counted as unconfirmed,
//               never an anomaly. Lost and stale elements make the history invalid. Latencies
//               are Jepsen's stable latency: from when the element was known to just after the
//               last read that missed it began (0 when no later read missed it).
//   unique-ids  `generate` (value on ok: the id, any JSON). Ids returned by two or more ok
//               generates are duplicates, listed with how many times each came back.
//   total-queue `enqueue` (value: an element, unique per enqueue), `dequeue` (value on ok: the
//               element, or null when the queue was empty) and a final `drain` (value on ok:
//               every element still queued). Jepsen's total-queue: ok enqueues never dequeued
//               are lost, dequeued elements never enqueued are unexpected, elements dequeued
//               twice are duplicated, info enqueues dequeued are recovered. Without an ok drain
//               the verdict is at best unknown (what is still queued would look lost).
//   bank        `transfer` (value {"from", "to", "amount"}) and `read` (value: {"<account>":
//               balance} for every account). Every ok read must hold exactly the accounts
//               0..accounts-1, no negative balance, and balances summing to `total`.
//
// Ordering is the history's file order (its positions), never its clocks; times (time_ns) only
// give latencies, which are left out when the history has no times. A history whose ops cannot
// be read as the workload's (an add without an integer, a read that is not a list) is a failed
// result naming the op. A history with nothing to judge (no ok read) is unknown. Pure; every
// checker may run on any thread.
#pragma once

#include <cstdint>

#include "checker/checker.h"

namespace faultline {

CheckerPtr MakeCounterChecker();    // "counter"
CheckerPtr MakeSetChecker();        // "set"
CheckerPtr MakeSetFullChecker();    // "set-full"
CheckerPtr MakeUniqueIdsChecker();  // "unique-ids"
CheckerPtr MakeTotalQueueChecker();  // "total-queue"

struct BankOptions {
  int accounts = 8;    // accounts 0 .. accounts-1
  int64_t total = 80;  // what every read's balances must sum to (8 accounts of 10)
};
CheckerPtr MakeBankChecker(const BankOptions& options);  // "bank"; Describe() records options

}  // namespace faultline
