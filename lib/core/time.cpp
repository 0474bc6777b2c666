#include "core/time.hpp"

#include <time.h>

#include <cstdio>

namespace ctk {

int64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::string format_rfc3339_nano(int64_t unix_ns) {
    time_t secs = static_cast<time_t>(unix_ns / 1000000000);
    long frac = static_cast<long>(unix_ns % 1000000000);
    if (frac < 0) {
        frac += 1000000000;
        secs -= 1;
    }
    tm t;
    gmtime_r(&secs, &t);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", t.tm_year + 1900, t.tm_mon + 1,
                  t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec);
    std::string out = buf;
    if (frac) {
        char f[16];
        std::snprintf(f, sizeof f, ".%09ld", frac);
        std::string fs = f;
        while (fs.back() == '0') fs.pop_back();
        out += fs;
    }
    return out + "Z";
}

std::optional<int64_t> parse_rfc3339(std::string_view s) {
    int y, mo, d, h = 0, mi = 0, se = 0;
    if (s.size() < 10) return std::nullopt;
    std::string str(s);
    int n = 0;
    if (std::sscanf(str.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10) return std::nullopt;
    size_t pos = 10;
    int64_t frac_ns = 0;
    int64_t offset = 0;
    if (pos < str.size()) {
        if (str[pos] != 'T' && str[pos] != 't' && str[pos] != ' ') return std::nullopt;
        int m = 0;
        if (std::sscanf(str.c_str() + pos + 1, "%2d:%2d:%2d%n", &h, &mi, &se, &m) != 3 || m != 8)
            return std::nullopt;
        pos += 1 + 8;
        if (pos < str.size() && str[pos] == '.') {
            pos++;
            int64_t scale = 100000000;
            while (pos < str.size() && str[pos] >= '0' && str[pos] <= '9') {
                frac_ns += (str[pos] - '0') * scale;
                scale /= 10;
                pos++;
            }
        }
        if (pos < str.size()) {
            if (str[pos] == 'Z' || str[pos] == 'z') {
                pos++;
            } else if (str[pos] == '+' || str[pos] == '-') {
                int oh, om, k = 0;
                if (std::sscanf(str.c_str() + pos + 1, "%2d:%2d%n", &oh, &om, &k) != 2 || k != 5)
                    return std::nullopt;
                offset = (oh * 3600 + om * 60) * (str[pos] == '+' ? 1 : -1);
                pos += 6;
            }
        }
        if (pos != str.size()) return std::nullopt;
    }
    if (y <= 1) return std::nullopt;
    tm t{};
    t.tm_year = y - 1900;
    t.tm_mon = mo - 1;
    t.tm_mday = d;
    t.tm_hour = h;
    t.tm_min = mi;
    t.tm_sec = se;
    time_t secs = timegm(&t);
    return (static_cast<int64_t>(secs) - offset) * 1000000000 + frac_ns;
}

std::string format_utc(int64_t unix_seconds, const char* format) {
    time_t t = static_cast<time_t>(unix_seconds);
    tm tmv;
    gmtime_r(&t, &tmv);
    char buf[128];
    ::strftime(buf, sizeof buf, format, &tmv);
    return buf;
}

} // namespace ctk
