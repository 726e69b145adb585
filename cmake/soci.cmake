# Debian's libsoci-dev ships no CMake package, so this defines fxmesh::soci from its libraries.
# SOCI's headers include Boost's (libboost-dev).
find_path(SOCI_INCLUDE_DIR soci/soci.h REQUIRED)
find_library(SOCI_CORE_LIBRARY soci_core REQUIRED)
find_library(SOCI_SQLITE3_LIBRARY soci_sqlite3 REQUIRED)
find_library(SOCI_POSTGRESQL_LIBRARY soci_postgresql REQUIRED)
find_path(POSTGRESQL_INCLUDE_DIR libpq-fe.h PATH_SUFFIXES postgresql REQUIRED)

add_library(fxmesh_soci INTERFACE)
target_include_directories(fxmesh_soci SYSTEM INTERFACE ${SOCI_INCLUDE_DIR} ${POSTGRESQL_INCLUDE_DIR})
target_link_libraries(fxmesh_soci INTERFACE
  ${SOCI_SQLITE3_LIBRARY} ${SOCI_POSTGRESQL_LIBRARY} ${SOCI_CORE_LIBRARY} sqlite3 pq)
add_library(fxmesh::soci ALIAS fxmesh_soci)
