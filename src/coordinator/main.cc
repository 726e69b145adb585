// fxmesh-coordinator: quotes and exchanges, run as TCC sagas over the two ledgers.
#include "coordinator/coordinator_server.h"

int main(int argc, char** argv) { return fxmesh::coordinator::RunCoordinatorMain(argc, argv); }
