// fxmesh-fx-ledger: the foreign-currency ledger service (USD, EUR, JPY, CNY by default).
#include "ledger/ledger_main.h"

int main(int argc, char** argv) {
  return fxmesh::ledger::RunLedgerMain(argc, argv,
                                       {.service_name = "fx-ledger",
                                        .listen_default = "127.0.0.1:50062",
                                        .database_default = "sqlite:.fxmesh/data/fx-ledger.db",
                                        .currencies_default = "USD,EUR,JPY,CNY"});
}
