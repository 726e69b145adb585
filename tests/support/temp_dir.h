// Temp folders for tests, so no test depends on the machine's paths.
#pragma once

#include <string>

namespace fxmesh::testing {

// A new directory under the system temp folder, unique to this call. The caller removes it.
std::string MakeTempDir(const std::string& prefix);

// The whole text of the file at `path` ("" if it cannot be read).
std::string ReadTextFile(const std::string& path);

}  // namespace fxmesh::testing
