// CurrentPrimaries (nemesis/fault.h): what the faults aimed at the primaries resolve at start.
#include "core/parse_text.h"
#include "nemesis/fault.h"
#include "nemesis/internal.h"

namespace faultline::nemesis {

Result<std::vector<std::string>> CurrentPrimaries(const Test& test, const NodeRemotes& remotes,
                                                  Json* unanswered) {
  *unanswered = Json::object();
  if (!test.db || !test.db->HasPrimaries()) {
    return Status::Unsupported("this database does not name its primaries");
  }
  const std::vector<std::string>& nodes = test.options.nodes;
  std::vector<Result<bool>> answers(nodes.size(), false);
  (void)InParallel(nodes.size(), [&](size_t i) {
    if (i < remotes.size() && remotes[i] != nullptr)
      answers[i] = test.db->IsPrimary(test, nodes[i], *remotes[i]);
    else
      answers[i] = Status::Unsupported("no session");
    return Status::Ok();
  });
  std::vector<std::string> primaries, silent;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!answers[i].ok()) {
      silent.push_back(nodes[i] + " (" + answers[i].status().message() + ")");
      (*unanswered)[nodes[i]] = answers[i].status().message();
    } else if (*answers[i]) {
      primaries.push_back(nodes[i]);
    }
  }
  if (!primaries.empty()) return primaries;
  std::string message = "no node says it is a primary";
  if (!silent.empty()) message += "; no answer from " + text::JoinedWords(silent, " and ");
  return Status::InvalidArgument(message);
}

}  // namespace faultline::nemesis
