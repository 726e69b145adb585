// `fxmesh demo`: a scripted tour against a running mesh (`fxmesh dev`), printing what happens at
// each step: a customer's accounts and deposits, a quote, an exchange each way, a failing exchange
// and its compensation through the relay, an operator pausing a ledger (new exchanges refused,
// then accepted with the same key once it is resumed), and the audit log of it. Every name it
// creates is new (a fresh customer per run), so it can run again and again against the same data.
#pragma once

#include <string>

namespace fxmesh::cli {

struct DemoOptions {
  std::string coordinator = "127.0.0.1:50051";
  std::string krw_ledger = "127.0.0.1:50061";
  std::string fx_ledger = "127.0.0.1:50062";
};

// Returns the process exit code: 0 when the story ran as told, 1 when something did not.
int RunDemo(const DemoOptions& options);

}  // namespace fxmesh::cli
