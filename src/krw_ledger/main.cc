// fxmesh-krw-ledger: the KRW ledger service.
#include "ledger/ledger_main.h"

int main(int argc, char** argv) {
  return fxmesh::ledger::RunLedgerMain(argc, argv,
                                       {.service_name = "krw-ledger",
                                        .listen_default = "127.0.0.1:50061",
                                        .database_default = "sqlite:.fxmesh/data/krw-ledger.db",
                                        .currencies_default = "KRW"});
}
