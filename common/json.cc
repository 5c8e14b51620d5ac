// The one instantiation of nlohmann/json's heavy classes (see common/json.h).
#include "common/json.h"

template class nlohmann::basic_json<>;
template class nlohmann::basic_json<nlohmann::ordered_map>;
template class nlohmann::detail::serializer<nlohmann::json>;
template class nlohmann::detail::serializer<nlohmann::ordered_json>;
template class nlohmann::detail::parser<nlohmann::json, qlir::json_detail::StringChars>;
template class nlohmann::detail::parser<nlohmann::json, qlir::json_detail::PointerChars>;
template class nlohmann::detail::parser<nlohmann::ordered_json, qlir::json_detail::StringChars>;
template class nlohmann::detail::parser<nlohmann::ordered_json, qlir::json_detail::PointerChars>;
template class nlohmann::detail::lexer<nlohmann::json, qlir::json_detail::StringChars>;
template class nlohmann::detail::lexer<nlohmann::json, qlir::json_detail::PointerChars>;
template class nlohmann::detail::lexer<nlohmann::ordered_json, qlir::json_detail::StringChars>;
template class nlohmann::detail::lexer<nlohmann::ordered_json, qlir::json_detail::PointerChars>;
