// --db exec: a system faultline knows nothing about, driven by the user's client command
// (exec.h) and, for its lifecycle and the process faults, the user's --db-* commands
// (clients/commands/commands.h).
#include "clients/commands/commands.h"
#include "clients/db_kind.h"
#include "clients/exec/exec.h"

namespace faultline::clients {

std::function<std::unique_ptr<Client>()> ExecClients(const std::string& command) {
  exec::ExecOptions options;
  options.command = command;
  return [options] { return std::make_unique<exec::ExecClient>(options); };
}

DbKind ExecDbKind() {
  DbKind kind;
  kind.name = "exec";
  kind.summary = "your own client (--client-command) and lifecycle commands (--db-setup, ...)";
  kind.runs_on_names = [](const WorkloadOptions& workload) {
    return workload.db_commands.empty() && workload.nemesis == "none";
  };
  kind.build = [](const TestOptions& options, const WorkloadOptions& workload) -> Result<Test> {
    if (workload.client_command.empty()) {
      return Status::InvalidArgument(
          "--db exec needs --client-command: the program that speaks the exec protocol "
          "(docs/clients.md)");
    }
    Test test;
    test.options = options;
    if (!workload.db_commands.empty()) {
      if (Status valid = commands::Validate(workload.db_commands); !valid.ok()) return valid;
      test.db = std::make_shared<commands::CommandDb>(workload.db_commands);
    }
    test.new_client = ExecClients(workload.client_command);
    return test;
  };
  return kind;
}

}  // namespace faultline::clients
