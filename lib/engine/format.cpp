#include "engine/format.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>

#include "core/error.hpp"
#include "core/parallel.hpp"
#include "core/strings.hpp"

namespace ctk::engine {

namespace {

[[noreturn]] void template_error(const std::string& msg) {
    throw Error("template: " + msg, ErrorKind::usage);
}

// ---------------------------------------------------------------- lexing

enum class Tok { field, variable, dot, string, number, boolean, ident, pipe, lparen, rparen, end };

struct Token {
    Tok kind;
    std::string text; // field: ".A.B" split later; string: unquoted value
};

std::vector<Token> lex_action(std::string_view s) {
    std::vector<Token> out;
    size_t i = 0;
    auto is_ident = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    };
    while (i < s.size()) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            i++;
        } else if (c == '|') {
            out.push_back({Tok::pipe, "|"});
            i++;
        } else if (c == '(') {
            out.push_back({Tok::lparen, "("});
            i++;
        } else if (c == ')') {
            out.push_back({Tok::rparen, ")"});
            i++;
        } else if (c == '"') {
            std::string v;
            i++;
            while (i < s.size() && s[i] != '"') {
                if (s[i] == '\\' && i + 1 < s.size()) {
                    char e = s[++i];
                    v += e == 'n' ? '\n' : e == 't' ? '\t' : e;
                } else {
                    v += s[i];
                }
                i++;
            }
            if (i >= s.size()) template_error("unterminated quoted string");
            i++;
            out.push_back({Tok::string, v});
        } else if (c == '`') {
            size_t e = s.find('`', i + 1);
            if (e == std::string_view::npos) template_error("unterminated raw string");
            out.push_back({Tok::string, std::string(s.substr(i + 1, e - i - 1))});
            i = e + 1;
        } else if (c == '.' || c == '$') {
            size_t j = i + 1;
            while (j < s.size() && (is_ident(s[j]) || s[j] == '.')) j++;
            std::string t(s.substr(i, j - i));
            if (t == ".") out.push_back({Tok::dot, t});
            else if (c == '$') out.push_back({Tok::variable, t});
            else out.push_back({Tok::field, t});
            i = j;
        } else if ((c >= '0' && c <= '9') || c == '-') {
            size_t j = i + 1;
            while (j < s.size() && ((s[j] >= '0' && s[j] <= '9') || s[j] == '.')) j++;
            out.push_back({Tok::number, std::string(s.substr(i, j - i))});
            i = j;
        } else if (is_ident(c)) {
            size_t j = i;
            while (j < s.size() && is_ident(s[j])) j++;
            std::string t(s.substr(i, j - i));
            // a function result may be followed by a field chain: (index .A "b").C is handled
            // by parens; plain identifiers are functions or keywords
            out.push_back({(t == "true" || t == "false") ? Tok::boolean : Tok::ident, t});
            i = j;
        } else {
            template_error(std::string("unexpected character ") + quote(std::string(1, c)) +
                           " in action");
        }
    }
    out.push_back({Tok::end, ""});
    return out;
}

// ---------------------------------------------------------------- parse tree

struct Pipeline;

struct Operand {
    enum Kind { Field, Variable, Dot, Literal, Sub } kind = Dot;
    std::vector<std::string> chain; // field names after the base
    Json literal;
    std::shared_ptr<Pipeline> sub;  // parenthesised pipeline
};

struct Command {
    std::string function; // "" = a single operand
    std::vector<Operand> args;
};

struct Pipeline {
    std::vector<Command> commands;
};

std::vector<std::string> split_chain(const std::string& t) {
    std::vector<std::string> parts;
    for (auto& p : split(t, '.'))
        if (!p.empty()) parts.push_back(p);
    return parts;
}

class ActionParser {
public:
    explicit ActionParser(std::vector<Token> toks) : t_(std::move(toks)) {}

    Pipeline pipeline() {
        Pipeline p;
        p.commands.push_back(command());
        while (peek().kind == Tok::pipe) {
            next();
            p.commands.push_back(command());
        }
        return p;
    }
    bool at_end() const { return t_[i_].kind == Tok::end; }

private:
    const Token& peek() const { return t_[i_]; }
    const Token& next() { return t_[i_++]; }

    Operand operand() {
        const Token& tok = next();
        Operand o;
        switch (tok.kind) {
        case Tok::dot: o.kind = Operand::Dot; break;
        case Tok::field:
            o.kind = Operand::Field;
            o.chain = split_chain(tok.text);
            break;
        case Tok::variable: {
            o.kind = Operand::Variable;
            auto dot = tok.text.find('.');
            if (tok.text.substr(0, dot) != "$") template_error("undefined variable " + tok.text.substr(0, dot));
            if (dot != std::string::npos) o.chain = split_chain(tok.text.substr(dot));
            break;
        }
        case Tok::string: o.kind = Operand::Literal; o.literal = tok.text; break;
        case Tok::boolean: o.kind = Operand::Literal; o.literal = tok.text == "true"; break;
        case Tok::number: {
            o.kind = Operand::Literal;
            // "-", "1.2.3", or beyond int64: Go's "bad number syntax", never stoll's exception
            const char* b = tok.text.data();
            const char* e = b + tok.text.size();
            bool ok = false;
            if (tok.text.find('.') != std::string::npos) {
                double d = 0;
                auto r = std::from_chars(b, e, d);
                ok = r.ec == std::errc() && r.ptr == e;
                o.literal = d;
            } else {
                int64_t n = 0;
                auto r = std::from_chars(b, e, n);
                ok = r.ec == std::errc() && r.ptr == e;
                o.literal = n;
            }
            if (!ok) template_error("bad number syntax: \"" + tok.text + "\"");
            break;
        }
        case Tok::lparen: {
            o.kind = Operand::Sub;
            o.sub = std::make_shared<Pipeline>(pipeline());
            if (next().kind != Tok::rparen) template_error("unclosed left paren");
            // (…).Field
            if (peek().kind == Tok::field) o.chain = split_chain(next().text);
            break;
        }
        default: template_error("unexpected " + quote(tok.text) + " in operand");
        }
        return o;
    }

    Command command() {
        Command c;
        if (peek().kind == Tok::ident) {
            c.function = next().text;
        } else {
            c.args.push_back(operand());
        }
        while (peek().kind != Tok::pipe && peek().kind != Tok::end && peek().kind != Tok::rparen)
            c.args.push_back(operand());
        if (c.function.empty() && c.args.size() > 1)
            template_error("can't give argument to non-function");
        return c;
    }

    std::vector<Token> t_;
    size_t i_ = 0;
};

} // namespace

struct Template::Node {
    enum Kind { Text, Action, Range, If, With } kind = Text;
    std::string text;
    Pipeline pipe;
    std::vector<std::unique_ptr<Node>> body, else_body;
};

namespace {

using NodeList = std::vector<std::unique_ptr<Template::Node>>;

struct RawPiece {
    bool action;
    std::string text;
};

// Splits into text and actions, applying "{{-" and "-}}" trimming.
std::vector<RawPiece> split_pieces(std::string_view s) {
    std::vector<RawPiece> out;
    size_t i = 0;
    bool trim_next = false;
    while (i <= s.size()) {
        size_t open = s.find("{{", i);
        std::string text(s.substr(i, open == std::string_view::npos ? std::string_view::npos : open - i));
        if (trim_next) {
            size_t k = text.find_first_not_of(" \t\r\n");
            text = k == std::string::npos ? "" : text.substr(k);
        }
        if (open == std::string_view::npos) {
            if (!text.empty()) out.push_back({false, text});
            break;
        }
        size_t close = s.find("}}", open + 2);
        if (close == std::string_view::npos) template_error("unclosed action");
        std::string_view inner = s.substr(open + 2, close - open - 2);
        if (inner.size() >= 2 && inner[0] == '-' && (inner[1] == ' ' || inner[1] == '\t' || inner[1] == '\n')) {
            size_t k = text.find_last_not_of(" \t\r\n");
            text = k == std::string::npos ? "" : text.substr(0, k + 1);
            inner.remove_prefix(2);
        }
        trim_next = false;
        if (inner.size() >= 2 && inner.back() == '-' &&
            (inner[inner.size() - 2] == ' ' || inner[inner.size() - 2] == '\t' || inner[inner.size() - 2] == '\n')) {
            trim_next = true;
            inner.remove_suffix(2);
        }
        if (!text.empty()) out.push_back({false, text});
        std::string_view body = trim(inner);
        if (!(body.size() >= 4 && body.substr(0, 2) == "/*")) out.push_back({true, std::string(body)});
        i = close + 2;
    }
    return out;
}

enum class Stop { eof, end, else_ };

Stop parse_nodes(const std::vector<RawPiece>& pieces, size_t& i, NodeList& out) {
    while (i < pieces.size()) {
        const RawPiece& p = pieces[i++];
        auto node = std::make_unique<Template::Node>();
        if (!p.action) {
            node->kind = Template::Node::Text;
            node->text = p.text;
            out.push_back(std::move(node));
            continue;
        }
        std::string_view a = p.text;
        auto keyword = [&](std::string_view kw) {
            return a.substr(0, kw.size()) == kw && (a.size() == kw.size() || a[kw.size()] == ' ' ||
                                                   a[kw.size()] == '\t' || a[kw.size()] == '\n');
        };
        if (a == "end") return Stop::end;
        if (a == "else") return Stop::else_;
        Template::Node::Kind kind = Template::Node::Action;
        if (keyword("range")) {
            kind = Template::Node::Range;
            a.remove_prefix(5);
        } else if (keyword("if")) {
            kind = Template::Node::If;
            a.remove_prefix(2);
        } else if (keyword("with")) {
            kind = Template::Node::With;
            a.remove_prefix(4);
        } else if (keyword("define") || keyword("template") || keyword("block")) {
            template_error("unsupported action " + quote(std::string(a)));
        }
        ActionParser parser(lex_action(a));
        if (parser.at_end()) template_error("missing value for command");
        node->kind = kind;
        node->pipe = parser.pipeline();
        if (!parser.at_end()) template_error("unexpected token in " + quote(p.text));
        if (kind != Template::Node::Action) {
            Stop s = parse_nodes(pieces, i, node->body);
            if (s == Stop::else_) s = parse_nodes(pieces, i, node->else_body);
            if (s != Stop::end) template_error("unexpected EOF: missing {{end}}");
        }
        out.push_back(std::move(node));
    }
    return Stop::eof;
}

// ---------------------------------------------------------------- evaluation

const Json& missing_value() {
    static const Json v = Json::object({{"\x01missing", true}});
    return v;
}
bool is_missing(const Json& v) { return v.is_object() && v.size() == 1 && v.contains("\x01missing"); }

Json field_of(const Json& base, const std::vector<std::string>& chain) {
    Json cur = base;
    for (const auto& name : chain) {
        if (is_missing(cur)) return cur;
        if (cur.is_null()) template_error("nil pointer evaluating ." + name);
        if (!cur.is_object()) template_error("can't evaluate field " + name + " in type " + cur.type_name());
        auto it = cur.find(name);
        if (it == cur.end()) return missing_value();
        Json next = *it;
        cur = std::move(next);
    }
    return cur;
}

bool truthy(const Json& v) {
    if (is_missing(v) || v.is_null()) return false;
    if (v.is_boolean()) return v.get<bool>();
    if (v.is_number_integer()) return v.get<int64_t>() != 0;
    if (v.is_number()) return v.get<double>() != 0;
    if (v.is_string() || v.is_array() || v.is_object()) return !v.empty();
    return true;
}

std::string title_case(std::string s) {
    bool start = true;
    for (char& c : s) {
        if (start && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        start = !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'));
    }
    return s;
}

std::string printf_go(const std::string& fmt, const std::vector<Json>& args) {
    std::string out;
    size_t ai = 0;
    for (size_t i = 0; i < fmt.size(); i++) {
        if (fmt[i] != '%' || i + 1 >= fmt.size()) {
            out += fmt[i];
            continue;
        }
        char verb = fmt[++i];
        if (verb == '%') {
            out += '%';
            continue;
        }
        if (ai >= args.size()) {
            out += std::string("%!") + verb + "(MISSING)";
            continue;
        }
        const Json& a = args[ai++];
        if (verb == 'q') out += dump_compact(Json(go_print(a)));
        else out += go_print(a);
    }
    return out;
}

struct Evaluator {
    const Json& root;

    Json operand(const Operand& o, const Json& dot) {
        switch (o.kind) {
        case Operand::Dot: return dot;
        case Operand::Field: return field_of(dot, o.chain);
        case Operand::Variable: return field_of(root, o.chain);
        case Operand::Literal: return o.literal;
        case Operand::Sub: return field_of(pipeline(*o.sub, dot), o.chain);
        }
        return Json();
    }

    Json pipeline(const Pipeline& p, const Json& dot) {
        Json value;
        bool have = false;
        for (const auto& c : p.commands) {
            std::vector<Json> args;
            for (const auto& a : c.args) args.push_back(operand(a, dot));
            if (have) args.push_back(value);
            if (c.function.empty()) {
                if (args.size() != 1) template_error("can't give argument to non-function");
                value = args[0];
            } else {
                value = call(c.function, args);
            }
            have = true;
        }
        return value;
    }

    static Json call(const std::string& f, std::vector<Json>& a) {
        auto need = [&](size_t n) {
            if (a.size() != n)
                template_error("wrong number of args for " + f + ": want " + std::to_string(n) +
                               " got " + std::to_string(a.size()));
        };
        auto str = [](const Json& v) { return v.is_string() ? v.get<std::string>() : go_print(v); };
        if (f == "json") {
            need(1);
            return is_missing(a[0]) ? Json("null") : Json(dump_compact(a[0]));
        }
        if (f == "index") {
            if (a.empty()) template_error("wrong number of args for index");
            Json cur = a[0];
            for (size_t i = 1; i < a.size(); i++) {
                if (cur.is_object() && a[i].is_string()) {
                    auto it = cur.find(a[i].get<std::string>());
                    if (it == cur.end()) return missing_value();
                    Json n = *it;
                    cur = std::move(n);
                } else if (cur.is_array() && a[i].is_number_integer()) {
                    auto k = a[i].get<int64_t>();
                    if (k < 0 || static_cast<size_t>(k) >= cur.size())
                        template_error("index out of range: " + std::to_string(k));
                    Json n = cur[static_cast<size_t>(k)];
                    cur = std::move(n);
                } else if (cur.is_null() || is_missing(cur)) {
                    return missing_value();
                } else {
                    template_error("can't index item of type " + std::string(cur.type_name()));
                }
            }
            return cur;
        }
        if (f == "join") {
            need(2);
            std::vector<std::string> parts;
            if (a[0].is_array())
                for (const auto& x : a[0]) parts.push_back(str(x));
            return join(parts, str(a[1]));
        }
        if (f == "len") {
            need(1);
            if (a[0].is_string()) return a[0].get<std::string>().size();
            if (a[0].is_array() || a[0].is_object()) return a[0].size();
            if (a[0].is_null()) return 0;
            template_error("len of type " + std::string(a[0].type_name()));
        }
        if (f == "lower") {
            need(1);
            return to_lower(str(a[0]));
        }
        if (f == "upper") {
            need(1);
            std::string s = str(a[0]);
            for (char& c : s)
                if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
            return s;
        }
        if (f == "title") {
            need(1);
            return title_case(str(a[0]));
        }
        if (f == "split") {
            need(2);
            Json arr = Json::array();
            std::string s = str(a[0]), sep = str(a[1]);
            if (sep.empty()) {
                for (char c : s) arr.push_back(std::string(1, c));
                return arr;
            }
            size_t pos = 0;
            for (;;) {
                size_t k = s.find(sep, pos);
                arr.push_back(s.substr(pos, k == std::string::npos ? std::string::npos : k - pos));
                if (k == std::string::npos) break;
                pos = k + sep.size();
            }
            return arr;
        }
        if (f == "truncate") {
            need(2);
            std::string s = str(a[0]);
            auto n = a[1].is_number_integer() ? a[1].get<int64_t>() : 0;
            if (n >= 0 && static_cast<size_t>(n) < s.size()) s.resize(static_cast<size_t>(n));
            return s;
        }
        if (f == "pad") {
            need(3);
            std::string s = str(a[0]);
            if (!a[1].is_number_integer() || !a[2].is_number_integer())
                template_error("wrong type for value; expected int");
            auto l = a[1].get<int64_t>(), r = a[2].get<int64_t>();
            return std::string(static_cast<size_t>(std::max<int64_t>(l, 0)), ' ') + s +
                   std::string(static_cast<size_t>(std::max<int64_t>(r, 0)), ' ');
        }
        if (f == "print" || f == "println") {
            std::string out;
            for (size_t i = 0; i < a.size(); i++) {
                if (i && (f == "println" || (!a[i].is_string() && !a[i - 1].is_string()))) out += ' ';
                out += go_print(a[i]);
            }
            if (f == "println") out += '\n';
            return out;
        }
        if (f == "printf") {
            if (a.empty() || !a[0].is_string()) template_error("printf needs a format string");
            std::vector<Json> rest(a.begin() + 1, a.end());
            return printf_go(a[0].get<std::string>(), rest);
        }
        if (f == "eq" || f == "ne") {
            if (a.size() < 2) template_error("missing argument for comparison");
            bool eq = false;
            for (size_t i = 1; i < a.size(); i++) eq = eq || a[0] == a[i];
            return f == "eq" ? eq : !eq;
        }
        if (f == "not") {
            need(1);
            return !truthy(a[0]);
        }
        if (f == "and" || f == "or") {
            if (a.empty()) template_error("missing argument for " + f);
            for (const auto& x : a)
                if (truthy(x) == (f == "or")) return x;
            return a.back();
        }
        template_error("function " + quote(f) + " not defined");
    }

    void run(const NodeList& nodes, const Json& dot, std::string& out) {
        for (const auto& n : nodes) {
            switch (n->kind) {
            case Template::Node::Text: out += n->text; break;
            case Template::Node::Action: {
                Json v = pipeline(n->pipe, dot);
                out += go_print(v);
                break;
            }
            case Template::Node::If: {
                Json v = pipeline(n->pipe, dot);
                run(truthy(v) ? n->body : n->else_body, dot, out);
                break;
            }
            case Template::Node::With: {
                Json v = pipeline(n->pipe, dot);
                if (truthy(v)) run(n->body, v, out);
                else run(n->else_body, dot, out);
                break;
            }
            case Template::Node::Range: {
                Json v = pipeline(n->pipe, dot);
                if (!truthy(v)) {
                    run(n->else_body, dot, out);
                    break;
                }
                if (v.is_array() || v.is_object()) {
                    for (const auto& item : v) run(n->body, item, out); // objects: sorted keys, as Go
                } else if (v.is_number_integer()) {
                    for (int64_t i = 0; i < v.get<int64_t>(); i++) run(n->body, Json(i), out);
                } else {
                    template_error("range can't iterate over " + go_print(v));
                }
                break;
            }
            }
        }
    }
};

} // namespace

std::string go_print(const Json& v) {
    if (is_missing(v)) return "<no value>";
    switch (v.type()) {
    case Json::value_t::null: return "<nil>";
    case Json::value_t::string: return v.get<std::string>();
    case Json::value_t::boolean: return v.get<bool>() ? "true" : "false";
    case Json::value_t::number_integer: return std::to_string(v.get<int64_t>());
    case Json::value_t::number_unsigned: return std::to_string(v.get<uint64_t>());
    case Json::value_t::number_float: {
        double d = v.get<double>();
        char buf[64];
        // whole numbers below 1e21 without an exponent, as Go's %v; the range
        // is checked before the cast (beyond int64 it is undefined)
        if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 1e21) {
            if (std::fabs(d) < 9e18) return std::to_string(static_cast<int64_t>(d));
            std::snprintf(buf, sizeof buf, "%.0f", d);
            return buf;
        }
        std::snprintf(buf, sizeof buf, "%g", d);
        return buf;
    }
    case Json::value_t::array: {
        std::string out = "[";
        bool first = true;
        for (const auto& x : v) {
            if (!first) out += ' ';
            first = false;
            out += go_print(x);
        }
        return out + "]";
    }
    case Json::value_t::object: {
        std::string out = "map[";
        bool first = true;
        for (auto it = v.begin(); it != v.end(); ++it) {
            if (!first) out += ' ';
            first = false;
            out += it.key() + ":" + go_print(it.value());
        }
        return out + "]";
    }
    default: return dump_compact(v);
    }
}

Template::Template() = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;
Template::~Template() = default;

Template Template::parse(std::string_view text) {
    Template t;
    auto pieces = split_pieces(text);
    size_t i = 0;
    Stop s = parse_nodes(pieces, i, t.nodes_);
    if (s == Stop::end) template_error("unexpected {{end}}");
    if (s == Stop::else_) template_error("unexpected {{else}}");
    return t;
}

std::string Template::execute(const Json& dot) const {
    Evaluator ev{dot};
    std::string out;
    ev.run(nodes_, dot, out);
    return out;
}

std::string tabulate(const std::vector<std::string>& lines, size_t minwidth) {
    constexpr size_t padding = 3;
    std::vector<std::vector<std::string>> cells;
    std::vector<size_t> widths;
    auto width_of = [](const std::string& s) {
        size_t n = 0;
        for (unsigned char c : s)
            if ((c & 0xC0) != 0x80) n++; // count UTF-8 code points ("…" is one column)
        return n;
    };
    for (const auto& l : lines) {
        auto row = split(l, '\t');
        for (size_t i = 0; i + 1 < row.size(); i++) {
            if (widths.size() <= i) widths.resize(i + 1, 0);
            widths[i] = std::max(widths[i], std::max(minwidth, width_of(row[i]) + padding));
        }
        cells.push_back(std::move(row));
    }
    std::string out;
    for (const auto& row : cells) {
        std::string line;
        for (size_t i = 0; i < row.size(); i++) {
            line += row[i];
            if (i + 1 < row.size()) line += std::string(widths[i] - width_of(row[i]), ' ');
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out += line + "\n";
    }
    return out;
}

std::string unescape_format(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); i++) {
        if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == 't' || s[i + 1] == 'n')) {
            out += s[i + 1] == 't' ? '\t' : '\n';
            i++;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::string render_listing(const Listing& listing, std::string_view format_in, const std::vector<Json>& rows) {
    std::string format(trim(format_in));
    if (format.empty()) format = listing.default_table;
    if (format == "json") format = "{{json .}}";
    bool table = format.rfind("table", 0) == 0 && (format.size() == 5 || format[5] == ' ' || format[5] == '\t');
    std::string body = unescape_format(table ? trim(std::string_view(format).substr(5)) : std::string_view(format));
    if (table && body.empty()) body = unescape_format(std::string_view(listing.default_table).substr(6));
    Template tpl = Template::parse(body);
    std::vector<std::string> lines;
    if (table) {
        Json header = Json::object();
        for (const auto& [field, title] : listing.headers) header[field] = title;
        // Fields without a known header show their own name in capitals, as Docker.
        Template h = Template::parse(body);
        Json hdr = header;
        for (const auto& row : rows)
            for (auto it = row.begin(); it != row.end(); ++it)
                if (!hdr.contains(it.key())) {
                    std::string up = it.key();
                    for (char& c : up)
                        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
                    hdr[it.key()] = up;
                }
        try {
            lines.push_back(h.execute(hdr));
        } catch (const Error&) {
            lines.push_back("");
        }
    }
    // each row on its own (a listing of a thousand containers: on every CPU)
    size_t first = lines.size();
    lines.resize(first + rows.size());
    for_each_index_in_parallel(rows.size(), [&](size_t i) { lines[first + i] = tpl.execute(rows[i]); });
    if (table) return tabulate(lines);
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
}

std::string short_id(const std::string& id) {
    std::string s = id.rfind("sha256:", 0) == 0 ? id.substr(7) : id;
    return s.substr(0, 12);
}

std::string ellipsis(const std::string& s, size_t n) {
    std::vector<size_t> starts; // where each code point begins
    for (size_t i = 0; i < s.size(); i++)
        if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) starts.push_back(i);
    if (starts.size() <= n) return s;
    return s.substr(0, starts[n - 1]) + "…";
}

std::string join_labels(const Json& labels) {
    std::vector<std::string> parts;
    if (labels.is_object())
        for (auto it = labels.begin(); it != labels.end(); ++it)
            parts.push_back(it.key() + "=" + (it.value().is_string() ? it.value().get<std::string>() : ""));
    return join(parts, ",");
}

std::string ports_display(const Json& ports) {
    std::vector<std::string> out;
    if (ports.is_array())
        for (const auto& p : ports) {
            if (!p.is_object()) continue;
            std::string type = p.contains("Type") && p["Type"].is_string() ? p["Type"].get<std::string>() : "tcp";
            int priv = p.contains("PrivatePort") && p["PrivatePort"].is_number() ? p["PrivatePort"].get<int>() : 0;
            int pub = p.contains("PublicPort") && p["PublicPort"].is_number() ? p["PublicPort"].get<int>() : 0;
            if (pub > 0) {
                std::string ip = p.contains("IP") && p["IP"].is_string() ? p["IP"].get<std::string>() : "";
                out.push_back((ip.empty() ? "0.0.0.0" : ip) + ":" + std::to_string(pub) + "->" + std::to_string(priv) +
                              "/" + type);
            } else {
                out.push_back(std::to_string(priv) + "/" + type);
            }
        }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return join(out, ", ");
}

std::string render_inspect(const std::vector<Json>& objects, const std::string& format) {
    if (format.empty()) return Json(objects).dump(4) + "\n";
    std::string out;
    if (format == "json") {
        for (const auto& o : objects) out += dump_compact(o) + "\n";
        return out;
    }
    Template t = Template::parse(unescape_format(format));
    for (const auto& o : objects) out += t.execute(o) + "\n";
    return out;
}

std::string render_rows(const Listing& listing, std::string_view format, const std::vector<Json>& rows, bool quiet,
                        const std::string& id_key) {
    if (!quiet) return render_listing(listing, format, rows);
    std::string out;
    for (const auto& r : rows) out += r[id_key].get<std::string>() + "\n";
    return out;
}

} // namespace ctk::engine
