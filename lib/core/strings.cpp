#include "core/strings.hpp"

#include <cctype>
#include <cstdio>
#include <limits>

namespace ctk {

std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> out;
    size_t start = 0;
    for (;;) {
        size_t pos = s.find(sep, start);
        out.emplace_back(s.substr(start, pos - start));
        if (pos == std::string_view::npos) break;
        start = pos + 1;
    }
    return out;
}

std::optional<std::pair<std::string, std::string>> split_once(std::string_view s, char sep) {
    size_t pos = s.find(sep);
    if (pos == std::string_view::npos) return std::nullopt;
    return std::make_pair(std::string(s.substr(0, pos)), std::string(s.substr(pos + 1)));
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
    std::string out;
    for (size_t i = 0; i < parts.size(); i++) {
        if (i) out += sep;
        out += parts[i];
    }
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

std::string to_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::optional<uint64_t> parse_uint(std::string_view s) {
    if (s.empty()) return std::nullopt;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        uint64_t d = static_cast<uint64_t>(c - '0');
        if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return std::nullopt;
        v = v * 10 + d;
    }
    return v;
}

std::optional<uint64_t> parse_size(std::string_view s) {
    std::string t = to_lower(trim(s));
    if (t.empty()) return std::nullopt;
    if (t.back() == 'b') t.pop_back();
    if (t.empty()) return std::nullopt;
    uint64_t mult = 1;
    if (!t.empty()) {
        switch (t.back()) {
        case 'k': mult = 1ull << 10; break;
        case 'm': mult = 1ull << 20; break;
        case 'g': mult = 1ull << 30; break;
        case 't': mult = 1ull << 40; break;
        default: break;
        }
        if (mult != 1) t.pop_back();
    }
    auto v = parse_uint(t);
    if (!v || (*v && mult > std::numeric_limits<uint64_t>::max() / *v)) return std::nullopt;
    return *v * mult;
}

std::string human_size(uint64_t bytes, int significant) {
    static const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    double v = static_cast<double>(bytes);
    int u = 0;
    while (v >= 1000 && u < 5) {
        v /= 1000;
        u++;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*g%s", significant, v, units[u]);
    return buf;
}

} // namespace ctk
