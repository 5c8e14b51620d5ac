// qlir-status: status and verify of a data root, read-only (tools/qlir-status/README.md).
#include <iostream>
#include <string>
#include <vector>

#include "tools/qlir-status/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const int code = qlir::status_tool::Run(args, std::cout, std::cerr);
  std::cout.flush();
  return code;
}
