#include "checker/txn/transactions.h"

#include <algorithm>

#include "checker/txn/parallel.h"
#include "core/op_values.h"
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

// The transactions of one contiguous range of the history's ops, with keys and values interned
// by the part's own interners (local ids); Join maps them to the global ids.
struct Part {
  std::vector<Txn> txns;  // mop_begin is relative to the part's mops
  std::vector<Mop> mops;  // list_begin is relative to the part's elements
  std::vector<int32_t> elements;
  Interner keys;
  Interner values;
  Status status = Status::Ok();
};

TxnKind KindOf(TxnWorkload workload) {
  return workload == TxnWorkload::kListAppend ? TxnKind::kListAppend : TxnKind::kRwRegister;
}

// Interns one micro-op (its shape already checked by core's rules) into the part. `list`: the
// workload is list-append, so a read returns a list (or nil).
void AddMop(const MicroOp& micro_op, bool list, Part* out) {
  Mop parsed;
  parsed.key = out->keys.Intern(*micro_op.key);
  const Json& value = *micro_op.value;
  if (micro_op.kind != MicroOpKind::kRead) {
    parsed.kind = list ? MopKind::kAppend : MopKind::kWrite;
    parsed.value = out->values.Intern(value);
  } else if (list) {
    parsed.list = true;
    parsed.list_begin = static_cast<uint32_t>(out->elements.size());
    if (const Json::array_t* elements = value.get_ptr<const Json::array_t*>()) {
      // The array itself, not nlohmann's iterators: this loop sees every element of every read.
      for (const Json& element : *elements) out->elements.push_back(out->values.Intern(element));
    }
    parsed.list_size = static_cast<uint32_t>(out->elements.size()) - parsed.list_begin;
  } else {
    parsed.value = value.is_null() ? kNil : out->values.Intern(value);
  }
  out->mops.push_back(parsed);
}

Status AddTxn(const History& history, const Op& op, Txn txn, TxnWorkload workload, Part* out) {
  txn.mop_begin = static_cast<uint32_t>(out->mops.size());
  Status status = ForEachMicroOp(op.value, KindOf(workload), [&](size_t, const MicroOp& micro_op) {
    AddMop(micro_op, workload == TxnWorkload::kListAppend, out);
    return Status::Ok();
  });
  if (!status.ok()) return Status::ParseError(Where(history, op) + ": " + status.message());
  txn.mop_count = static_cast<uint32_t>(out->mops.size()) - txn.mop_begin;
  out->txns.push_back(txn);
  return Status::Ok();
}

// Parses the transactions of ops [begin, end); stops at the first error.
void ParsePart(const History& history, const Pairing& pairing, size_t begin, size_t end,
               TxnWorkload workload, Part* out) {
  out->txns.reserve((end - begin) / 2 + 1);
  out->mops.reserve(end - begin);
  for (size_t i = begin; i < end; ++i) {
    const Op& op = history.ops[i];
    if (!IsTxnOp(op)) continue;
    int64_t partner = pairing.partner[i];
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
    out->status = AddTxn(history, source, txn, workload, out);
    if (!out->status.ok()) return;
  }
}

// Global ids of a part's local ones. Interning the parts' distinct values in part order gives
// every value the id it gets when the whole history is interned in order: its first occurrence.
std::vector<int32_t> GlobalIds(const Interner& local, Interner* global) {
  std::vector<int32_t> ids(local.size());
  for (size_t id = 0; id < ids.size(); ++id) {
    ids[id] = global->Intern(local.Value(static_cast<int32_t>(id)));
  }
  return ids;
}

// Copies a part's transactions into `out` at the given offsets, with global ids.
void Relabel(const Part& part, const std::vector<int32_t>& keys, const std::vector<int32_t>& values,
             size_t txn_base, size_t mop_base, size_t element_base, Transactions* out) {
  for (size_t i = 0; i < part.txns.size(); ++i) {
    Txn txn = part.txns[i];
    txn.mop_begin += static_cast<uint32_t>(mop_base);
    out->txns[txn_base + i] = txn;
  }
  for (size_t i = 0; i < part.mops.size(); ++i) {
    Mop mop = part.mops[i];
    mop.key = keys[static_cast<size_t>(mop.key)];
    if (mop.value != kNil) mop.value = values[static_cast<size_t>(mop.value)];
    mop.list_begin += static_cast<uint32_t>(element_base);
    out->mops[mop_base + i] = mop;
  }
  for (size_t i = 0; i < part.elements.size(); ++i) {
    out->elements[element_base + i] = values[static_cast<size_t>(part.elements[i])];
  }
}

}  // namespace

Result<Transactions> ExtractTransactions(const History& history, TxnWorkload workload,
                                         size_t threads) {
  // Lenient pairing: Elle's own test histories put concurrent ops on one process, and many list
  // only completions; an orphan completion is a transaction invoked where it completed.
  Result<Pairing> pairing = PairHistory(history, /*lenient=*/true);
  if (!pairing.ok()) return pairing.status();
  // Walking the JSON is most of the cost: parts of the history are parsed in parallel (a thread
  // per 50,000 ops at most), then relabelled with global ids in parallel.
  size_t parts = std::clamp<size_t>(history.ops.size() / 50'000, 1, ThreadCount(threads));
  std::vector<Part> parsed(parts);
  RunParts(parts, [&](size_t part) {
    ParsePart(history, *pairing, history.ops.size() * part / parts,
              history.ops.size() * (part + 1) / parts, workload, &parsed[part]);
  });
  Transactions out;
  std::vector<size_t> txn_base = {0}, mop_base = {0}, element_base = {0};
  std::vector<std::vector<int32_t>> key_ids, value_ids;
  for (const Part& part : parsed) {
    if (!part.status.ok()) return part.status;
    txn_base.push_back(txn_base.back() + part.txns.size());
    mop_base.push_back(mop_base.back() + part.mops.size());
    element_base.push_back(element_base.back() + part.elements.size());
    key_ids.push_back(GlobalIds(part.keys, &out.keys));
    value_ids.push_back(GlobalIds(part.values, &out.values));
  }
  out.txns.resize(txn_base.back());
  out.mops.resize(mop_base.back());
  out.elements.resize(element_base.back());
  RunParts(parts, [&](size_t part) {
    Relabel(parsed[part], key_ids[part], value_ids[part], txn_base[part], mop_base[part],
            element_base[part], &out);
    parsed[part] = Part();
  });
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
