#include "build/dockerfile.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "core/error.hpp"
#include "core/json.hpp"
#include "core/strings.hpp"

namespace ctk::build {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

std::string_view trim_left(std::string_view s) {
    size_t i = 0;
    while (i < s.size() && is_space(s[i])) i++;
    return s.substr(i);
}

std::string_view trim_right(std::string_view s) {
    size_t n = s.size();
    while (n > 0 && is_space(s[n - 1])) n--;
    return s.substr(0, n);
}

std::string_view trim_both(std::string_view s) { return trim_right(trim_left(s)); }

std::string lower(std::string_view s) { return to_lower(s); }

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

[[noreturn]] void fail(const std::string& message) { throw Error(message, ErrorKind::invalid); }

// ---- parser directives (only at the top of the file)

struct Directives {
    char escape = '\\';
    bool done = false;
    std::set<std::string> seen;
    std::string syntax;

    // "# name = value" with a letter first in the name (buildkit reDirectives).
    static bool match(std::string_view line, std::string& name, std::string& value) {
        if (line.empty() || line[0] != '#') return false;
        size_t i = 1;
        while (i < line.size() && is_space(line[i])) i++;
        size_t n0 = i;
        if (i >= line.size() || !std::isalpha(static_cast<unsigned char>(line[i]))) return false;
        while (i < line.size() && std::isalnum(static_cast<unsigned char>(line[i]))) i++;
        name.assign(line.substr(n0, i - n0));
        while (i < line.size() && is_space(line[i])) i++;
        if (i >= line.size() || line[i] != '=') return false;
        i++;
        std::string_view v = trim_both(line.substr(i));
        if (v.empty()) return false;
        value.assign(v);
        return true;
    }

    void consider(std::string_view line) {
        if (done) return;
        std::string name, value;
        if (!match(line, name, value)) {
            done = true;
            return;
        }
        std::string k = lower(name);
        if (k != "escape" && k != "syntax") {
            done = true;
            return;
        }
        if (!seen.insert(k).second) fail("only one " + k + " parser directive can be used");
        if (k == "escape") {
            if (value != "`" && value != "\\") fail("invalid escape token '" + value + "' does not match ` or \\");
            escape = value[0];
        } else {
            syntax = value;
        }
    }
};

// "\" (or the escape token) and then only blanks at the end: the line continues.
bool trim_continuation(std::string& line, char escape) {
    size_t n = line.size();
    while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t')) n--;
    if (n > 0 && line[n - 1] == escape) {
        line.resize(n - 1);
        return false;
    }
    return true;
}

bool is_comment_line(std::string_view raw) {
    auto t = trim_left(raw);
    return !t.empty() && t[0] == '#';
}

// ---- splitting one instruction

// The leading "--flag" words. Quotes and backslashes inside them are
// interpreted, a "--" word ends them (buildkit extractBuilderFlags).
std::string extract_flags(std::string_view line, std::vector<std::string>& flags) {
    enum { in_spaces, in_word, in_quote } phase = in_spaces;
    std::string word;
    char quote = 0;
    bool blank_ok = false;
    for (size_t pos = 0; pos <= line.size(); pos++) {
        char ch = pos < line.size() ? line[pos] : 0;
        if (phase == in_spaces) {
            if (pos == line.size()) break;
            if (is_space(ch)) continue;
            if (ch != '-' || pos + 1 == line.size() || line[pos + 1] != '-') return std::string(line.substr(pos));
            phase = in_word;
        }
        if (pos == line.size()) {
            if (word != "--" && (blank_ok || !word.empty())) flags.push_back(word);
            break;
        }
        if (phase == in_word) {
            if (is_space(ch)) {
                phase = in_spaces;
                if (word == "--") return std::string(line.substr(pos));
                if (blank_ok || !word.empty()) flags.push_back(word);
                word.clear();
                blank_ok = false;
                continue;
            }
            if (ch == '\'' || ch == '"') {
                quote = ch;
                blank_ok = true;
                phase = in_quote;
                continue;
            }
            if (ch == '\\') {
                if (pos + 1 == line.size()) continue;
                ch = line[++pos];
            }
            word += ch;
            continue;
        }
        // in_quote
        if (ch == quote) {
            phase = in_word;
            continue;
        }
        if (ch == '\\') {
            if (pos + 1 == line.size()) {
                phase = in_word;
                continue;
            }
            ch = line[++pos];
        }
        word += ch;
    }
    return "";
}

// Words separated by blanks, quotes and escapes kept for the expansion later
// (buildkit parseWords).
std::vector<std::string> parse_words(std::string_view rest, char escape) {
    enum { in_spaces, in_word, in_quote } phase = in_spaces;
    std::vector<std::string> words;
    std::string word;
    char quote = 0;
    bool blank_ok = false;
    for (size_t pos = 0; pos <= rest.size(); pos++) {
        char ch = pos < rest.size() ? rest[pos] : 0;
        if (phase == in_spaces) {
            if (pos == rest.size()) break;
            if (is_space(ch)) continue;
            phase = in_word;
        }
        if (pos == rest.size()) {
            if (blank_ok || !word.empty()) words.push_back(word);
            break;
        }
        if (phase == in_word) {
            if (is_space(ch)) {
                phase = in_spaces;
                if (blank_ok || !word.empty()) words.push_back(word);
                word.clear();
                blank_ok = false;
                continue;
            }
            if (ch == '\'' || ch == '"') {
                quote = ch;
                blank_ok = true;
                phase = in_quote;
            }
            if (ch == escape) {
                if (pos + 1 == rest.size()) continue;
                word += ch;
                ch = rest[++pos];
            }
            word += ch;
            continue;
        }
        // in_quote
        if (ch == quote) phase = in_word;
        if (ch == escape && quote != '\'') {
            if (pos + 1 == rest.size()) {
                phase = in_word;
                continue;
            }
            word += ch;
            ch = rest[++pos];
        }
        word += ch;
    }
    return words;
}

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r'; }

// Words separated by runs of blanks, nothing interpreted (FROM, EXPOSE, COPY).
std::vector<std::string> split_blanks(std::string_view rest) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < rest.size()) {
        while (i < rest.size() && is_blank(rest[i])) i++;
        size_t j = i;
        while (j < rest.size() && !is_blank(rest[j])) j++;
        if (j > i) out.emplace_back(rest.substr(i, j - i));
        i = j;
    }
    return out;
}

// A JSON array of strings; nullopt when `rest` is not a JSON array at all.
std::optional<std::vector<std::string>> parse_json_array(std::string_view rest) {
    rest = trim_left(rest);
    if (rest.empty() || rest[0] != '[') return std::nullopt;
    Json j = try_parse_json(rest);
    if (j.is_discarded() || !j.is_array()) return std::nullopt;
    std::vector<std::string> out;
    for (const auto& e : j) {
        if (!e.is_string()) fail("when using JSON array syntax, arrays must be comprised of strings only");
        out.push_back(e.get<std::string>());
    }
    return out;
}

Node node_from_line(std::string_view line, char escape);

void split_args(Node& n, const std::string& rest, char escape) {
    const std::string& c = n.command;
    if (c == "add" || c == "copy" || c == "volume") {
        if (auto j = parse_json_array(rest)) {
            n.args = *j;
            n.json = true;
        } else {
            n.args = split_blanks(rest);
        }
    } else if (c == "cmd" || c == "entrypoint" || c == "run" || c == "shell") {
        if (rest.empty()) return;
        if (auto j = parse_json_array(rest)) {
            n.args = *j;
            n.json = true;
        } else {
            n.args = {rest};
        }
    } else if (c == "env" || c == "label") {
        auto words = parse_words(rest, escape);
        if (words.empty()) return;
        if (words[0].find('=') == std::string::npos) {
            // the old form: ENV name value with blanks
            size_t i = 0;
            while (i < rest.size() && !is_space(rest[i])) i++;
            size_t j = i;
            while (j < rest.size() && is_space(rest[j])) j++;
            if (i >= rest.size()) fail(upper(c) + " must have two arguments");
            n.args = {rest.substr(0, i), rest.substr(j)};
            return;
        }
        for (const auto& w : words) {
            auto eq = w.find('=');
            if (eq == std::string::npos)
                fail("Syntax error - can't find = in \"" + w + "\". Must be of the form: name=value");
            n.args.push_back(w.substr(0, eq));
            n.args.push_back(w.substr(eq + 1));
        }
    } else if (c == "arg") {
        n.args = parse_words(rest, escape);
    } else if (c == "expose" || c == "from") {
        n.args = split_blanks(rest);
    } else if (c == "maintainer" || c == "stopsignal" || c == "user" || c == "workdir") {
        if (!rest.empty()) n.args = {rest};
    } else if (c == "healthcheck") {
        size_t sep = 0;
        while (sep < rest.size() && !is_space(rest[sep])) sep++;
        if (sep == 0) return;
        size_t next = sep;
        while (next < rest.size() && is_space(rest[next])) next++;
        n.args.push_back(rest.substr(0, sep));
        std::string cmd = rest.substr(next);
        if (cmd.empty()) return;
        if (auto j = parse_json_array(cmd)) {
            n.args.insert(n.args.end(), j->begin(), j->end());
            n.json = true;
        } else {
            n.args.push_back(cmd);
        }
    } else if (c == "onbuild") {
        if (rest.empty()) return;
        n.trigger = std::make_shared<Node>(node_from_line(rest, escape));
        n.args.push_back(n.trigger->command);
        n.args.insert(n.args.end(), n.trigger->args.begin(), n.trigger->args.end());
    }
    // unknown instructions keep no arguments; check_dockerfile refuses them
}

Node node_from_line(std::string_view line, char escape) {
    Node n;
    n.original = std::string(line);
    std::string_view t = trim_both(line);
    size_t i = 0;
    while (i < t.size() && !is_blank(t[i])) i++;
    n.command = lower(t.substr(0, i));
    std::string rest;
    if (i < t.size()) {
        size_t j = i;
        while (j < t.size() && is_space(t[j])) j++;
        rest = extract_flags(t.substr(j), n.flags);
    }
    rest = std::string(trim_both(rest));
    split_args(n, rest, escape);
    return n;
}

} // namespace

ParsedFile parse_dockerfile(std::string_view text) {
    ParsedFile out;
    Directives d;
    std::vector<std::string_view> lines;
    for (size_t pos = 0; pos < text.size();) {
        size_t nl = text.find('\n', pos);
        std::string_view l = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        lines.push_back(l);
        if (nl == std::string_view::npos) break;
        pos = nl + 1;
    }
    if (!lines.empty() && lines[0].substr(0, 3) == "\xEF\xBB\xBF") lines[0].remove_prefix(3);

    auto at_line = [](int line, const Error& e) {
        return Error("dockerfile parse error line " + std::to_string(line) + ": " + e.what(), e.kind());
    };
    size_t i = 0;
    int current = 0;
    while (i < lines.size()) {
        std::string_view raw = lines[i++];
        std::string_view token = trim_left(raw);
        try {
            d.consider(token);
        } catch (const Error& e) {
            throw at_line(current + 1, e);
        }
        std::string line = token.size() > 0 && token[0] == '#' ? std::string() : std::string(token);
        current++;
        int start = current;
        bool end = trim_continuation(line, d.escape);
        if (end && line.empty()) continue;
        bool empty_continuation = false;
        while (!end && i < lines.size()) {
            std::string_view next = lines[i++];
            current++;
            try {
                d.consider(next);
            } catch (const Error& e) {
                throw at_line(current, e);
            }
            if (is_comment_line(next)) continue;
            if (trim_left(next).empty()) {
                empty_continuation = true;
                continue;
            }
            std::string cont(next);
            end = trim_continuation(cont, d.escape);
            line += cont;
        }
        if (empty_continuation) out.warnings.push_back("[WARNING]: Empty continuation line found in:\n    " + line);
        try {
            Node n = node_from_line(line, d.escape);
            n.start_line = start;
            n.end_line = current;
            out.nodes.push_back(std::move(n));
        } catch (const Error& e) {
            throw at_line(start, e);
        }
    }
    if (!out.warnings.empty())
        out.warnings.push_back("[WARNING]: Empty continuation lines will become errors in a future release.");
    if (out.nodes.empty()) fail("file with no instructions");
    out.escape = d.escape;
    out.syntax = d.syntax;
    return out;
}

Node parse_line(std::string_view line, char escape) {
    std::string l(trim_both(line));
    if (l.empty()) fail("file with no instructions");
    return node_from_line(l, escape);
}

const char* kind_name(Kind k) {
    switch (k) {
    case Kind::from: return "FROM";
    case Kind::run: return "RUN";
    case Kind::cmd: return "CMD";
    case Kind::entrypoint: return "ENTRYPOINT";
    case Kind::copy: return "COPY";
    case Kind::add: return "ADD";
    case Kind::env: return "ENV";
    case Kind::arg: return "ARG";
    case Kind::workdir: return "WORKDIR";
    case Kind::user: return "USER";
    case Kind::expose: return "EXPOSE";
    case Kind::label: return "LABEL";
    case Kind::volume: return "VOLUME";
    case Kind::shell: return "SHELL";
    case Kind::stopsignal: return "STOPSIGNAL";
    case Kind::healthcheck: return "HEALTHCHECK";
    case Kind::maintainer: return "MAINTAINER";
    case Kind::onbuild: return "ONBUILD";
    }
    return "?";
}

namespace {

// The flags an instruction accepts (buildkit BFlags): name -> boolean?
class Flags {
public:
    explicit Flags(const std::vector<std::string>& given) : given_(given) {}
    Flags& string(const char* name) {
        known_[name] = false;
        return *this;
    }
    Flags& boolean(const char* name) {
        known_[name] = true;
        return *this;
    }
    void parse() {
        for (const auto& a : given_) {
            if (a.rfind("--", 0) != 0) fail("Arg should start with -- : " + a);
            if (a == "--") return;
            std::string name = a.substr(2), value;
            auto eq = name.find('=');
            bool has_eq = eq != std::string::npos;
            if (has_eq) {
                value = name.substr(eq + 1);
                name.resize(eq);
            }
            auto it = known_.find(name);
            if (it == known_.end()) fail("Unknown flag: " + name);
            if (values_.count(name)) fail("Duplicate flag specified: " + name);
            if (it->second) {
                if (has_eq && value.empty()) fail("Missing a value on flag: " + name);
                std::string l = lower(value);
                if (l.empty()) l = "true";
                if (l != "true" && l != "false")
                    fail("Expecting boolean value for flag " + name + ", not: " + value);
                values_[name] = l;
            } else {
                if (!has_eq) fail("Missing a value on flag: " + name);
                values_[name] = value;
            }
        }
    }
    std::string get(const std::string& name) const {
        auto it = values_.find(name);
        return it == values_.end() ? "" : it->second;
    }
    bool has(const std::string& name) const { return values_.count(name) > 0; }

private:
    const std::vector<std::string>& given_;
    std::map<std::string, bool> known_;
    std::map<std::string, std::string> values_;
};

std::string at_least_one(const char* c) { return std::string(c) + " requires at least one argument"; }
std::string exactly_one(const char* c) { return std::string(c) + " requires exactly one argument"; }

std::vector<KeyValue> key_values(const std::vector<std::string>& args, const char* c) {
    if (args.empty()) fail(at_least_one(c));
    if (args.size() % 2) fail(std::string("Bad input to ") + c + ", too many arguments");
    std::vector<KeyValue> out;
    for (size_t j = 0; j < args.size(); j += 2) {
        if (args[j].empty()) fail(std::string(c) + " names can not be blank");
        out.push_back({args[j], args[j + 1]});
    }
    return out;
}

bool valid_stage_name(const std::string& s) {
    if (s.empty() || !(s[0] >= 'a' && s[0] <= 'z')) return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')) return false;
    return true;
}

} // namespace

std::optional<int64_t> parse_go_duration(std::string_view s) {
    if (s.empty()) return std::nullopt;
    if (s == "0") return 0;
    double total = 0;
    size_t i = 0;
    while (i < s.size()) {
        size_t j = i;
        while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '.')) j++;
        if (j == i) return std::nullopt;
        double v;
        try {
            v = std::stod(std::string(s.substr(i, j - i)));
        } catch (...) {
            return std::nullopt;
        }
        size_t k = j;
        while (k < s.size() && !(std::isdigit(static_cast<unsigned char>(s[k])) || s[k] == '.')) k++;
        std::string_view unit = s.substr(j, k - j);
        double mult;
        if (unit == "ns") mult = 1;
        else if (unit == "us" || unit == "\xC2\xB5s") mult = 1e3;
        else if (unit == "ms") mult = 1e6;
        else if (unit == "s") mult = 1e9;
        else if (unit == "m") mult = 60e9;
        else if (unit == "h") mult = 3600e9;
        else return std::nullopt;
        total += v * mult;
        i = k;
    }
    return static_cast<int64_t>(total);
}

Instruction check_instruction(const Node& node) {
    Instruction in;
    in.node = node;
    const auto& args = node.args;
    const std::string& c = node.command;
    Flags flags(node.flags);

    auto shell_dependent = [&](Instruction& i) {
        if (node.json) {
            i.cmdline = args;
            i.prepend_shell = false;
        } else {
            i.cmdline = args.empty() ? std::vector<std::string>{} : std::vector<std::string>{join(args, " ")};
            i.prepend_shell = true;
        }
    };

    if (c == "from") {
        in.kind = Kind::from;
        flags.string("platform");
        if (args.size() == 3 && lower(args[1]) == "as") {
            std::string name = lower(args[2]);
            if (!valid_stage_name(name))
                fail("invalid name for build stage: \"" + args[2] +
                     "\", name can't start with a number or contain symbols");
            in.value = name;
        } else if (args.size() != 1) {
            fail("FROM requires either one or three arguments");
        }
        flags.parse();
        in.from = args[0];
        in.words = {flags.get("platform")};
    } else if (c == "run") {
        in.kind = Kind::run;
        flags.string("network").string("mount").string("security");
        flags.parse();
        in.network = flags.get("network");
        if (!in.network.empty() && in.network != "none" && in.network != "default" && in.network != "host")
            fail("unsupported network mode " + in.network + " (none, default or host)");
        if (flags.has("mount")) fail("RUN --mount is not supported by ctk build (it needs BuildKit)");
        if (flags.has("security")) fail("RUN --security is not supported by ctk build (it needs BuildKit)");
        shell_dependent(in);
    } else if (c == "cmd" || c == "entrypoint") {
        in.kind = c == "cmd" ? Kind::cmd : Kind::entrypoint;
        flags.parse();
        shell_dependent(in);
    } else if (c == "shell") {
        in.kind = Kind::shell;
        flags.parse();
        if (args.empty()) fail(at_least_one("SHELL"));
        if (!node.json) fail("SHELL requires the arguments to be in JSON form");
        in.cmdline = args;
    } else if (c == "copy" || c == "add") {
        bool copy = c == "copy";
        in.kind = copy ? Kind::copy : Kind::add;
        const char* name = copy ? "COPY" : "ADD";
        if (args.size() < 2)
            fail(std::string(name) +
                 " requires at least two arguments, but only one was provided. Destination could not be determined");
        flags.string("chown").string("chmod").boolean("link");
        if (copy) flags.string("from");
        else flags.string("checksum").boolean("keep-git-dir");
        flags.parse();
        in.chown = flags.get("chown");
        in.chmod = flags.get("chmod");
        in.from = flags.get("from");
        in.link = flags.get("link") == "true";
        if (!in.chmod.empty()) {
            bool ok = in.chmod.size() <= 4;
            for (char ch : in.chmod) ok = ok && ch >= '0' && ch <= '7';
            if (!ok) fail("invalid chmod parameter: " + in.chmod + " (an octal mode is needed)");
        }
        if (!copy && flags.has("checksum")) fail("ADD --checksum is not supported by ctk build (remote sources are not fetched)");
        if (!copy && flags.get("keep-git-dir") == "true") fail("ADD --keep-git-dir is not supported by ctk build");
        in.sources.assign(args.begin(), args.end() - 1);
        in.dest = args.back();
    } else if (c == "env" || c == "label") {
        in.kind = c == "env" ? Kind::env : Kind::label;
        flags.parse();
        in.pairs = key_values(args, c == "env" ? "ENV" : "LABEL");
    } else if (c == "arg") {
        in.kind = Kind::arg;
        if (args.empty()) fail(at_least_one("ARG"));
        flags.parse();
        for (const auto& a : args) {
            ArgDecl decl;
            auto eq = a.find('=');
            if (eq != std::string::npos) {
                if (eq == 0) fail("ARG names can not be blank");
                decl.name = a.substr(0, eq);
                decl.default_value = a.substr(eq + 1);
            } else {
                decl.name = a;
            }
            in.args.push_back(decl);
        }
    } else if (c == "workdir" || c == "user" || c == "stopsignal" || c == "maintainer") {
        in.kind = c == "workdir" ? Kind::workdir
                  : c == "user"  ? Kind::user
                  : c == "stopsignal" ? Kind::stopsignal
                                      : Kind::maintainer;
        if (args.size() != 1) fail(exactly_one(kind_name(in.kind)));
        flags.parse();
        in.value = args[0];
    } else if (c == "expose") {
        in.kind = Kind::expose;
        if (args.empty()) fail(at_least_one("EXPOSE"));
        flags.parse();
        in.words = args;
        std::sort(in.words.begin(), in.words.end());
    } else if (c == "volume") {
        in.kind = Kind::volume;
        if (args.empty()) fail(at_least_one("VOLUME"));
        flags.parse();
        for (const auto& v : args) {
            std::string t(trim_both(v));
            if (t.empty()) fail("VOLUME specified can not be an empty string");
            in.words.push_back(t);
        }
    } else if (c == "healthcheck") {
        in.kind = Kind::healthcheck;
        if (args.empty()) fail(at_least_one("HEALTHCHECK"));
        std::string type = upper(args[0]);
        std::vector<std::string> rest(args.begin() + 1, args.end());
        Healthcheck h;
        if (type == "NONE") {
            if (!rest.empty()) fail("HEALTHCHECK NONE takes no arguments");
            flags.parse();
            h.test = {"NONE"};
        } else {
            flags.string("interval").string("timeout").string("start-period").string("start-interval").string("retries");
            flags.parse();
            if (type != "CMD") fail("Unknown type \"" + type + "\" in HEALTHCHECK (try CMD)");
            if (rest.empty()) fail("Missing command after HEALTHCHECK CMD");
            if (node.json) {
                h.test = {"CMD"};
                h.test.insert(h.test.end(), rest.begin(), rest.end());
            } else {
                h.test = {"CMD-SHELL", join(rest, " ")};
            }
            auto interval = [&](const char* name, int64_t& out) {
                std::string v = flags.get(name);
                if (v.empty()) return;
                auto d = parse_go_duration(v);
                if (!d) fail("time: invalid duration \"" + v + "\"");
                if (*d != 0 && *d < 1000000) fail(std::string("Interval \"") + name + "\" cannot be less than 1ms");
                out = *d;
            };
            interval("interval", h.interval_ns);
            interval("timeout", h.timeout_ns);
            interval("start-period", h.start_period_ns);
            interval("start-interval", h.start_interval_ns);
            if (std::string r = flags.get("retries"); !r.empty()) {
                bool neg = r[0] == '-';
                auto n = parse_uint(neg ? std::string_view(r).substr(1) : std::string_view(r));
                if (!n) fail("strconv.ParseInt: parsing \"" + r + "\": invalid syntax");
                if (neg && *n) fail("--retries cannot be negative (-" + std::to_string(*n) + ")");
                h.retries = static_cast<int>(*n);
            }
        }
        in.health = h;
    } else if (c == "onbuild") {
        in.kind = Kind::onbuild;
        if (args.empty()) fail(at_least_one("ONBUILD"));
        flags.parse();
        std::string trigger = upper(args[0]);
        if (trigger == "ONBUILD") fail("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
        if (trigger == "MAINTAINER" || trigger == "FROM") fail(trigger + " isn't allowed as an ONBUILD trigger");
        std::string_view o = trim_left(node.original);
        if (o.size() >= 7 && lower(o.substr(0, 7)) == "onbuild") o = trim_left(o.substr(7));
        in.onbuild = std::string(o);
    } else {
        fail("unknown instruction: " + upper(c));
    }
    return in;
}

Dockerfile check_dockerfile(const ParsedFile& parsed) {
    Dockerfile df;
    df.escape = parsed.escape;
    df.warnings = parsed.warnings;
    for (const auto& n : parsed.nodes) {
        Instruction in;
        try {
            in = check_instruction(n);
        } catch (const Error& e) {
            throw Error("dockerfile parse error line " + std::to_string(n.start_line) + ": " + e.what(), e.kind());
        }
        if (in.kind == Kind::from) {
            Stage s;
            s.base = in.from;
            s.name = in.value;
            s.platform = in.words.empty() ? "" : in.words[0];
            s.source = std::string(trim_both(n.original));
            s.line = n.start_line;
            for (const auto& other : df.stages)
                if (!s.name.empty() && other.name == s.name)
                    throw Error("dockerfile parse error line " + std::to_string(n.start_line) + ": " + s.name +
                                    " stage name already used",
                                ErrorKind::invalid);
            df.stages.push_back(std::move(s));
            continue;
        }
        if (df.stages.empty()) {
            if (in.kind == Kind::arg) {
                df.meta_args.insert(df.meta_args.end(), in.args.begin(), in.args.end());
                df.meta_arg_instructions.push_back(std::move(in));
                continue;
            }
            throw Error("dockerfile parse error line " + std::to_string(n.start_line) +
                            ": no build stage in current context",
                        ErrorKind::invalid);
        }
        df.stages.back().commands.push_back(std::move(in));
    }
    if (df.stages.empty()) fail("No image was generated. Is your Dockerfile empty?");
    return df;
}

Dockerfile read_dockerfile(std::string_view text) {
    if (trim_both(text).empty()) fail("the Dockerfile cannot be empty");
    return check_dockerfile(parse_dockerfile(text));
}

std::optional<size_t> Dockerfile::find_stage(std::string_view name) const {
    std::string l = lower(name);
    for (size_t i = 0; i < stages.size(); i++)
        if (!stages[i].name.empty() && stages[i].name == l) return i;
    if (auto n = parse_uint(name); n && *n < stages.size()) return static_cast<size_t>(*n);
    return std::nullopt;
}

} // namespace ctk::build
