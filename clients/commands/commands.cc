#include "clients/commands/commands.h"

#include "runner/control/remote.h"

namespace faultline::clients::commands {

bool DbCommands::empty() const {
  return setup.empty() && teardown.empty() && kill.empty() && start.empty() && pause.empty() &&
         resume.empty() && log_files.empty();
}

namespace {

// The value of placeholder `name` for `node`, unescaped; false when there is no such name.
bool Placeholder(const std::string& name, const TestOptions& options, const std::string& node,
                 std::string* value) {
  if (name == "node") {
    *value = node;
  } else if (name == "address") {
    *value = NodeAddress(options, node);
  } else if (name == "nodes") {
    value->clear();
    for (const std::string& each : options.nodes) *value += (value->empty() ? "" : ",") + each;
  } else {
    return false;
  }
  return true;
}

}  // namespace

namespace {

bool IsNameCharacter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

// The length of the `{name}` at `at` (name: letters and '_'), or 0 when there is none there.
// Shell text full of braces (${var}, awk '{print $1}', find -exec {}) is not a placeholder.
size_t PlaceholderLength(const std::string& text, size_t at) {
  if (text[at] != '{' || (at > 0 && text[at - 1] == '$')) return 0;
  size_t end = at + 1;
  while (end < text.size() && IsNameCharacter(text[end])) ++end;
  return end > at + 1 && end < text.size() && text[end] == '}' ? end - at + 1 : 0;
}

}  // namespace

Result<std::string> Expand(const std::string& command_template, const TestOptions& options,
                           const std::string& node, bool shell_words) {
  std::string out;
  for (size_t at = 0; at < command_template.size(); ++at) {
    const char c = command_template[at];
    if ((c == '{' || c == '}') && at + 1 < command_template.size() &&
        command_template[at + 1] == c) {
      out += c;  // {{ and }}: a literal brace
      ++at;
      continue;
    }
    const size_t length = PlaceholderLength(command_template, at);
    if (length == 0) {
      out += c;
      continue;
    }
    const std::string name = command_template.substr(at + 1, length - 2);
    std::string value;
    if (!Placeholder(name, options, node, &value)) {
      return Status::InvalidArgument("unknown placeholder {" + name + "} in `" + command_template +
                                     "` (expected {node}, {address} or {nodes}; write {{" + name +
                                     "}} for the text itself)");
    }
    out += shell_words ? control::ShellEscape(value) : value;
    at += length - 1;
  }
  return out;
}

const std::vector<CommandField>& CommandFields() {
  static const std::vector<CommandField> fields = {
      {"db-setup", "installs and starts the database on {node}", &DbCommands::setup},
      {"db-teardown", "stops it and removes its data", &DbCommands::teardown},
      {"db-kill", "kills the server (the kill fault)", &DbCommands::kill},
      {"db-start", "restarts a killed server; harmless when running", &DbCommands::start},
      {"db-pause", "pauses the server (SIGSTOP: the pause fault)", &DbCommands::pause},
      {"db-resume", "resumes a paused server", &DbCommands::resume},
  };
  return fields;
}

Status Validate(const DbCommands& commands) {
  TestOptions probe;
  probe.nodes = {"n1"};
  for (const CommandField& field : CommandFields()) {
    Result<std::string> expanded = Expand(commands.*field.command, probe, "n1");
    if (!expanded.ok()) {
      return Status::InvalidArgument("--" + std::string(field.flag) + ": " +
                                     expanded.status().message());
    }
  }
  for (const std::string& path : commands.log_files) {
    Result<std::string> expanded = Expand(path, probe, "n1", /*shell_words=*/false);
    if (!expanded.ok()) {
      return Status::InvalidArgument("--" + std::string(kLogFilesFlag) + ": " +
                                     expanded.status().message());
    }
  }
  return Status::Ok();
}

Status CommandDb::RunCommand(const std::string& flag, const std::string& command_template,
                             double timeout_s, const Test& test, const std::string& node,
                             control::Remote& remote) const {
  if (command_template.empty()) {
    return Status::Unsupported(node + ": no " + flag + " command was given");
  }
  Result<std::string> line = Expand(command_template, test.options, node);
  if (!line.ok()) return line.status();
  control::Command command;
  command.argv = {"sh", "-c", *line};
  command.sudo = commands_.sudo;
  command.timeout_ms = static_cast<int64_t>(timeout_s * 1000);
  Result<control::CommandResult> ran = control::Run(remote, command);
  if (!ran.ok()) return Status(ran.status().code(), flag + ": " + ran.status().message());
  return Status::Ok();
}

Status CommandDb::Setup(const Test& test, const std::string& node, control::Remote& remote) {
  if (commands_.setup.empty()) return Status::Ok();  // a cluster that is already running
  return RunCommand("--db-setup", commands_.setup, commands_.setup_timeout_s, test, node, remote);
}

Status CommandDb::Teardown(const Test& test, const std::string& node, control::Remote& remote) {
  if (commands_.teardown.empty()) return Status::Ok();
  return RunCommand("--db-teardown", commands_.teardown, commands_.setup_timeout_s, test, node,
                    remote);
}

std::vector<std::string> CommandDb::LogFiles(const Test& test, const std::string& node) const {
  std::vector<std::string> files;
  for (const std::string& path : commands_.log_files) {
    Result<std::string> expanded = Expand(path, test.options, node, /*shell_words=*/false);
    if (expanded.ok()) files.push_back(*expanded);  // Validate() checked the templates
  }
  return files;
}

Status CommandDb::Kill(const Test& test, const std::string& node, control::Remote& remote) {
  return RunCommand("--db-kill", commands_.kill, commands_.command_timeout_s, test, node, remote);
}

Status CommandDb::Start(const Test& test, const std::string& node, control::Remote& remote) {
  return RunCommand("--db-start", commands_.start, commands_.command_timeout_s, test, node, remote);
}

Status CommandDb::Pause(const Test& test, const std::string& node, control::Remote& remote) {
  return RunCommand("--db-pause", commands_.pause, commands_.command_timeout_s, test, node, remote);
}

Status CommandDb::Resume(const Test& test, const std::string& node, control::Remote& remote) {
  return RunCommand("--db-resume", commands_.resume, commands_.command_timeout_s, test, node,
                    remote);
}

}  // namespace faultline::clients::commands
