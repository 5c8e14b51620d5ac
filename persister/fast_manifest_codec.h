// A faster writer (and reader) for manifest.json, the format of common/manifest.h
// (docs/on-disk-format.md, "manifest.json"). FastSerializeManifest produces exactly the bytes of
// common SerializeManifest (same field order, two-space indent, trailing newline), so files
// written by either are indistinguishable; it only avoids building a JSON document first.
// FastParseManifest accepts what ParseManifest accepts and yields the same Manifest, reading with
// a SAX parser instead of a DOM (a 250k-slice manifest is ~80 MB of text).
#pragma once

#include <string>
#include <string_view>

#include "common/manifest.h"
#include "common/status.h"

namespace qlir::persister {

std::string FastSerializeManifest(const Manifest& m);

// Errors name `origin`; never throws.
Result<Manifest> FastParseManifest(std::string_view json_text, std::string_view origin);

// The same, streaming from a file so the text is never held whole (a 250k-slice manifest is
// ~110 MB). An unreadable file is an error starting with "cannot read"; `*io_error` tells it
// apart from damage (which the caller may move aside; an I/O error must not be).
Result<Manifest> FastParseManifestFile(const std::string& path, bool* io_error);

}  // namespace qlir::persister
