#include "common/clock.h"

namespace fxmesh {

Clock& SystemClock::Get() {
  static SystemClock* clock = new SystemClock();
  return *clock;
}

}  // namespace fxmesh
