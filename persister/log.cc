#include "persister/log.h"

#include <unistd.h>

#include <string>

namespace qlir::persister {

void SetLogProcessName(std::string_view name) {
  qlir::SetLogProcess(std::string(name) + "[" + std::to_string(::getpid()) + "]");
}

}  // namespace qlir::persister
