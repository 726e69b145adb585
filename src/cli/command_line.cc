#include "cli/command_line.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "cli/amount.h"
#include "common/limits.h"

namespace fxmesh::cli {
namespace {

constexpr absl::string_view kGlobalOptionsHelp =
    R"(Global options (before or after the command):
  --coordinator HOST:PORT  the coordinator (default 127.0.0.1:50051, env FXMESH_COORDINATOR)
  --krw-ledger HOST:PORT   the KRW ledger (default 127.0.0.1:50061, env FXMESH_KRW_LEDGER)
  --fx-ledger HOST:PORT    the FX ledger (default 127.0.0.1:50062, env FXMESH_FX_LEDGER)
  --json                   print each response message as proto3 JSON, one object per line
  --timeout SECONDS        each call's deadline (default 10; watch: 300)
  --tls-dir DIR            mutual TLS with the certificates in DIR: ca.crt, and gateway,
                           operator and core-banking .crt/.key (env FXMESH_TLS_DIR;
                           `fxmesh dev --tls` makes them in .fxmesh/tls)
  --help                   this help, or a command's with the command
)";

constexpr absl::string_view kExitCodesHelp =
    R"(Exit codes:
  0  done: the request succeeded (an exchange COMPLETED, a ledger APPLIED it or had already)
  1  the service answered and the outcome is a failure: an exchange FAILED, a ledger REJECTED
     the request, reconcile found a ledger out of balance
  2  usage error: unknown command or option, a bad amount; nothing was sent
  3  the service refused the request (INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS,
     FAILED_PRECONDITION, PERMISSION_DENIED, ...); nothing changed
  4  no answer: the service is unreachable or timed out (UNAVAILABLE, DEADLINE_EXCEEDED, ...).
     The outcome is unknown; retrying with the same --key or --request-id is safe
  5  the exchange is still PENDING: follow it with 'fxmesh watch SAGA_ID'
)";

// "--name=value" split into its normalized name and, when given inline, its value.
struct Option {
  std::string name;
  std::optional<std::string> inline_value;
};

Option SplitOption(absl::string_view arg) {
  arg.remove_prefix(2);
  Option option;
  const size_t equals = arg.find('=');
  if (equals != absl::string_view::npos) {
    option.inline_value = std::string(arg.substr(equals + 1));
    arg = arg.substr(0, equals);
  }
  // Service binaries accept --kafka_brokers and --kafka-brokers alike; so does the tool.
  option.name = absl::StrReplaceAll(arg, {{"_", "-"}});
  return option;
}

bool IsGlobalWithValue(absl::string_view name) {
  return name == "coordinator" || name == "krw-ledger" || name == "fx-ledger" ||
         name == "timeout" || name == "tls-dir";
}
bool IsGlobalSwitch(absl::string_view name) { return name == "json" || name == "help"; }

bool IsOptional(absl::string_view argument) { return absl::StartsWith(argument, "["); }

const OptionSpec* FindOption(const CommandSpec& command, absl::string_view name) {
  for (const OptionSpec& option : command.options) {
    if (option.name == name) return &option;
  }
  return nullptr;
}

// The command named by the first words (one or two) of the command line.
const CommandSpec* FindCommand(const std::vector<std::string>& words,
                               const std::vector<CommandSpec>& commands, std::string* error) {
  if (words.size() >= 2) {
    const std::string two = absl::StrCat(words[0], " ", words[1]);
    for (const CommandSpec& command : commands) {
      if (command.name == two) return &command;
    }
  }
  for (const CommandSpec& command : commands) {
    if (command.name == words[0]) return &command;
  }
  std::vector<std::string> subcommands;
  for (const CommandSpec& command : commands) {
    if (absl::StartsWith(command.name, absl::StrCat(words[0], " "))) {
      subcommands.push_back(command.name.substr(words[0].size() + 1));
    }
  }
  if (!subcommands.empty()) {
    *error =
        words.size() >= 2
            ? absl::StrCat("unknown command '", words[0], " ", words[1], "'; ", words[0], " takes ",
                           absl::StrJoin(subcommands, " or "))
            : absl::StrCat(words[0], " needs a subcommand: ", absl::StrJoin(subcommands, " or "));
    return nullptr;
  }
  *error = absl::StrCat("unknown command '", words[0], "'; 'fxmesh help' lists the commands");
  return nullptr;
}

// Applies a global option; sets `error` when its value is wrong.
void ApplyGlobal(const std::string& name, const std::string& value, GlobalOptions& options,
                 std::string* error) {
  if (name == "json") {
    options.json = true;
  } else if (name == "help") {
    options.help = true;
  } else if (value.empty()) {
    *error = absl::StrCat("--", name, " needs a non-empty value");
  } else if (name == "coordinator") {
    options.coordinator = value;
  } else if (name == "krw-ledger") {
    options.krw_ledger = value;
  } else if (name == "fx-ledger") {
    options.fx_ledger = value;
  } else if (name == "tls-dir") {
    options.tls_dir = value;
  } else if (name == "timeout") {
    // Milliseconds are as precise as a person types a timeout ("0.5").
    absl::StatusOr<int64_t> timeout_ms =
        ParseScaledDecimal(value, 3, limits::kCliTimeoutMsMax, "--timeout");
    if (!timeout_ms.ok() || *timeout_ms == 0) {
      *error = absl::StrCat("--timeout must be a number of seconds above 0 and at most ",
                            limits::kCliTimeoutMsMax / 1000, ", got '", value, "'");
      return;
    }
    options.timeout_ms = *timeout_ms;
  }
}

// The first words of the command line that are not global options: the command's name (at most
// two words). Stops at anything else, since a command's options are only known once it is.
std::vector<std::string> CommandWords(const std::vector<std::string>& args) {
  std::vector<std::string> words;
  for (size_t i = 0; i < args.size() && words.size() < 2; ++i) {
    const std::string& arg = args[i];
    if (arg == "--") break;
    if (absl::StartsWith(arg, "--")) {
      Option option = SplitOption(arg);
      if (IsGlobalWithValue(option.name)) {
        if (!option.inline_value) ++i;
        continue;
      }
      if (IsGlobalSwitch(option.name)) continue;
      break;
    }
    if (arg == "-h") continue;
    if (absl::StartsWith(arg, "-") && arg != "-") break;
    words.push_back(arg);
  }
  return words;
}

}  // namespace

std::string CommandLine::Get(const std::string& option, const std::string& fallback) const {
  auto found = given.find(option);
  return found == given.end() ? fallback : found->second;
}

CommandLine ParseCommandLine(const std::vector<std::string>& args, const Environment& environment,
                             const std::vector<CommandSpec>& commands) {
  CommandLine line;
  for (const auto& [variable, target] :
       {std::pair<const char*, std::string*>{"FXMESH_COORDINATOR", &line.options.coordinator},
        {"FXMESH_KRW_LEDGER", &line.options.krw_ledger},
        {"FXMESH_FX_LEDGER", &line.options.fx_ledger},
        {"FXMESH_TLS_DIR", &line.options.tls_dir}}) {
    auto found = environment.find(variable);
    if (found != environment.end() && !found->second.empty()) *target = found->second;
  }

  const std::vector<std::string> words = CommandWords(args);
  if (!words.empty()) {
    line.command = FindCommand(words, commands, &line.error);
  }
  // The command's own name, which the scan below skips.
  size_t name_words_left =
      line.command == nullptr
          ? 0
          : std::count(line.command->name.begin(), line.command->name.end(), ' ') + 1;

  std::vector<std::string> positional;
  bool options_ended = false;
  for (size_t i = 0; i < args.size() && line.error.empty(); ++i) {
    const std::string& arg = args[i];
    if (options_ended || arg == "-" || !absl::StartsWith(arg, "-")) {
      if (name_words_left > 0 && !options_ended) {
        --name_words_left;
      } else {
        positional.push_back(arg);
      }
      continue;
    }
    if (arg == "--") {
      options_ended = true;
      continue;
    }
    if (arg == "-h") {
      line.options.help = true;
      continue;
    }
    if (!absl::StartsWith(arg, "--")) {
      // A single dash: no short options exist, but a negative amount is the likelier intent.
      if (line.command != nullptr && name_words_left == 0) {
        positional.push_back(arg);
      } else {
        line.error = absl::StrCat("unknown option '", arg, "'");
      }
      continue;
    }
    Option option = SplitOption(arg);
    const OptionSpec* spec =
        line.command == nullptr ? nullptr : FindOption(*line.command, option.name);
    const bool global = IsGlobalWithValue(option.name) || IsGlobalSwitch(option.name);
    if (spec == nullptr && !global) {
      line.error = line.command == nullptr ? absl::StrCat("unknown option --", option.name)
                                           : absl::StrCat("unknown option --", option.name,
                                                          " for '", line.command->name, "'");
      continue;
    }
    const bool takes_value =
        spec != nullptr ? !spec->value_name.empty() : IsGlobalWithValue(option.name);
    std::string value;
    if (takes_value) {
      if (option.inline_value) {
        value = *option.inline_value;
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        line.error = absl::StrCat("--", option.name, " needs a value",
                                  spec != nullptr ? absl::StrCat(" (", spec->value_name, ")") : "");
        continue;
      }
    } else if (option.inline_value) {
      line.error = absl::StrCat("--", option.name, " is a switch and takes no value");
      continue;
    }
    if (spec == nullptr) {
      ApplyGlobal(option.name, value, line.options, &line.error);
      continue;
    }
    if (line.given.count(option.name) > 0) {
      line.error = absl::StrCat("--", option.name, " is given twice");
      continue;
    }
    if (takes_value && value.empty()) {
      line.error = absl::StrCat("--", option.name, " needs a non-empty ", spec->value_name);
      continue;
    }
    line.given[option.name] = value;
  }
  if (!line.error.empty() || line.command == nullptr || line.options.help) return line;

  // Arguments and required options, checked only once the whole line was read, so that the
  // first mistake reported is the first one a reader would spot.
  const std::vector<std::string>& expected = line.command->arguments;
  const size_t required = std::count_if(expected.begin(), expected.end(),
                                        [](const std::string& a) { return !IsOptional(a); });
  if (positional.size() < required) {
    line.error = absl::StrCat("missing ", expected[positional.size()]);
    return line;
  }
  if (positional.size() > expected.size()) {
    line.error = absl::StrCat("unexpected argument '", positional[expected.size()], "'");
    return line;
  }
  for (const OptionSpec& option : line.command->options) {
    if (option.required && !line.Has(option.name)) {
      line.error = absl::StrCat("missing --", option.name, " ", option.value_name);
      return line;
    }
  }
  line.arguments = std::move(positional);
  return line;
}

std::string UsageLine(const CommandSpec& command) {
  std::string line = absl::StrCat("fxmesh ", command.name);
  if (!command.synopsis.empty()) return absl::StrCat(line, " ", command.synopsis);
  for (const std::string& argument : command.arguments) absl::StrAppend(&line, " ", argument);
  for (const OptionSpec& option : command.options) {
    std::string text = absl::StrCat("--", option.name);
    if (!option.value_name.empty()) absl::StrAppend(&text, " ", option.value_name);
    absl::StrAppend(&line, " ", option.required ? text : absl::StrCat("[", text, "]"));
  }
  return line;
}

std::string CommandHelp(const CommandSpec& command) {
  std::string text = absl::StrCat("Usage: ", UsageLine(command), "\n\n", command.summary, "\n");
  if (!command.details.empty()) absl::StrAppend(&text, "\n", command.details, "\n");
  if (!command.options.empty()) {
    absl::StrAppend(&text, "\nOptions:\n");
    size_t width = 0;
    std::vector<std::string> names;
    for (const OptionSpec& option : command.options) {
      names.push_back(
          absl::StrCat("--", option.name, option.value_name.empty() ? "" : " ", option.value_name));
      width = std::max(width, names.back().size());
    }
    for (size_t i = 0; i < names.size(); ++i) {
      absl::StrAppend(&text, "  ", names[i], std::string(width - names[i].size() + 2, ' '),
                      command.options[i].help, command.options[i].required ? " (required)" : "",
                      "\n");
    }
  }
  if (!command.example.empty()) absl::StrAppend(&text, "\nExample:\n  ", command.example, "\n");
  absl::StrAppend(&text, "\n", kGlobalOptionsHelp, "\n", kExitCodesHelp);
  return text;
}

std::string OverviewHelp(const std::vector<CommandSpec>& commands) {
  std::string text =
      "fxmesh: exchange currencies and operate the fxmesh services from the command line.\n\n"
      "Usage: fxmesh [GLOBAL OPTIONS] COMMAND [ARGUMENTS] [OPTIONS]\n"
      "Amounts are decimal major units of their currency: 100.50 USD, 137000 KRW.\n";
  size_t width = 0;
  for (const CommandSpec& command : commands) width = std::max(width, command.name.size());
  for (bool operator_commands : {false, true}) {
    absl::StrAppend(&text, operator_commands ? "\nOperator commands:\n" : "\nCustomer commands:\n");
    for (const CommandSpec& command : commands) {
      if (command.operator_command != operator_commands || command.summary.empty()) continue;
      absl::StrAppend(&text, "  ", command.name, std::string(width - command.name.size() + 2, ' '),
                      command.summary, "\n");
    }
  }
  absl::StrAppend(&text, "\n'fxmesh help COMMAND' shows a command's arguments and an example.\n\n",
                  kGlobalOptionsHelp, "\n", kExitCodesHelp);
  return text;
}

}  // namespace fxmesh::cli
