// Output of qlir-status: a text table for people and one JSON document for scripts, for both
// the status report and the verify report. The columns and fields are described in
// tools/qlir-status/README.md.
#pragma once

#include <cstdint>
#include <string>

#include "tools/qlir-status/series_report.h"
#include "tools/qlir-status/verify.h"

namespace qlir::status_tool {

// "0 B", "999 B", "1.5 KiB", "12.3 MiB", "2.0 GiB".
std::string HumanBytes(uint64_t bytes);

std::string RenderStatusText(const StatusReport& report);
std::string RenderStatusJson(const StatusReport& report);

std::string RenderVerifyText(const VerifyReport& report);
std::string RenderVerifyJson(const VerifyReport& report);

}  // namespace qlir::status_tool
