// Lenient reads of Docker-shaped JSON records (container.json, API bodies):
// a missing, null or mistyped field reads as the fallback.
#pragma once

#include <string>

#include "core/json.hpp"

namespace ctk::engine {

// j[key] when j is an object that has it and it is not null, else fallback.
inline Json get_or(const Json& j, const char* key, Json fallback) {
    if (!j.is_object()) return fallback;
    auto it = j.find(key);
    return it != j.end() && !it->is_null() ? *it : fallback;
}

// The same without a copy: a reference into j, or `fallback` (which must
// outlive the reference: a static or the caller's own).
inline const Json& ref_or(const Json& j, const char* key, const Json& fallback) {
    if (!j.is_object()) return fallback;
    auto it = j.find(key);
    return it != j.end() && !it->is_null() ? *it : fallback;
}
inline const Json empty_json_object = Json::object();
inline const Json empty_json_array = Json::array();

// j[key] when it is a string, else fallback.
inline std::string str_or(const Json& j, const char* key, const std::string& fallback = "") {
    if (!j.is_object()) return fallback;
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

} // namespace ctk::engine
