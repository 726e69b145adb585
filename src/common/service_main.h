// Helpers for the thin main() of each service binary.
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace fxmesh {

// Blocks SIGTERM and SIGINT in the calling thread and every thread it starts afterwards, so that
// WaitForTerminationSignal() alone receives them. Call first thing in main().
void BlockTerminationSignals();

// Waits until SIGTERM or SIGINT arrives; returns the signal's name.
absl::string_view WaitForTerminationSignal();

// Lets every flag be spelled with '-' as well as '_' (`--kafka-brokers` is `--kafka_brokers`):
// rewrites each "--name[=value]" argument's name in place. Call before absl::ParseCommandLine.
void AcceptDashedFlagNames(int argc, char** argv);

// Sets each flag named in `flags` from the environment variable FXMESH_<NAME> (upper case, '-' as
// '_') when that variable is set. Call before absl::ParseCommandLine so command-line flags still
// win. Kubernetes manifests configure services this way.
absl::Status ApplyEnvironmentToFlags(std::initializer_list<absl::string_view> flags);

}  // namespace fxmesh
