// Whether a service is ready for calls, and why not: what the gRPC health service reports as the
// overall status (service ""), in a form the metrics port's /readyz can serve too.
#pragma once

#include <functional>
#include <string>

namespace fxmesh {

struct Readiness {
  bool ready = false;
  // Why it is not ready ("starting", a failed database probe, "shutting down"); empty when ready.
  std::string reason;
};

// Reads a service's current readiness; called from the metrics server's thread.
using ReadinessCheck = std::function<Readiness()>;

}  // namespace fxmesh
