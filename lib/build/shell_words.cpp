#include "build/shell_words.hpp"

#include <cctype>

#include "core/error.hpp"

namespace ctk::build {

namespace {

bool blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

// Collects the result twice: as one string and as words split at unquoted
// blanks (only the text that came from $-expansion or plain characters splits).
struct Words {
    std::vector<std::string> list;
    std::string current;
    bool in_word = false;

    void add_char(char c) {
        if (blank(c)) {
            if (in_word && !current.empty()) {
                list.push_back(current);
                current.clear();
                in_word = false;
            }
        } else {
            add_raw(c);
        }
    }
    void add_raw(char c) {
        current += c;
        in_word = true;
    }
    void add_string(std::string_view s) {
        for (char c : s) add_char(c);
    }
    void add_raw_string(std::string_view s) {
        current += s;
        in_word = true;
    }
    std::vector<std::string> finish() {
        if (!current.empty()) list.push_back(current);
        current.clear();
        return list;
    }
};

struct Failure {
    std::string message;
};

class Lexer {
public:
    Lexer(std::string_view s, const VarMap& vars, char escape) : s_(s), vars_(vars), escape_(escape) {}

    std::string run(std::vector<std::string>* words) {
        Words w;
        std::string r = until(0, false, w, false);
        if (words) *words = w.finish();
        return r;
    }

private:
    bool eof() const { return pos_ >= s_.size(); }
    char peek() const { return s_[pos_]; }

    // Up to `stop` (0: the end). raw_escapes keeps the escape character (for patterns).
    std::string until(char stop, bool stop_needed, Words& w, bool raw_escapes) {
        std::string out;
        while (!eof()) {
            char ch = peek();
            if (stop_needed && ch == stop) {
                pos_++;
                return out;
            }
            if (ch == '$') {
                std::string v = dollar();
                out += v;
                w.add_string(v);
            } else if (ch == '\'') {
                std::string v = single_quote();
                out += v;
                w.add_raw_string(v);
            } else if (ch == '"') {
                std::string v = double_quote();
                out += v;
                w.add_raw_string(v);
            } else {
                pos_++;
                if (ch == escape_) {
                    if (raw_escapes) {
                        w.add_raw(ch);
                        out += ch;
                    }
                    if (eof()) break;
                    ch = s_[pos_++];
                    w.add_raw(ch);
                } else {
                    w.add_char(ch);
                }
                out += ch;
            }
        }
        if (stop_needed)
            throw Failure{std::string("unexpected end of statement while looking for matching ") + stop};
        return out;
    }

    std::string single_quote() {
        pos_++;
        std::string out;
        for (;;) {
            if (eof()) throw Failure{"unexpected end of statement while looking for matching single-quote"};
            char ch = s_[pos_++];
            if (ch == '\'') return out;
            out += ch;
        }
    }

    std::string double_quote() {
        pos_++;
        std::string out;
        for (;;) {
            if (eof()) throw Failure{"unexpected end of statement while looking for matching double-quote"};
            char ch = peek();
            if (ch == '"') {
                pos_++;
                return out;
            }
            if (ch == '$') {
                out += dollar();
                continue;
            }
            pos_++;
            if (ch == escape_) {
                if (eof()) continue;
                char next = peek();
                if (next == '"' || next == '$' || next == escape_) ch = s_[pos_++];
            }
            out += ch;
        }
    }

    std::string name() {
        std::string n;
        if (eof()) return n;
        char ch = peek();
        if (std::isdigit(static_cast<unsigned char>(ch))) {
            while (!eof() && std::isdigit(static_cast<unsigned char>(peek()))) n += s_[pos_++];
            return n;
        }
        if (ch == '@' || ch == '*' || ch == '#' || ch == '?' || ch == '-' || ch == '$' || ch == '!' || ch == '0') {
            pos_++;
            return std::string(1, ch);
        }
        while (!eof()) {
            ch = peek();
            if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_')) break;
            n += ch;
            pos_++;
        }
        return n;
    }

    bool lookup(const std::string& n, std::string& value) const {
        auto it = vars_.find(n);
        if (it == vars_.end()) return false;
        value = it->second;
        return true;
    }

    std::string dollar() {
        pos_++;
        if (eof() || peek() != '{') {
            std::string n = name();
            if (n.empty()) return "$";
            std::string v;
            lookup(n, v);
            return v;
        }
        pos_++;
        if (eof()) throw Failure{"syntax error: missing '}'"};
        if (peek() == '{' || peek() == '}' || peek() == ':') throw Failure{"syntax error: bad substitution"};
        std::string n = name();
        if (eof()) throw Failure{"syntax error: missing '}'"};
        char ch = s_[pos_++];
        std::string value;
        bool set = lookup(n, value);
        if (ch == '}') return value;
        if (ch == '/') return replace(set ? value : "");
        std::string modifier(1, ch);
        bool null_is_unset = false;
        if (ch == ':') {
            null_is_unset = true;
            if (eof()) throw Failure{"syntax error: missing '}'"};
            ch = s_[pos_++];
            modifier += ch;
        }
        if (ch != '+' && ch != '-' && ch != '?' && ch != '#' && ch != '%')
            throw Failure{"unsupported modifier (" + modifier + ") in substitution"};
        Words ignored;
        std::string word;
        try {
            word = until('}', true, ignored, ch == '#' || ch == '%');
        } catch (const Failure&) {
            if (eof()) throw Failure{"syntax error: missing '}'"};
            throw;
        }
        bool empty_or_unset = !set || (null_is_unset && value.empty());
        switch (ch) {
        case '-': return empty_or_unset ? word : value;
        case '+': return empty_or_unset ? "" : word;
        case '?':
            if (!set) throw Failure{n + ": " + (word.empty() ? "is not allowed to be unset" : word)};
            if (null_is_unset && value.empty())
                throw Failure{n + ": " + (word.empty() ? "is not allowed to be empty" : word)};
            return value;
        default: {
            bool greedy = !word.empty() && word[0] == ch;
            if (greedy) word.erase(0, 1);
            return ch == '#' ? trim_prefix(value, word, greedy) : trim_suffix(value, word, greedy);
        }
        }
    }

    std::string replace(const std::string& value) {
        bool all = !eof() && peek() == '/';
        if (all) pos_++;
        Words ignored;
        std::string pattern, replacement;
        try {
            pattern = until('/', true, ignored, true);
        } catch (const Failure&) {
            if (eof()) throw Failure{"syntax error: missing '/' in ${}"};
            throw;
        }
        try {
            replacement = until('}', true, ignored, true);
        } catch (const Failure&) {
            if (eof()) throw Failure{"syntax error: missing '}'"};
            throw;
        }
        // leftmost match, longest at that place (a greedy regex)
        std::string out;
        size_t i = 0;
        while (i <= value.size()) {
            size_t found = std::string::npos;
            for (size_t len = value.size() - i + 1; len-- > 0;)
                if (shell_pattern_match(pattern, std::string_view(value).substr(i, len))) {
                    found = len;
                    break;
                }
            if (found == std::string::npos) {
                if (i < value.size()) out += value[i];
                i++;
                continue;
            }
            out += replacement;
            if (found == 0) {
                if (i < value.size()) out += value[i];
                i++;
            } else {
                i += found;
            }
            if (!all) {
                if (i < value.size()) out += value.substr(i);
                break;
            }
        }
        return out;
    }

    static std::string trim_prefix(const std::string& value, const std::string& pattern, bool greedy) {
        if (greedy) {
            for (size_t len = value.size() + 1; len-- > 0;)
                if (shell_pattern_match(pattern, std::string_view(value).substr(0, len))) return value.substr(len);
        } else {
            for (size_t len = 0; len <= value.size(); len++)
                if (shell_pattern_match(pattern, std::string_view(value).substr(0, len))) return value.substr(len);
        }
        return value;
    }

    static std::string trim_suffix(const std::string& value, const std::string& pattern, bool greedy) {
        if (greedy) {
            for (size_t start = 0; start <= value.size(); start++)
                if (shell_pattern_match(pattern, std::string_view(value).substr(start))) return value.substr(0, start);
        } else {
            for (size_t start = value.size() + 1; start-- > 0;)
                if (shell_pattern_match(pattern, std::string_view(value).substr(start))) return value.substr(0, start);
        }
        return value;
    }

    std::string_view s_;
    const VarMap& vars_;
    char escape_;
    size_t pos_ = 0;
};

} // namespace

bool shell_pattern_match(std::string_view p, std::string_view s) {
    size_t pi = 0, si = 0, star_p = std::string_view::npos, star_s = 0;
    while (si < s.size()) {
        if (pi < p.size() && p[pi] == '*') {
            star_p = pi++;
            star_s = si;
            continue;
        }
        if (pi < p.size()) {
            char pc = p[pi];
            size_t adv = 1;
            if (pc == '\\' && pi + 1 < p.size()) {
                pc = p[pi + 1];
                adv = 2;
            } else if (pc == '?') {
                pi++;
                si++;
                continue;
            }
            if (pc == s[si]) {
                pi += adv;
                si++;
                continue;
            }
        }
        if (star_p == std::string_view::npos) return false;
        pi = star_p + 1;
        si = ++star_s;
    }
    while (pi < p.size() && p[pi] == '*') pi++;
    return pi == p.size();
}

VarMap var_map(const std::vector<std::string>& env) {
    VarMap m;
    for (const auto& e : env) {
        auto eq = e.find('=');
        if (eq == std::string::npos) m[e] = "";
        else m[e.substr(0, eq)] = e.substr(eq + 1);
    }
    return m;
}

std::string ShellWords::word(std::string_view text, const VarMap& vars) const {
    try {
        return Lexer(text, vars, escape_).run(nullptr);
    } catch (const Failure& f) {
        throw Error("failed to process \"" + std::string(text) + "\": " + f.message, ErrorKind::invalid);
    }
}

std::vector<std::string> ShellWords::words(std::string_view text, const VarMap& vars) const {
    try {
        std::vector<std::string> out;
        Lexer(text, vars, escape_).run(&out);
        return out;
    } catch (const Failure& f) {
        throw Error("failed to process \"" + std::string(text) + "\": " + f.message, ErrorKind::invalid);
    }
}

} // namespace ctk::build
