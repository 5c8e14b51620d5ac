// The test oracle for manifest.json: a plain nlohmann DOM reader and writer of the schema of
// common/manifest.h, written the obvious way. The real codec (common/manifest.cc) is a streaming
// one for speed; tests check that it writes the same bytes and reads the same Manifest as this.
// Linked only into tests.
#pragma once

#include <string>
#include <string_view>

#include "common/manifest.h"
#include "common/status.h"

namespace qlir {

Result<Manifest> OracleParseManifest(std::string_view json_text, std::string_view origin);
std::string OracleSerializeManifest(const Manifest& m);

}  // namespace qlir
