#include "checker/txn/transactions.h"

#include <algorithm>

#include "core/validate.h"

namespace faultline::txn {

int32_t Interner::InternInteger(int64_t value) {
  auto next = static_cast<int32_t>(values_.size());
  if (value >= 0 && value < kDirectLimit) {
    auto index = static_cast<size_t>(value);
    if (index >= direct_.size()) direct_.resize(std::max(index + 1, direct_.size() * 2), -1);
    if (direct_[index] < 0) {
      direct_[index] = next;
      values_.push_back(value);
    }
    return direct_[index];
  }
  auto [it, inserted] = integers_.try_emplace(value, next);
  if (inserted) values_.push_back(value);
  return it->second;
}

int32_t Interner::Intern(const Json& value) {
  if (value.is_number_integer()) return InternInteger(value.get<int64_t>());
  auto next = static_cast<int32_t>(values_.size());
  auto [it, inserted] = others_.try_emplace(value.dump(), next);
  if (inserted) values_.push_back(value);
  return it->second;
}

std::string Interner::Text(int32_t id) const {
  if (id == kNil) return "nil";
  const Json& value = Value(id);
  return value.is_string() ? value.get<std::string>() : value.dump();
}

namespace {

bool IsTxnOp(const Op& op) { return !op.is_nemesis() && (op.f.empty() || op.f == "txn"); }

std::string Where(const History& history, const Op& op) {
  std::string where = history.source.empty() ? "history" : history.source;
  if (op.line > 0) where += ":" + std::to_string(op.line);
  return where + " (op index " + std::to_string(op.index) + ")";
}

// Parses one micro-op; `read_value_known` is false for an invocation's reads (nil = unknown).
Status ParseMop(const Json& mop, TxnWorkload workload, Transactions* out) {
  if (!mop.is_array() || mop.size() < 2 || mop.size() > 3 || !mop[0].is_string()) {
    return Status::ParseError("micro-op " + mop.dump() + " is not [f, key, value]");
  }
  const std::string& f = mop[0].get_ref<const std::string&>();
  static const Json kNull;
  const Json& value = mop.size() == 3 ? mop[2] : kNull;
  Mop parsed;
  parsed.key = out->keys.Intern(mop[1]);
  bool list = workload == TxnWorkload::kListAppend;
  if (f == "r") {
    parsed.kind = MopKind::kRead;
    if (list) {
      if (!value.is_null() && !value.is_array()) {
        return Status::ParseError("list-append read " + mop.dump() + " is not a list");
      }
      parsed.list = true;
      parsed.list_begin = static_cast<uint32_t>(out->elements.size());
      if (value.is_array()) {
        for (const Json& element : value) out->elements.push_back(out->values.Intern(element));
      }
      parsed.list_size = static_cast<uint32_t>(out->elements.size()) - parsed.list_begin;
    } else {
      parsed.value = value.is_null() ? kNil : out->values.Intern(value);
    }
  } else if ((f == "append" && list) || (f == "w" && !list)) {
    parsed.kind = list ? MopKind::kAppend : MopKind::kWrite;
    if (value.is_null()) return Status::ParseError("micro-op " + mop.dump() + " writes nil");
    parsed.value = out->values.Intern(value);
  } else {
    return Status::ParseError("micro-op " + mop.dump() + " is not one of " +
                              (list ? "append, r" : "w, r") + " (workload " +
                              std::string(ToString(workload)) + ")");
  }
  out->mops.push_back(parsed);
  return Status::Ok();
}

Status AddTxn(const History& history, const Op& op, Txn txn, TxnWorkload workload,
              Transactions* out) {
  if (!op.value.is_array()) {
    return Status::ParseError(Where(history, op) + ": a txn's value must be a list of micro-ops");
  }
  txn.mop_begin = static_cast<uint32_t>(out->mops.size());
  for (const Json& mop : op.value) {
    Status status = ParseMop(mop, workload, out);
    if (!status.ok()) return Status::ParseError(Where(history, op) + ": " + status.message());
  }
  txn.mop_count = static_cast<uint32_t>(out->mops.size()) - txn.mop_begin;
  out->txns.push_back(txn);
  return Status::Ok();
}

}  // namespace

Result<Transactions> ExtractTransactions(const History& history, TxnWorkload workload) {
  // Lenient pairing: Elle's own test histories put concurrent ops on one process, and many list
  // only completions; an orphan completion is a transaction invoked where it completed.
  Result<Pairing> pairing = PairHistory(history, /*lenient=*/true);
  if (!pairing.ok()) return pairing.status();
  Transactions out;
  out.txns.reserve(history.ops.size() / 2 + 1);
  out.mops.reserve(history.ops.size() * 2);
  for (size_t i = 0; i < history.ops.size(); ++i) {
    const Op& op = history.ops[i];
    if (!IsTxnOp(op)) continue;
    int64_t partner = pairing->partner[i];
    Txn txn;
    txn.process = op.process;
    if (op.is_invoke()) {
      if (partner >= 0) continue;  // described by its completion
      txn.status = TxnStatus::kInfo;
      txn.op = i;
      txn.invoke_position = static_cast<int64_t>(i);
    } else {
      txn.status = op.type == OpType::kOk     ? TxnStatus::kOk
                   : op.type == OpType::kFail ? TxnStatus::kFail
                                              : TxnStatus::kInfo;
      txn.op = i;
      txn.invoke_position = partner >= 0 ? partner : static_cast<int64_t>(i);
      if (txn.status == TxnStatus::kOk) txn.complete_position = static_cast<int64_t>(i);
    }
    // An info completion may carry no value; its invocation says what was attempted.
    const Op& source = (txn.status == TxnStatus::kInfo && partner >= 0 && op.value.is_null())
                           ? history.ops[static_cast<size_t>(partner)]
                           : op;
    Status status = AddTxn(history, source, txn, workload, &out);
    if (!status.ok()) return status;
  }
  std::stable_sort(out.txns.begin(), out.txns.end(), [](const Txn& a, const Txn& b) {
    return a.invoke_position < b.invoke_position;
  });
  out.warnings = std::move(pairing->warnings);
  if (out.warnings.size() > 10) out.warnings.resize(10);
  return out;
}

std::string DescribeRead(const Transactions& transactions, const Mop& mop) {
  if (!mop.list) return transactions.values.Text(mop.value);
  std::string text = "[";
  for (uint32_t i = 0; i < mop.list_size; ++i) {
    if (i) text += " ";
    text += transactions.values.Text(transactions.elements[mop.list_begin + i]);
  }
  return text + "]";
}

std::string DescribeMop(const Transactions& transactions, const Mop& mop) {
  std::string key = transactions.keys.Text(mop.key);
  switch (mop.kind) {
    case MopKind::kAppend:
      return "append " + transactions.values.Text(mop.value) + " to " + key;
    case MopKind::kWrite:
      return "write " + transactions.values.Text(mop.value) + " to " + key;
    case MopKind::kRead:
      break;
  }
  return "read " + key + " = " + DescribeRead(transactions, mop);
}

std::string DescribeTxn(const Transactions& transactions, const Txn& txn) {
  std::string text = "[";
  for (const Mop* mop = transactions.begin(txn); mop != transactions.end(txn); ++mop) {
    if (text.size() > 1) text += " ";
    std::string key = transactions.keys.Text(mop->key);
    switch (mop->kind) {
      case MopKind::kAppend:
        text += "[append " + key + " " + transactions.values.Text(mop->value) + "]";
        break;
      case MopKind::kWrite:
        text += "[w " + key + " " + transactions.values.Text(mop->value) + "]";
        break;
      case MopKind::kRead:
        text += "[r " + key + " " + DescribeRead(transactions, *mop) + "]";
    }
  }
  return text + "]";
}

}  // namespace faultline::txn
