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

namespace {

// --db-setup ... --db-resume and --db-logs, from commands.h's list.
std::vector<DbFlag> CommandFlags() {
  std::vector<DbFlag> flags;
  for (const commands::CommandField& field : commands::CommandFields()) {
    DbFlag& flag = flags.emplace_back();
    flag.name = field.flag;
    flag.help = std::string("A command run by sh -c on each node that ") + field.what +
                "; {node} {address} {nodes} are replaced, shell-escaped";
  }
  DbFlag& logs = flags.emplace_back();
  logs.name = commands::kLogFilesFlag;
  logs.help = "A log file on each node to download into the run ({node} allowed)";
  logs.repeatable = true;
  return flags;
}

// The commands those flags gave (all empty when none was given).
commands::DbCommands Commands(const WorkloadOptions& workload) {
  commands::DbCommands commands;
  for (const commands::CommandField& field : commands::CommandFields())
    commands.*field.command = DbFlagValue(workload, field.flag);
  commands.log_files = DbFlagValues(workload, commands::kLogFilesFlag);
  return commands;
}

}  // namespace

DbKind ExecDbKind() {
  DbKind kind;
  kind.name = "exec";
  kind.summary = "your own client (--client-command) and lifecycle commands (--db-setup, ...)";
  kind.flags = CommandFlags();
  kind.runs_on_names = [](const WorkloadOptions& workload) {
    return Commands(workload).empty() && workload.nemesis == "none";
  };
  kind.build = [](const TestOptions& options, const WorkloadOptions& workload) -> Result<Test> {
    if (workload.client_command.empty()) {
      return Status::InvalidArgument(
          "--db exec needs --client-command: the program that speaks the exec protocol "
          "(docs/clients.md)");
    }
    Test test;
    test.options = options;
    if (commands::DbCommands commands = Commands(workload); !commands.empty()) {
      if (Status valid = commands::Validate(commands); !valid.ok()) return valid;
      test.db = std::make_shared<commands::CommandDb>(std::move(commands));
    }
    test.new_client = ExecClients(workload.client_command);
    return test;
  };
  return kind;
}

}  // namespace faultline::clients
