// Times as Docker shows them: RFC 3339 with nanoseconds in UTC for JSON
// ("2026-11-27T21:14:43.668586066Z", zero time "0001-01-01T00:00:00Z"), and
// go-units' human durations for tables ("Up 2 minutes", "3 hours ago").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/time.hpp"

namespace ctk::engine {

inline constexpr const char* zero_time = "0001-01-01T00:00:00Z";

using ctk::format_rfc3339_nano;
using ctk::now_ns;
using ctk::parse_rfc3339;

// go-units HumanDuration: "Less than a second", "1 second", "About a minute",
// "5 minutes", "About an hour", "3 hours", "2 days", "3 weeks", "4 months", "2 years".
std::string human_duration(int64_t seconds);

// Docker's --since/--until forms: RFC 3339 (date only too), unix seconds with
// optional fraction, or a duration before now ("10m", "1h30m", "45s").
std::optional<int64_t> parse_time_or_duration(std::string_view s, int64_t now);

} // namespace ctk::engine
