// nlohmann/json for the whole project: include this header, never <nlohmann/json.hpp> itself.
//
// Why: every translation unit that parses or dumps JSON would otherwise instantiate and compile
// the library's parser, lexer and serializer again (about 9 s of CPU per file in the sanitized
// test build, for some 45 files). The declarations below tell the compiler that these classes
// are instantiated once, in common/json.cc, so every other file only calls them.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace qlir::json_detail {
// The two inputs the project parses from: a std::string (json::parse(str)) and a range of chars
// (json::parse(view.begin(), view.end()), std::string_view's iterators are pointers).
using StringChars = nlohmann::detail::iterator_input_adapter<std::string::const_iterator>;
using PointerChars = nlohmann::detail::iterator_input_adapter<const char*>;
}  // namespace qlir::json_detail

extern template class nlohmann::basic_json<>;
extern template class nlohmann::basic_json<nlohmann::ordered_map>;
extern template class nlohmann::detail::serializer<nlohmann::json>;
extern template class nlohmann::detail::serializer<nlohmann::ordered_json>;
extern template class nlohmann::detail::parser<nlohmann::json, qlir::json_detail::StringChars>;
extern template class nlohmann::detail::parser<nlohmann::json, qlir::json_detail::PointerChars>;
extern template class nlohmann::detail::parser<nlohmann::ordered_json,
                                               qlir::json_detail::StringChars>;
extern template class nlohmann::detail::parser<nlohmann::ordered_json,
                                               qlir::json_detail::PointerChars>;
extern template class nlohmann::detail::lexer<nlohmann::json, qlir::json_detail::StringChars>;
extern template class nlohmann::detail::lexer<nlohmann::json, qlir::json_detail::PointerChars>;
extern template class nlohmann::detail::lexer<nlohmann::ordered_json,
                                              qlir::json_detail::StringChars>;
extern template class nlohmann::detail::lexer<nlohmann::ordered_json,
                                              qlir::json_detail::PointerChars>;
