#include "build/dockerignore.hpp"

#include "core/strings.hpp"

namespace ctk::build {

std::string clean_path(std::string_view p) {
    if (p.empty()) return ".";
    bool rooted = p[0] == '/';
    std::vector<std::string> parts;
    for (const auto& part : split(p, '/')) {
        if (part.empty() || part == ".") continue;
        if (part == "..") {
            if (!parts.empty() && parts.back() != "..") parts.pop_back();
            else if (!rooted) parts.push_back("..");
            continue;
        }
        parts.push_back(part);
    }
    std::string out = (rooted ? "/" : "") + join(parts, "/");
    return out.empty() ? "." : out;
}

IgnoreMatcher IgnoreMatcher::parse(std::string_view text) {
    std::vector<std::string> patterns;
    bool first = true;
    for (auto line : split(text, '\n')) {
        if (first && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
        first = false;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.rfind('#', 0) == 0) continue;
        std::string pat(trim(line));
        if (pat.empty()) continue;
        bool invert = pat[0] == '!';
        if (invert) pat = std::string(trim(std::string_view(pat).substr(1)));
        if (!pat.empty()) {
            pat = clean_path(pat);
            if (pat.size() > 1 && pat[0] == '/') pat.erase(0, 1);
        }
        patterns.push_back(invert ? "!" + pat : pat);
    }
    return IgnoreMatcher(patterns);
}

IgnoreMatcher::IgnoreMatcher(const std::vector<std::string>& patterns) : sources_(patterns) {
    for (const auto& p : patterns) {
        Pattern c = compile(p);
        has_exclusions_ = has_exclusions_ || c.exclusion;
        patterns_.push_back(std::move(c));
    }
}

IgnoreMatcher::Pattern IgnoreMatcher::compile(std::string_view p) {
    Pattern out;
    if (!p.empty() && p[0] == '!') {
        out.exclusion = true;
        p.remove_prefix(1);
    }
    for (size_t i = 0; i < p.size(); i++) {
        char ch = p[i];
        Token t;
        t.kind = Token::literal;
        if (ch == '*') {
            if (i + 1 < p.size() && p[i + 1] == '*') {
                i++;
                if (i + 1 < p.size() && p[i + 1] == '/') i++; // "**/" is "**"
                t.kind = i + 1 >= p.size() ? Token::any_rest : Token::any_dirs;
            } else {
                t.kind = Token::star;
            }
        } else if (ch == '?') {
            t.kind = Token::one;
        } else if (ch == '\\') {
            t.c = i + 1 < p.size() ? p[++i] : '\\';
        } else if (ch == '[') {
            size_t j = i + 1;
            Token k;
            k.kind = Token::klass;
            if (j < p.size() && (p[j] == '^' || p[j] == '!')) {
                k.negated = true;
                j++;
            }
            size_t start = j;
            while (j < p.size() && (p[j] != ']' || j == start)) {
                if (p[j] == '\\' && j + 1 < p.size()) j++;
                k.set += p[j];
                j++;
            }
            if (j >= p.size()) {
                t.c = '['; // no closing bracket: a literal
            } else {
                t = k;
                i = j;
            }
        } else {
            t.c = ch;
        }
        out.tokens.push_back(std::move(t));
    }
    return out;
}

namespace {

bool in_class(const std::string& set, char c) {
    for (size_t i = 0; i < set.size(); i++) {
        if (i + 2 < set.size() && set[i + 1] == '-') {
            if (c >= set[i] && c <= set[i + 2]) return true;
            i += 2;
        } else if (set[i] == c) {
            return true;
        }
    }
    return false;
}

} // namespace

namespace {

// Go's filepath.Match semantics over the compiled tokens. Every (token,
// position) pair is tried at most once: a pattern of many stars cannot make
// the backtracking exponential (a hostile .dockerignore would hang a build).
struct GlobMatch {
    const std::vector<IgnoreMatcher::Token>& t;
    std::string_view s;
    std::vector<bool> failed; // (ti, si) already known not to match

    bool at(size_t ti, size_t si) {
        size_t key = ti * (s.size() + 1) + si;
        if (failed[key]) return false;
        bool ok = step(ti, si);
        if (!ok) failed[key] = true;
        return ok;
    }

    bool step(size_t ti, size_t si) {
        using Token = IgnoreMatcher::Token;
        for (; ti < t.size(); ti++) {
            const Token& k = t[ti];
            switch (k.kind) {
            case Token::literal:
                if (si >= s.size() || s[si] != k.c) return false;
                si++;
                break;
            case Token::one:
                if (si >= s.size() || s[si] == '/') return false;
                si++;
                break;
            case Token::klass:
                if (si >= s.size() || s[si] == '/' || in_class(k.set, s[si]) == k.negated) return false;
                si++;
                break;
            case Token::star:
                for (size_t n = si;; n++) {
                    if (at(ti + 1, n)) return true;
                    if (n >= s.size() || s[n] == '/') return false;
                }
            case Token::any_rest:
                return true;
            case Token::any_dirs:
                // "(.*/)?": nothing, or anything up to and including a '/'
                if (at(ti + 1, si)) return true;
                for (size_t n = si; n < s.size(); n++)
                    if (s[n] == '/' && at(ti + 1, n + 1)) return true;
                return false;
            }
        }
        return si == s.size();
    }
};

} // namespace

bool IgnoreMatcher::match(const std::vector<Token>& t, size_t ti, std::string_view s, size_t si) {
    GlobMatch m{t, s, std::vector<bool>((t.size() + 1) * (s.size() + 1), false)};
    return m.at(ti, si);
}

bool IgnoreMatcher::excluded(std::string_view path) const {
    bool matched = false;
    std::vector<std::string_view> parents; // "a", "a/b" for "a/b/c"
    for (size_t i = 0; i < path.size(); i++)
        if (path[i] == '/') parents.push_back(path.substr(0, i));
    for (const auto& p : patterns_) {
        if (p.exclusion != matched) continue;
        bool m = match(p.tokens, 0, path, 0);
        for (size_t i = 0; !m && i < parents.size(); i++) m = match(p.tokens, 0, parents[i], 0);
        if (m) matched = !p.exclusion;
    }
    return matched;
}

} // namespace ctk::build
