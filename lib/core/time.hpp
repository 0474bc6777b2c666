// Times as the image spec and Docker write them: RFC 3339 with nanoseconds in
// UTC ("2026-11-27T21:14:43.668586066Z").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ctk {

// Nanoseconds since the epoch, from CLOCK_REALTIME.
int64_t now_ns();
// "2026-11-27T21:14:43.668586066Z" (trailing zeros of the fraction dropped, as Go's RFC3339Nano).
std::string format_rfc3339_nano(int64_t unix_ns);
// Parses RFC 3339 ("…Z" or "…+01:00", optional fraction); nullopt when malformed
// or the zero time.
std::optional<int64_t> parse_rfc3339(std::string_view s);
// The UTC time `unix_seconds` in strftime's `format` ("%Y-%m-%d %H:%M:%S +0000 UTC").
std::string format_utc(int64_t unix_seconds, const char* format);

} // namespace ctk
