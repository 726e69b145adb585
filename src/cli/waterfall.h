// Draws one trace's spans, gathered from every service, as a waterfall for the terminal: one line
// per span, nested under its parent, with a bar placing it in time against the whole trace.
#pragma once

#include <string>
#include <vector>

#include "fxmesh/v1/trace.pb.h"

namespace fxmesh::cli {

struct WaterfallOptions {
  int bar_width = 40;
  bool color = false;  // ANSI colors: services told apart, failures in red.
};

// `spans` in any order and from any services. Spans whose parent is missing (not kept, or from a
// service not asked) are drawn at the top level.
std::string RenderWaterfall(const std::vector<v1::Span>& spans, const WaterfallOptions& options);

}  // namespace fxmesh::cli
