// Small string helpers that the standard library lacks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ctk {

std::vector<std::string> split(std::string_view s, char sep);
// Splits at the first `sep`: ("a=b=c", '=') -> {"a", "b=c"}; nullopt when absent.
std::optional<std::pair<std::string, std::string>> split_once(std::string_view s, char sep);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
std::string_view trim(std::string_view s);
std::string to_lower(std::string_view s);

// Unsigned decimal integer, the whole string; nullopt on anything else or overflow.
std::optional<uint64_t> parse_uint(std::string_view s);
// Docker's size notation: "64m", "1g", "512k", "100b", "1024" (bytes); case-insensitive,
// optional trailing "b" ("64mb"). Binary units (1k = 1024).
std::optional<uint64_t> parse_size(std::string_view s);

// "1.5 MiB", "12.0 kB" style, for progress lines.
std::string human_size(uint64_t bytes, int significant = 3);

} // namespace ctk
