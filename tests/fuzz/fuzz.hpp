// Shared by the libFuzzer targets of tests/fuzz: a parser of outside input
// may reject its input only with ctk::Error (or, where the caller catches
// them, the library's documented exceptions); anything else escaping, a crash
// or a sanitizer report is a finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace ctk::fuzz {

inline std::string_view text(const uint8_t* data, size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// Splits the input at the first occurrence of `sep` (the separator dropped):
// one input carries two parts (patterns and paths, a template and a format).
inline std::pair<std::string_view, std::string_view> split(std::string_view s, char sep) {
    size_t p = s.find(sep);
    if (p == std::string_view::npos) return {s, {}};
    return {s.substr(0, p), s.substr(p + 1)};
}

// Runs `f`, swallowing the rejection the parser is allowed to make.
template <typename F> void expect_ok_or_rejected(F&& f) {
    try {
        f();
    } catch (const ctk::Error&) {
    }
}

} // namespace ctk::fuzz
