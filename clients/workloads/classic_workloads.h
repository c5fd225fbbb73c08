// Jepsen's classic workloads: counter, set, set-full, unique-ids and bank, for the checkers of
// checker/workloads. Every value is plain JSON; what each op means (the contract a client of any
// database, exec clients included, must keep; docs/workloads.md says the same):
//
//   counter     {"f": "add", "value": n}      add n (a positive integer) to the counter; ok once
//                                             applied
//               {"f": "read", "value": null}  ok with "value": the counter (an integer, 0 at first)
//   set         {"f": "add", "value": e}      add element e (an integer, each added once)
//   set-full    {"f": "read", "value": null}  ok with "value": every element, an array of integers
//                                             in any order
//   unique-ids  {"f": "generate", "value": null}
//                                             ok with "value": a new id (any JSON, usually an
//                                             integer or a string) no other generate returned
//   queue,      {"f": "enqueue", "value": e}  enqueue element e (an integer, each enqueued once)
//   total-queue {"f": "dequeue", "value": null}
//                                             ok with "value": an element taken out, or null
//                                             when the queue was empty
//               {"f": "drain", "value": null} (total-queue, at the end) ok with "value": every
//                                             element still queued, an array, taking them out
//   bank        {"f": "transfer", "value": {"from": a, "to": b, "amount": n}}
//                                             move n (1..5) from account a to account b (a != b);
//                                             fail, changing nothing, when a would go negative
//               {"f": "read", "value": null}  ok with "value": {"0": balance, "1": ..., ...}, every
//                                             account's balance (keys are the account numbers)
//
// The bank has BankOptions().accounts accounts, 0 .. accounts-1, which start with total/accounts
// each (8 accounts of 10): the database must hold that before the test starts.
//
// The set workload adds elements 0, 1, 2, ... and reads only at the end (FinalGenerator); set-full
// mixes reads in throughout and reads at the end too. The generators are pure values
// (generators/generator.h), unbounded, on whatever threads they are given; callers add Clients,
// TimeLimit, Rate, ... as for any other generator.
#pragma once

#include <string>

#include "generators/generator.h"

namespace faultline::workloads {

inline constexpr int kMaxAdd = 5;       // counter adds are 1 .. kMaxAdd
inline constexpr int kMaxTransfer = 5;  // bank transfers move 1 .. kMaxTransfer

// Whether `name` is one of counter, set, set-full, unique-ids, bank, queue, total-queue.
bool IsClassicWorkload(const std::string& name);

// The workload's generator (unbounded); `name` must be a classic workload.
gen::GenPtr ClassicGenerator(const std::string& name);

// What runs after the time limit (after the nemesis's final heal and the recovery wait: the
// test's final generator), or null for none: the set workloads' final read and total-queue's
// drain on each thread, tried every 0.5 s until it completes ok (at most 20 times).
gen::GenPtr FinalGenerator(const std::string& name);

}  // namespace faultline::workloads
