#include "checker/txn/transactions.h"

#include <algorithm>

#include "checker/txn/parallel.h"
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

// A key or value as parsed, before interning: an integer, or (rarely) any other JSON value.
// Interning waits until the parts parsed in parallel are joined, so ids follow history order.
struct RawValue {
  int64_t integer = 0;
  const Json* json = nullptr;  // non-null: not an integer; a JSON null is nil
};

RawValue Raw(const Json& value) {
  switch (value.type()) {
    case Json::value_t::number_integer:
      return {*value.get_ptr<const Json::number_integer_t*>(), nullptr};
    case Json::value_t::number_unsigned:
      return {static_cast<int64_t>(*value.get_ptr<const Json::number_unsigned_t*>()), nullptr};
    default:
      return {0, &value};
  }
}

struct RawMop {
  Mop mop;  // list_begin is relative to the part's elements
  RawValue key;
  RawValue value;
};

// The transactions of one contiguous range of the history's ops.
struct Part {
  std::vector<Txn> txns;  // mop_begin is relative to the part's mops
  std::vector<RawMop> mops;
  std::vector<int64_t> elements;                                 // integer elements of list reads
  std::vector<std::pair<uint32_t, const Json*>> other_elements;  // (position, value) of the rest
  Status status = Status::Ok();
};

const Json& NullJson() {
  static const Json null;
  return null;
}

Status ParseMop(const Json& mop, TxnWorkload workload, Part* out) {
  const Json::array_t* fields = mop.get_ptr<const Json::array_t*>();
  if (!fields || fields->size() < 2 || fields->size() > 3 || !(*fields)[0].is_string()) {
    return Status::ParseError("micro-op " + mop.dump() + " is not [f, key, value]");
  }
  const std::string& f = (*fields)[0].get_ref<const std::string&>();
  const Json& value = fields->size() == 3 ? (*fields)[2] : NullJson();
  RawMop parsed;
  parsed.key = Raw((*fields)[1]);
  parsed.value = {0, &NullJson()};
  bool list = workload == TxnWorkload::kListAppend;
  if (f == "r") {
    parsed.mop.kind = MopKind::kRead;
    if (list) {
      if (!value.is_null() && !value.is_array()) {
        return Status::ParseError("list-append read " + mop.dump() + " is not a list");
      }
      parsed.mop.list = true;
      parsed.mop.list_begin = static_cast<uint32_t>(out->elements.size());
      if (value.is_array()) {
        // The array itself, not nlohmann's iterators: this loop sees every element of every read.
        for (const Json& element : value.get_ref<const Json::array_t&>()) {
          RawValue raw = Raw(element);
          if (raw.json) {
            out->other_elements.emplace_back(static_cast<uint32_t>(out->elements.size()), raw.json);
          }
          out->elements.push_back(raw.integer);
        }
      }
      parsed.mop.list_size = static_cast<uint32_t>(out->elements.size()) - parsed.mop.list_begin;
    } else {
      parsed.value = Raw(value);
    }
  } else if ((f == "append" && list) || (f == "w" && !list)) {
    parsed.mop.kind = list ? MopKind::kAppend : MopKind::kWrite;
    if (value.is_null()) return Status::ParseError("micro-op " + mop.dump() + " writes nil");
    parsed.value = Raw(value);
  } else {
    return Status::ParseError("micro-op " + mop.dump() + " is not one of " +
                              (list ? "append, r" : "w, r") + " (workload " +
                              std::string(ToString(workload)) + ")");
  }
  out->mops.push_back(parsed);
  return Status::Ok();
}

Status AddTxn(const History& history, const Op& op, Txn txn, TxnWorkload workload, Part* out) {
  if (!op.value.is_array()) {
    return Status::ParseError(Where(history, op) + ": a txn's value must be a list of micro-ops");
  }
  txn.mop_begin = static_cast<uint32_t>(out->mops.size());
  for (const Json& mop : op.value.get_ref<const Json::array_t&>()) {
    Status status = ParseMop(mop, workload, out);
    if (!status.ok()) return Status::ParseError(Where(history, op) + ": " + status.message());
  }
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

int32_t InternRaw(const RawValue& raw, Interner* interner) {
  if (!raw.json) return interner->InternInteger(raw.integer);
  return interner->Intern(*raw.json);
}

// Appends a part's transactions to `out`, interning keys and values in history order.
void Join(Part&& part, Transactions* out) {
  const auto mop_base = static_cast<uint32_t>(out->mops.size());
  for (Txn& txn : part.txns) {
    txn.mop_begin += mop_base;
    out->txns.push_back(txn);
  }
  auto other = part.other_elements.begin();
  for (const RawMop& raw : part.mops) {
    Mop mop = raw.mop;
    mop.key = InternRaw(raw.key, &out->keys);
    mop.list_begin = static_cast<uint32_t>(out->elements.size());
    for (uint32_t i = raw.mop.list_begin; i < raw.mop.list_begin + raw.mop.list_size; ++i) {
      if (other != part.other_elements.end() && other->first == i) {
        out->elements.push_back(out->values.Intern(*(other++)->second));
      } else {
        out->elements.push_back(out->values.InternInteger(part.elements[i]));
      }
    }
    bool nil = raw.value.json && raw.value.json->is_null();
    mop.value = nil ? kNil : InternRaw(raw.value, &out->values);
    out->mops.push_back(mop);
  }
}

}  // namespace

Result<Transactions> ExtractTransactions(const History& history, TxnWorkload workload,
                                         size_t threads) {
  // Lenient pairing: Elle's own test histories put concurrent ops on one process, and many list
  // only completions; an orphan completion is a transaction invoked where it completed.
  Result<Pairing> pairing = PairHistory(history, /*lenient=*/true);
  if (!pairing.ok()) return pairing.status();
  // Walking the JSON is most of the cost; parts of the history are parsed in parallel (a thread
  // per 50,000 ops at most) and joined in order.
  size_t parts = std::clamp<size_t>(history.ops.size() / 50'000, 1, ThreadCount(threads));
  std::vector<Part> parsed(parts);
  RunParts(parts, [&](size_t part) {
    ParsePart(history, *pairing, history.ops.size() * part / parts,
              history.ops.size() * (part + 1) / parts, workload, &parsed[part]);
  });
  Transactions out;
  size_t txns = 0, mops = 0, elements = 0;
  for (const Part& part : parsed) {
    if (!part.status.ok()) return part.status;
    txns += part.txns.size();
    mops += part.mops.size();
    elements += part.elements.size();
  }
  out.txns.reserve(txns);
  out.mops.reserve(mops);
  out.elements.reserve(elements);
  for (Part& part : parsed) Join(std::move(part), &out);
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
