// fxmesh: the command-line tool for customers and operators of fxmesh. This file only gathers
// argv, the environment and whether stdout and stderr are terminals; cli/cli.h does the rest.
#include <unistd.h>

#include <iostream>

#include "cli/cli.h"

extern char** environ;

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  fxmesh::cli::Environment environment;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string text = *entry;
    const size_t equals = text.find('=');
    if (equals != std::string::npos) environment[text.substr(0, equals)] = text.substr(equals + 1);
  }
  return fxmesh::cli::RunCli(args, environment, std::cout, std::cerr,
                             {.stdout_is_terminal = isatty(STDOUT_FILENO) == 1,
                              .stderr_is_terminal = isatty(STDERR_FILENO) == 1});
}
