#include "engine/timefmt.hpp"

#include <time.h>

#include <cstdio>

#include "core/strings.hpp"

namespace ctk::engine {

std::string human_duration(int64_t seconds) {
    auto plural = [](int64_t n, const char* unit) {
        return std::to_string(n) + " " + unit + (n == 1 ? "" : "s");
    };
    if (seconds < 1) return "Less than a second";
    if (seconds == 1) return "1 second";
    if (seconds < 60) return plural(seconds, "second");
    int64_t minutes = seconds / 60;
    if (minutes == 1) return "About a minute";
    if (minutes < 60) return plural(minutes, "minute");
    int64_t hours = seconds / 3600;
    if (hours == 1) return "About an hour";
    if (hours < 48) return plural(hours, "hour");
    if (hours < 24 * 7 * 2) return plural(hours / 24, "day");
    if (hours < 24 * 30 * 2) return plural(hours / 24 / 7, "week");
    if (hours < 24 * 365 * 2) return plural(hours / 24 / 30, "month");
    return plural(hours / 24 / 365, "year");
}

std::optional<int64_t> parse_time_or_duration(std::string_view s, int64_t now) {
    if (s.empty()) return std::nullopt;
    if (auto t = parse_rfc3339(s)) return t;
    // unix seconds[.fraction]
    bool numeric = true;
    for (char c : s)
        if (!(c >= '0' && c <= '9') && c != '.') numeric = false;
    if (numeric) {
        auto dot = s.find('.');
        auto secs = parse_uint(s.substr(0, dot));
        if (!secs) return std::nullopt;
        int64_t ns = static_cast<int64_t>(*secs) * 1000000000;
        if (dot != std::string_view::npos) {
            int64_t scale = 100000000;
            for (char c : s.substr(dot + 1)) {
                if (c == '.') return std::nullopt;
                ns += (c - '0') * scale;
                scale /= 10;
            }
        }
        return ns;
    }
    // Go duration: sequence of <number><unit>, units h m s ms us ns
    int64_t total = 0;
    size_t i = 0;
    while (i < s.size()) {
        size_t j = i;
        while (j < s.size() && s[j] >= '0' && s[j] <= '9') j++;
        if (j == i) return std::nullopt;
        auto num = parse_uint(s.substr(i, j - i));
        if (!num) return std::nullopt;
        size_t k = j;
        while (k < s.size() && !(s[k] >= '0' && s[k] <= '9')) k++;
        std::string_view unit = s.substr(j, k - j);
        int64_t mult;
        if (unit == "h") mult = 3600000000000;
        else if (unit == "m") mult = 60000000000;
        else if (unit == "s") mult = 1000000000;
        else if (unit == "ms") mult = 1000000;
        else if (unit == "us" || unit == "µs") mult = 1000;
        else if (unit == "ns") mult = 1;
        else return std::nullopt;
        total += static_cast<int64_t>(*num) * mult;
        i = k;
    }
    return now - total;
}

} // namespace ctk::engine
