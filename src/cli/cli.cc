#include "cli/cli.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cli/internal/command_support.h"
#include "cli/output.h"
#include "cli/session.h"

namespace fxmesh::cli {
namespace {

constexpr absl::string_view kHelpCommand = "help";

std::vector<CommandSpec> AllCommands() {
  std::vector<CommandSpec> commands = internal::CustomerCommands();
  for (CommandSpec& command : internal::OperatorCommands()) commands.push_back(std::move(command));
  for (CommandSpec& command : internal::MeshCommands()) commands.push_back(std::move(command));
  // Help is answered by RunCli itself: it prints to stdout even with --json, and needs no
  // session.
  commands.push_back({
      .name = std::string(kHelpCommand),
      .arguments = {"[COMMAND]", "[SUBCOMMAND]"},
      .summary = "",
      .example = "fxmesh help exchange",
  });
  return commands;
}

// The help text `words` ask for: the overview, or one command's. A usage error for an unknown
// command.
absl::StatusOr<std::string> HelpText(const std::vector<std::string>& words) {
  if (words.empty()) return OverviewHelp(Commands());
  // The parser finds the command, so "help accounts open" resolves exactly as running it would.
  CommandLine target = ParseCommandLine(words, {}, Commands());
  if (target.command == nullptr) return UsageError(target.error);
  if (target.command->name == kHelpCommand) return OverviewHelp(Commands());
  return CommandHelp(*target.command);
}

int UsageFailure(Printer& printer, absl::string_view message, const CommandSpec* command) {
  printer.Error(message);
  if (command != nullptr) {
    printer.err() << "usage: " << UsageLine(*command) << "\n"
                  << "'fxmesh help " << command->name << "' explains it.\n";
  } else {
    printer.err() << "usage: fxmesh [GLOBAL OPTIONS] COMMAND [ARGUMENTS] [OPTIONS]\n"
                  << "'fxmesh help' lists the commands.\n";
  }
  return static_cast<int>(ExitCode::kUsage);
}

}  // namespace

const std::vector<CommandSpec>& Commands() {
  static const std::vector<CommandSpec>* const commands =
      new std::vector<CommandSpec>(AllCommands());
  return *commands;
}

int RunCli(const std::vector<std::string>& args, const Environment& environment, std::ostream& out,
           std::ostream& err, Terminals terminals) {
  CommandLine line = ParseCommandLine(args, environment, Commands());
  // https://no-color.org: any non-empty NO_COLOR turns colors off.
  auto no_color = environment.find("NO_COLOR");
  const bool colors_allowed = no_color == environment.end() || no_color->second.empty();
  Printer printer(
      out, err,
      OutputOptions{
          .json = line.options.json,
          .stdout_colors = terminals.stdout_is_terminal && colors_allowed && !line.options.json,
          .stderr_colors = terminals.stderr_is_terminal && colors_allowed,
          .progress = terminals.stderr_is_terminal && !line.options.json,
      });
  if (!line.error.empty()) return UsageFailure(printer, line.error, line.command);

  const bool help_command = line.command != nullptr && line.command->name == kHelpCommand;
  if (line.command == nullptr || line.options.help || help_command) {
    if (line.command == nullptr && !line.options.help) {
      // Bare "fxmesh": the overview, but as a usage error, since nothing was asked.
      err << OverviewHelp(Commands());
      return static_cast<int>(ExitCode::kUsage);
    }
    absl::StatusOr<std::string> help =
        help_command
            ? HelpText(line.arguments)
            : absl::StatusOr<std::string>(line.command == nullptr ? OverviewHelp(Commands())
                                                                  : CommandHelp(*line.command));
    if (!help.ok()) return UsageFailure(printer, help.status().message(), nullptr);
    out << *help;
    return static_cast<int>(ExitCode::kOk);
  }

  Session session(line.options, printer);
  absl::StatusOr<ExitCode> result = line.command->run(line, session);
  if (result.ok()) return static_cast<int>(*result);
  const absl::Status& error = result.status();
  const ExitCode code = ExitCodeFor(error);
  if (code == ExitCode::kUsage) return UsageFailure(printer, error.message(), line.command);
  printer.Error(error.message());
  if (code == ExitCode::kNoAnswer && !session.no_answer_hint().empty()) {
    printer.Note(session.no_answer_hint());
  }
  return static_cast<int>(code);
}

}  // namespace fxmesh::cli
