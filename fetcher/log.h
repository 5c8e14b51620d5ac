// The fetcher's log calls: common/log.h.
#pragma once

#include "common/log.h"

namespace qlir::fetcher {

using qlir::Log;
using qlir::LogLevel;
using qlir::SetLogJson;
using qlir::SetLogLevel;
using qlir::SetLogProcess;

}  // namespace qlir::fetcher
