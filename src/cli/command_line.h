// The fxmesh command line: global options, the commands' declarations (arguments, options, help
// text) and the parser that matches argv against them. Parsing sends nothing anywhere, so every
// mistake it finds is a usage error (exit code 2) with a message saying what is wrong.
//
//   fxmesh [GLOBAL OPTIONS] COMMAND [ARGUMENTS] [OPTIONS]
//
// Global options may come before or after the command; a command's own options come after it.
// Options are written --name VALUE or --name=VALUE, and '_' may stand for '-' in a name. "--" ends
// the options: every later word is an argument.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/exit_codes.h"

namespace fxmesh::cli {

class Session;
struct CommandLine;

// The environment variables the tool reads (FXMESH_COORDINATOR, NO_COLOR, ...), by name.
using Environment = std::map<std::string, std::string>;

struct GlobalOptions {
  std::string coordinator = "127.0.0.1:50051";
  std::string krw_ledger = "127.0.0.1:50061";
  std::string fx_ledger = "127.0.0.1:50062";
  bool json = false;
  // Each call's deadline; unset means the command's default (limits::kCliTimeoutMsDefault).
  std::optional<int64_t> timeout_ms;
  bool help = false;
  // A folder with ca.crt and, per role, <role>.crt and <role>.key (gateway, operator,
  // core-banking): mutual TLS, presenting the certificate of the role each call needs. Empty:
  // plaintext.
  std::string tls_dir;
};

struct OptionSpec {
  std::string name;        // Without the dashes: "owner".
  std::string value_name;  // "NAME" for --owner NAME; empty for a switch such as --active.
  std::string help;
  bool required = false;
};

// Runs a parsed command; returns its exit code, or an error (a UsageError, or a service's).
using CommandHandler = std::function<absl::StatusOr<ExitCode>(const CommandLine&, Session&)>;

struct CommandSpec {
  std::string name;  // One or two words: "deposit", "accounts open".
  // Positional arguments in order; "[NAME]" marks an optional one (only at the end).
  std::vector<std::string> arguments;
  std::vector<OptionSpec> options;
  // Replaces the generated "ARGUMENTS [OPTIONS]" part of the usage line when set, for commands
  // whose options depend on each other: "SELL BUY (--sell AMOUNT | --buy AMOUNT)".
  std::string synopsis;
  std::string summary;  // One line for the overview.
  std::string details;  // Paragraphs for `fxmesh help COMMAND`.
  std::string example;
  bool operator_command = false;  // Listed under "Operator commands".
  CommandHandler run;
};

struct CommandLine {
  GlobalOptions options;
  // The command found, or null (no command given, or an unknown one).
  const CommandSpec* command = nullptr;
  std::vector<std::string> arguments;
  // The command's options that were given; a switch's value is empty.
  std::map<std::string, std::string> given;
  // Non-empty when the command line is wrong: what is wrong, in one sentence.
  std::string error;

  bool Has(const std::string& option) const { return given.count(option) > 0; }
  // The option's value, or `fallback` when it was not given.
  std::string Get(const std::string& option, const std::string& fallback = "") const;
};

// Matches `args` (argv without the program name) against `commands`; global options start from
// their defaults, then FXMESH_COORDINATOR, FXMESH_KRW_LEDGER and FXMESH_FX_LEDGER in
// `environment`, then the command line. Never fails outright: problems are in `error`.
CommandLine ParseCommandLine(const std::vector<std::string>& args, const Environment& environment,
                             const std::vector<CommandSpec>& commands);

// "fxmesh deposit ACCOUNT AMOUNT CURRENCY [--request-id ID]"
std::string UsageLine(const CommandSpec& command);
// Everything `fxmesh help COMMAND` prints.
std::string CommandHelp(const CommandSpec& command);
// Everything `fxmesh help` prints: commands by group, global options, exit codes.
std::string OverviewHelp(const std::vector<CommandSpec>& commands);

}  // namespace fxmesh::cli
