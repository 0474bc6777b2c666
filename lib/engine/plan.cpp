#include "engine/plan.hpp"

#include <fcntl.h>
#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/fs.hpp"
#include "core/lock.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"

extern char** environ;

namespace ctk::engine {

// ---------------------------------------------------------------- builders

namespace {

// A step of `kind` on `path`: the shape most builders share.
Step path_step(Step::Kind kind, std::string path, std::string comment = "") {
    Step s;
    s.kind = kind;
    s.path = std::move(path);
    s.comment = std::move(comment);
    return s;
}

} // namespace

Step run_step(std::vector<std::string> argv, std::string comment) {
    Step s;
    s.kind = Step::Kind::run;
    s.argv = std::move(argv);
    s.comment = std::move(comment);
    return s;
}

Step pipe_step(std::vector<std::string> from, std::vector<std::string> to, std::string comment) {
    Step s = run_step(std::move(from), std::move(comment));
    s.pipe_to = std::move(to);
    return s;
}

Step write_file_step(std::string path, std::string content, mode_t mode, std::string comment) {
    Step s = path_step(Step::Kind::write_file, std::move(path), std::move(comment));
    s.content = std::move(content);
    s.mode = mode;
    return s;
}

Step edit_json_step(std::string path, std::vector<JsonEdit> edits, std::string comment) {
    Step s = path_step(Step::Kind::edit_json, std::move(path), std::move(comment));
    s.edits = std::move(edits);
    return s;
}

Step make_dir_step(std::string path) { return path_step(Step::Kind::make_dir, std::move(path)); }

Step remove_tree_step(std::string path, std::string comment) {
    return path_step(Step::Kind::remove_tree, std::move(path), std::move(comment));
}

Step make_netns_step(std::string path, std::string comment) {
    return path_step(Step::Kind::make_netns, std::move(path), std::move(comment));
}

Step remove_netns_step(std::string path) {
    Step s = path_step(Step::Kind::remove_netns, std::move(path));
    s.may_fail = true;
    return s;
}

Step capture_step(std::string var, std::string file, std::string expr, bool strip_prefix_len) {
    Step s;
    s.kind = Step::Kind::capture;
    s.var = std::move(var);
    s.path = std::move(file);
    s.expr = std::move(expr);
    s.strip_prefix_len = strip_prefix_len;
    return s;
}

Step copy_file_step(std::string from, std::string to, std::string comment) {
    Step s = path_step(Step::Kind::copy_file, std::move(to), std::move(comment));
    s.from = std::move(from);
    return s;
}

Step symlink_step(std::string target, std::string path, std::string comment) {
    Step s = path_step(Step::Kind::symlink, std::move(path), std::move(comment));
    s.from = std::move(target);
    return s;
}

Step unlink_if_link_step(std::string target, std::string path, std::string comment) {
    Step s = path_step(Step::Kind::unlink_if_link, std::move(path), std::move(comment));
    s.from = std::move(target);
    return s;
}

Step arm_rollback_step(std::vector<Step> undo, std::string comment) {
    Step s;
    s.kind = Step::Kind::arm_rollback;
    s.steps = std::move(undo);
    for (auto& u : s.steps) u.may_fail = u.may_fail || u.kind == Step::Kind::run;
    s.comment = std::move(comment);
    return s;
}

Step disarm_rollback_step() {
    Step s;
    s.kind = Step::Kind::disarm_rollback;
    return s;
}

// ---------------------------------------------------------------- JSON edits

namespace {

Json* walk(Json& doc, const std::vector<std::string>& path, size_t upto, bool create) {
    Json* cur = &doc;
    for (size_t i = 0; i < upto; i++) {
        const std::string& k = path[i];
        if (!k.empty() && k[0] == '#') {
            size_t idx = std::stoul(k.substr(1));
            if (!cur->is_array() || idx >= cur->size()) {
                if (!create) return nullptr;
                throw_invalid("JSON edit: index " + k + " out of range");
            }
            cur = &(*cur)[idx];
        } else {
            if (cur->is_null() && create) *cur = Json::object();
            if (!cur->is_object()) {
                if (!create) return nullptr;
                throw_invalid("JSON edit: " + k + ": parent is not an object");
            }
            if (!cur->contains(k) && !create) return nullptr;
            cur = &(*cur)[k];
        }
    }
    return cur;
}

} // namespace

void apply_edits(Json& doc, const std::vector<JsonEdit>& edits) {
    for (const auto& e : edits) {
        switch (e.op) {
        case JsonEdit::Op::set: *walk(doc, e.path, e.path.size(), true) = e.value; break;
        case JsonEdit::Op::remove: {
            if (e.path.empty()) break;
            Json* parent = walk(doc, e.path, e.path.size() - 1, false);
            if (!parent) break;
            const std::string& k = e.path.back();
            if (!k.empty() && k[0] == '#') {
                size_t idx = std::stoul(k.substr(1));
                if (parent->is_array() && idx < parent->size()) parent->erase(idx);
            } else if (parent->is_object()) {
                parent->erase(k);
            }
            break;
        }
        case JsonEdit::Op::append: {
            Json* arr = walk(doc, e.path, e.path.size(), true);
            if (arr->is_null()) *arr = Json::array();
            arr->push_back(e.value);
            break;
        }
        case JsonEdit::Op::set_namespace:
        case JsonEdit::Op::remove_namespace: {
            Json& ns = doc["linux"]["namespaces"];
            if (ns.is_null()) ns = Json::array();
            Json out = Json::array();
            bool found = false;
            for (auto& n : ns) {
                if (n.value("type", "") == e.key) {
                    found = true;
                    if (e.op == JsonEdit::Op::remove_namespace) continue;
                    n["path"] = e.value;
                }
                out.push_back(n);
            }
            if (!found && e.op == JsonEdit::Op::set_namespace)
                out.push_back(Json{{"type", e.key}, {"path", e.value}});
            ns = std::move(out);
            break;
        }
        case JsonEdit::Op::set_env: {
            Json& env = doc["process"]["env"];
            if (!env.is_array()) env = Json::array();
            Json out = Json::array();
            for (const auto& kv : env)
                if (!(kv.is_string() && kv.get<std::string>().rfind(e.key + "=", 0) == 0)) out.push_back(kv);
            out.push_back(e.value);
            env = std::move(out);
            break;
        }
        case JsonEdit::Op::capabilities: {
            Json& caps = doc["process"]["capabilities"];
            if (!caps.is_object()) caps = Json::object();
            for (const char* set : {"bounding", "effective", "permitted"}) {
                std::set<std::string> v;
                if (!e.value.value("all_dropped", false) && caps.contains(set) && caps[set].is_array())
                    for (const auto& c : caps[set]) v.insert(c.get<std::string>());
                for (const auto& c : e.value.value("add", Json::array())) v.insert(c.get<std::string>());
                for (const auto& c : e.value.value("drop", Json::array())) v.erase(c.get<std::string>());
                caps[set] = Json(std::vector<std::string>(v.begin(), v.end()));
            }
            break;
        }
        case JsonEdit::Op::set_rlimit: {
            Json& rl = doc["process"]["rlimits"];
            if (!rl.is_array()) rl = Json::array();
            Json out = Json::array();
            for (const auto& r : rl)
                if (r.value("type", "") != e.key) out.push_back(r);
            out.push_back(e.value);
            rl = std::move(out);
            break;
        }
        case JsonEdit::Op::remove_entries: {
            Json* arr = walk(doc, e.path, e.path.size(), false);
            if (!arr || !arr->is_array()) break;
            Json out = Json::array();
            for (auto& x : *arr) {
                const Json* m = &x;
                for (const auto& k : split(e.key, '/')) {
                    if (!m->is_object() || !m->contains(k)) {
                        m = nullptr;
                        break;
                    }
                    m = &(*m)[k];
                }
                if (!m || *m != e.value) out.push_back(std::move(x));
            }
            *arr = std::move(out);
            break;
        }
        }
    }
}

namespace {

std::string jq_path(const std::vector<std::string>& path) {
    std::string out;
    auto simple = [](const std::string& k) {
        if (k.empty() || (k[0] >= '0' && k[0] <= '9')) return false;
        for (char c : k)
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
                return false;
        return true;
    };
    for (const auto& k : path) {
        if (!k.empty() && k[0] == '#') out += "[" + k.substr(1) + "]";
        else if (simple(k)) out += "." + k;
        else out += "[" + dump_compact(Json(k)) + "]";
    }
    return out.empty() ? "." : out;
}

std::string jq_program(const std::vector<JsonEdit>& edits) {
    std::vector<std::string> parts;
    for (const auto& e : edits) {
        std::string v = dump_compact(e.value);
        switch (e.op) {
        case JsonEdit::Op::set: parts.push_back(jq_path(e.path) + " = " + v); break;
        case JsonEdit::Op::remove: parts.push_back("del(" + jq_path(e.path) + ")"); break;
        case JsonEdit::Op::append: parts.push_back(jq_path(e.path) + " += [" + v + "]"); break;
        case JsonEdit::Op::set_namespace: {
            std::string t = dump_compact(Json(e.key));
            parts.push_back("if any((.linux.namespaces // [])[]; .type == " + t + ") then (.linux.namespaces[] | select(.type == " +
                            t + ")).path = " + v + " else .linux.namespaces += [{\"type\": " + t +
                            ", \"path\": " + v + "}] end");
            break;
        }
        case JsonEdit::Op::remove_namespace:
            parts.push_back(".linux.namespaces |= map(select(.type != " + dump_compact(Json(e.key)) + "))");
            break;
        case JsonEdit::Op::set_env:
            parts.push_back(".process.env = ((.process.env // []) | map(select(startswith(" +
                            dump_compact(Json(e.key + "=")) + ") | not)) + [" + v + "])");
            break;
        case JsonEdit::Op::capabilities: {
            std::string add = dump_compact(e.value.value("add", Json::array()));
            std::string drop = dump_compact(e.value.value("drop", Json::array()));
            std::string base = e.value.value("all_dropped", false) ? "[]" : ".value";
            parts.push_back(".process.capabilities |= with_entries(if (.key == \"bounding\" or .key == \"effective\" or "
                            ".key == \"permitted\") then .value = ((" + base + " + " + add + " | unique) - " + drop +
                            ") else . end)");
            break;
        }
        case JsonEdit::Op::set_rlimit:
            parts.push_back(".process.rlimits = ((.process.rlimits // []) | map(select(.type != " +
                            dump_compact(Json(e.key)) + ")) + [" + v + "])");
            break;
        case JsonEdit::Op::remove_entries:
            parts.push_back(jq_path(e.path) + " |= map(select(" + jq_path(split(e.key, '/')) + " != " + v + "))");
            break;
        }
    }
    if (parts.size() == 1) return parts[0];
    return "\n    " + join(parts, "\n  | ") + "\n";
}

// ---------------------------------------------------------------- rendering

bool safe_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("_./:=@%+,-").find(c) != std::string_view::npos;
}

struct Piece {
    bool var;
    std::string text;
};

struct Renderer {
    std::vector<std::pair<std::string, std::string>> subst; // value -> name, longest value first
    std::vector<std::string> path_dirs;

    // A tool found in one of the PATH directories the script sets is shown by its name.
    std::string command_name(const std::string& argv0) const {
        auto slash = argv0.rfind('/');
        if (slash == std::string::npos) return argv0;
        std::string dir = argv0.substr(0, slash);
        for (const auto& d : path_dirs)
            if (d == dir) return argv0.substr(slash + 1);
        return argv0;
    }

    std::vector<Piece> pieces(const std::string& s) const {
        std::vector<Piece> out;
        std::string lit;
        size_t i = 0;
        while (i < s.size()) {
            // ${VAR} placeholders from capture steps stay variables
            if (s[i] == '$' && i + 1 < s.size() && s[i + 1] == '{') {
                size_t e = s.find('}', i);
                if (e != std::string::npos) {
                    if (!lit.empty()) out.push_back({false, std::move(lit)});
                    lit.clear();
                    out.push_back({true, s.substr(i + 2, e - i - 2)});
                    i = e + 1;
                    continue;
                }
            }
            bool matched = false;
            for (const auto& [value, name] : subst) {
                if (!value.empty() && s.compare(i, value.size(), value) == 0) {
                    if (!lit.empty()) out.push_back({false, std::move(lit)});
                    lit.clear();
                    out.push_back({true, name});
                    i += value.size();
                    matched = true;
                    break;
                }
            }
            if (!matched) lit += s[i++];
        }
        if (!lit.empty()) out.push_back({false, std::move(lit)});
        return out;
    }

    std::string word(const std::string& s) const {
        auto ps = pieces(s);
        bool any_var = false;
        for (const auto& p : ps) any_var = any_var || p.var;
        if (!any_var) return shell_word(s);
        std::string out = "\"";
        for (const auto& p : ps) {
            if (p.var) {
                out += "${" + p.text + "}";
                continue;
            }
            for (char c : p.text) {
                if (c == '"' || c == '\\' || c == '$' || c == '`') out += '\\';
                out += c;
            }
        }
        return out + "\"";
    }

    // Content for a heredoc: unquoted heredoc (variables expand) when it holds
    // captured ${VAR}s, else a quoted one.
    std::string heredoc(const std::string& content, const std::string& target, mode_t mode) const {
        std::string delim = "EOF";
        while (content.find(delim) != std::string::npos) delim += "_";
        bool has_var = content.find("${") != std::string::npos;
        std::string out = "cat > " + word(target) + " <<" + (has_var ? delim : "'" + delim + "'") + "\n";
        if (has_var) {
            for (size_t i = 0; i < content.size(); i++) {
                char c = content[i];
                if (c == '$' && i + 1 < content.size() && content[i + 1] == '{') {
                    out += c;
                    continue;
                }
                if (c == '$' || c == '`' || c == '\\') out += '\\';
                out += c;
            }
        } else {
            out += content;
        }
        if (content.empty() || content.back() != '\n') out += "\n";
        out += delim + "\n";
        if (mode != 0644) {
            char m[8];
            std::snprintf(m, sizeof m, "%o", static_cast<unsigned>(mode));
            out += "chmod " + std::string(m) + " " + word(target) + "\n";
        }
        return out;
    }

    std::string step(const Step& s, const std::string& indent) const {
        std::string out;
        if (!s.comment.empty()) out += indent + "# " + s.comment + "\n";
        std::string tail = s.may_fail ? " || true" : "";
        switch (s.kind) {
        case Step::Kind::run: {
            std::string cmd;
            if (s.timeout_s > 0) cmd += "timeout " + std::to_string(s.timeout_s) + " ";
            auto command = [&](const std::vector<std::string>& argv) {
                for (size_t i = 0; i < argv.size(); i++) {
                    if (i) cmd += ' ';
                    cmd += word(i == 0 ? command_name(argv[0]) : argv[i]);
                }
            };
            command(s.argv);
            if (s.foreground && s.stdin_null) cmd += " </dev/null";
            if (!s.foreground) {
                if (!s.stdin_inherit) cmd += " <" + (s.stdin_file.empty() ? std::string("/dev/null") : word(s.stdin_file));
                if (!s.pipe_to.empty()) {
                    cmd += " | ";
                    command(s.pipe_to);
                }
                if (!s.stdout_file.empty()) cmd += " >" + word(s.stdout_file);
                else if (!s.show_output && s.keep_output.empty()) cmd += " >/dev/null";
                if (s.may_fail && !s.show_stderr) cmd += " 2>/dev/null";
            }
            if (s.foreground) {
                out += indent + "status=0\n";
                out += indent + cmd + " || status=$?\n";
            } else {
                out += indent + cmd + tail + "\n";
            }
            break;
        }
        case Step::Kind::write_file: {
            std::string h = heredoc(s.content, s.path, s.mode);
            if (indent.empty()) out += h;
            else {
                // keep heredoc bodies unindented; indent only the command lines
                out += h;
            }
            break;
        }
        case Step::Kind::edit_json: {
            std::string f = word(s.path);
            std::string tmp = word(s.path + ".tmp");
            std::string edit = "jq " + shell_word(jq_program(s.edits)) + " " + f + " > " + tmp + " && mv " + tmp + " " + f;
            if (!s.lock.empty()) edit = "( flock 9 && " + edit + " ) 9>" + word(s.lock);
            out += indent + edit + tail + "\n";
            break;
        }
        case Step::Kind::make_dir: out += indent + "mkdir -p " + word(s.path) + tail + "\n"; break;
        case Step::Kind::copy_file: out += indent + "cp " + word(s.from) + " " + word(s.path) + tail + "\n"; break;
        case Step::Kind::symlink: out += indent + "ln -s " + word(s.from) + " " + word(s.path) + tail + "\n"; break;
        case Step::Kind::unlink_if_link:
            out += indent + "[ \"$(readlink " + word(s.path) + " 2>/dev/null)\" != " + word(s.from) + " ] || rm -f " +
                   word(s.path) + "\n";
            break;
        case Step::Kind::remove_tree:
        case Step::Kind::remove_container: out += indent + "rm -rf " + word(s.path) + tail + "\n"; break;
        case Step::Kind::make_netns:
            out += indent + "mkdir -p " + word(s.path.substr(0, s.path.rfind('/'))) + " && touch " + word(s.path) +
                   " && unshare --net=" + word(s.path) + " true" + tail + "\n";
            break;
        case Step::Kind::remove_netns:
            out += indent + "umount " + word(s.path) + " 2>/dev/null || true; rm -f " + word(s.path) + "\n";
            break;
        case Step::Kind::capture: {
            std::string e = s.expr;
            if (s.strip_prefix_len) e += " | split(\"/\")[0]";
            out += indent + s.var + "=$(jq -r " + shell_word(e) + " " + word(s.path) + ")" + "\n";
            break;
        }
        case Step::Kind::arm_rollback: {
            // ctl's rollback as the script's: an exit on error (set -e), or by
            // INT/TERM/HUP, undoes what is made so far
            out += indent + "rollback() {\n";
            for (const auto& sub : s.steps) out += step(sub, indent + "    ");
            out += indent + "}\n";
            out += indent + "trap rollback EXIT\n";
            out += indent + "trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM\n";
            break;
        }
        case Step::Kind::disarm_rollback: out += indent + "trap - EXIT HUP INT TERM\n"; break;
        case Step::Kind::background: {
            out += indent + "(\n";
            for (const auto& sub : s.steps) out += step(sub, indent + "    ");
            out += indent + ") </dev/null >/dev/null 2>&1 &\n";
            break;
        }
        }
        return out;
    }
};

bool has_foreground(const std::vector<Step>& steps) {
    for (const auto& s : steps)
        if (s.kind == Step::Kind::run && s.foreground) return true;
    return false;
}

} // namespace

std::string shell_word(const std::string& w) {
    if (w.empty()) return "''";
    bool safe = true;
    for (char c : w) safe = safe && safe_char(c);
    if (safe) return w;
    std::string out = "'";
    for (char c : w) {
        if (c == '\'') out += "'\\''";
        else out += c;
    }
    return out + "'";
}

std::string render_script(const Plan& plan) {
    Renderer r;
    std::vector<std::pair<std::string, std::string>> defs; // name, rendered value
    std::string out = "#!/bin/sh\n";
    if (!plan.title.empty()) out += "# " + plan.title + "\n";
    out += "# What ctl runs for this, step by step: run it by hand (as root) to get the same result.\n";
    out += "set -eu\n";
    for (const auto& kv : plan.env) {
        auto eq = kv.find('=');
        std::string name = kv.substr(0, eq), value = kv.substr(eq + 1);
        out += "export " + name + "=" + r.word(value) + "\n";
        r.subst.emplace_back(value, name);
        std::stable_sort(r.subst.begin(), r.subst.end(),
                         [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    }
    r.path_dirs = plan.path_dirs;
    if (!plan.path_dirs.empty()) {
        std::string p = "PATH=";
        for (const auto& d : plan.path_dirs) p += r.word(d) + ":";
        out += p + "\"$PATH\"\n";
    }
    for (const auto& [name, value] : plan.vars) {
        out += name + "=" + r.word(value) + "\n";
        r.subst.emplace_back(value, name);
        std::stable_sort(r.subst.begin(), r.subst.end(),
                         [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    }
    out += "\n";
    for (const auto& s : plan.steps) out += r.step(s, "");
    if (has_foreground(plan.steps)) out += "exit \"$status\"\n";
    return out;
}

// ---------------------------------------------------------------- execution

namespace {

std::string substitute(const std::string& s, const std::map<std::string, std::string>& vars) {
    if (s.find("${") == std::string::npos) return s;
    std::string out;
    size_t i = 0;
    while (i < s.size()) {
        if (s[i] == '$' && i + 1 < s.size() && s[i + 1] == '{') {
            size_t e = s.find('}', i);
            if (e != std::string::npos) {
                std::string name = s.substr(i + 2, e - i - 2);
                auto it = vars.find(name);
                if (it == vars.end()) throw Error("plan: variable " + name + " is not set");
                out += it->second;
                i = e + 1;
                continue;
            }
        }
        out += s[i++];
    }
    return out;
}

// .a.b[0].c
Json eval_path(const Json& doc, const std::string& expr) {
    const Json* cur = &doc;
    size_t i = 0;
    while (i < expr.size()) {
        if (expr[i] == '.') {
            i++;
            size_t j = i;
            while (j < expr.size() && expr[j] != '.' && expr[j] != '[') j++;
            std::string key = expr.substr(i, j - i);
            i = j;
            if (key.empty()) continue;
            if (!cur->is_object() || !cur->contains(key)) return Json();
            cur = &(*cur)[key];
        } else if (expr[i] == '[') {
            size_t j = expr.find(']', i);
            if (j == std::string::npos) throw Error("plan: bad path " + expr);
            size_t idx = std::stoul(expr.substr(i + 1, j - i - 1));
            i = j + 1;
            if (!cur->is_array() || idx >= cur->size()) return Json();
            cur = &(*cur)[idx];
        } else {
            throw Error("plan: bad path " + expr);
        }
    }
    return *cur;
}

std::string tool_name(const std::string& argv0) {
    auto slash = argv0.rfind('/');
    return slash == std::string::npos ? argv0 : argv0.substr(slash + 1);
}

// The foreground step runs in its own process group, so a signal reaches it
// once: from the terminal when it is the terminal's foreground group (Ctrl-C
// with or without a tty), or forwarded by ctl when ctl itself was signalled.
int run_foreground(const std::vector<std::string>& argv, bool stdin_null, const ExecOptions& options) {
    bool own_terminal = !stdin_null && ::isatty(STDIN_FILENO) && ::tcgetpgrp(STDIN_FILENO) == ::getpgrp();
    SpawnAttr attr(POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(attr.get(), 0);
    std::vector<std::string> args = argv;
    std::vector<char*> cargv;
    for (auto& a : args) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    ScopeGuard fa_done([&] { posix_spawn_file_actions_destroy(&fa); });
    if (stdin_null) posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (own_terminal) posix_spawn_file_actions_addtcsetpgrp_np(&fa, STDIN_FILENO);
    pid_t pid;
    int rc = posix_spawnp(&pid, cargv[0], &fa, attr.get(), cargv.data(), environ);
    if (rc != 0) throw_errno("execute", argv[0], rc);
    if (options.on_foreground) options.on_foreground(pid);
    int wstatus = 0;
    for (;;) {
        pid_t w = ::waitpid(pid, &wstatus, WUNTRACED);
        if (w < 0) {
            if (errno == EINTR) continue;
            throw_errno("waitpid");
        }
        if (WIFSTOPPED(wstatus)) {
            // stopped by the terminal (SIGTTIN/SIGTTOU): give it the terminal and go on
            if (::isatty(STDIN_FILENO)) ::tcsetpgrp(STDIN_FILENO, pid);
            ::kill(pid, SIGCONT);
            continue;
        }
        break;
    }
    if (options.on_foreground) options.on_foreground(0);
    if (own_terminal) {
        // take the terminal back (SIGTTOU would stop a background caller of tcsetpgrp)
        struct sigaction ign {}, old {};
        ign.sa_handler = SIG_IGN;
        ::sigaction(SIGTTOU, &ign, &old);
        ::tcsetpgrp(STDIN_FILENO, ::getpgrp());
        ::sigaction(SIGTTOU, &old, nullptr);
    }
    return exit_status(wstatus);
}

void run_one(const Step& s0, std::map<std::string, std::string>& vars, const ExecOptions& options,
             ExecResult& result);

// Everything but container.json first, then the record and the directory: an
// interrupted removal leaves a record that rm -f finds again.
void remove_container_dir(const std::string& dir) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) return;
        throw_errno("open", dir);
    }
    std::vector<std::string> names;
    if (DIR* d = ::fdopendir(::dup(fd.get()))) {
        while (dirent* e = ::readdir(d)) {
            std::string n = e->d_name;
            if (n != "." && n != ".." && n != "container.json") names.push_back(n);
        }
        ::closedir(d);
    }
    for (const auto& n : names) remove_tree_at(fd.get(), n);
    if (::unlinkat(fd.get(), "container.json", 0) < 0 && errno != ENOENT) throw_errno("remove", dir + "/container.json");
    if (::rmdir(dir.c_str()) < 0 && errno != ENOENT) throw_errno("remove", dir);
}

void run_background(const Step& s, const std::map<std::string, std::string>& vars) {
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) {
        ::setsid();
        pid_t grandchild = ::fork();
        if (grandchild != 0) ::_exit(grandchild < 0 ? 1 : 0);
        int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null >= 0) {
            ::dup2(null, 0);
            ::dup2(null, 1);
            ::dup2(null, 2);
        }
        for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::signal(sig, SIG_DFL);
        std::map<std::string, std::string> v = vars;
        ExecResult r;
        try {
            for (const auto& sub : s.steps) {
                try {
                    run_one(sub, v, {}, r);
                } catch (const std::exception&) {
                    if (!sub.may_fail) ::_exit(1);
                }
            }
        } catch (...) {
            ::_exit(1);
        }
        ::_exit(0);
    }
    int ws;
    while (::waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
}

// A step's failure as ctk::Error: the tool's last stderr line, else its status.
[[noreturn]] void step_failed(const Step& s0, const std::vector<std::string>& argv, const ProcessResult& p) {
    std::string msg = last_line(p.err);
    if (p.timed_out) msg = tool_name(argv[0]) + ": timed out after " + std::to_string(s0.timeout_s) + "s";
    if (msg.empty())
        msg = tool_name(argv[0]) + (s0.show_stderr ? " failed (see above)" : " exited with status " + std::to_string(p.status));
    throw Error(msg, error_kind_of_exit(p.status));
}

[[noreturn]] void start_failed(const Error& e, const std::vector<std::string>& argv) {
    if (e.kind() == ErrorKind::not_found)
        throw Error(tool_name(argv[0]) + ": not found (looked beside ctl and in PATH)", ErrorKind::not_found);
    throw e;
}

// from | to, each with its stderr captured; to's stdout kept or shown as the step says.
void run_piped(const Step& s0, const std::vector<std::string>& from, const std::vector<std::string>& to,
               ExecResult& result) {
    PipedProcess writer(from, PipedProcess::End::stdout_of);
    RunOptions o;
    o.stdin_fd = writer.fd();
    o.capture_stdout = !s0.show_output || !s0.keep_output.empty();
    ProcessResult pt, pf;
    try {
        pt = run_process(to, o);
    } catch (const Error& e) {
        writer.close(); // the writer stops on EPIPE
        start_failed(e, to);
    }
    try {
        pf = writer.wait();
    } catch (const Error& e) {
        start_failed(e, from);
    }
    if (!s0.keep_output.empty()) result.vars[s0.keep_output] = pt.out;
    if (!pf.ok() && pf.status != 128 + SIGPIPE) step_failed(s0, from, pf);
    if (!pt.ok()) step_failed(s0, to, pt);
    if (!pf.ok()) step_failed(s0, from, pf);
}

void run_one(const Step& s0, std::map<std::string, std::string>& vars, const ExecOptions& options,
             ExecResult& result) {
    switch (s0.kind) {
    case Step::Kind::run: {
        std::vector<std::string> argv;
        for (const auto& a : s0.argv) argv.push_back(substitute(a, vars));
        if (!s0.pipe_to.empty()) {
            std::vector<std::string> to;
            for (const auto& a : s0.pipe_to) to.push_back(substitute(a, vars));
            run_piped(s0, argv, to, result);
            return;
        }
        if (s0.foreground) {
            result.status = run_foreground(argv, s0.stdin_null, options);
            result.ran_foreground = true;
            return;
        }
        RunOptions o;
        o.capture_stdout = !s0.show_output || !s0.stdout_file.empty() || !s0.keep_output.empty();
        o.capture_stderr = !s0.show_stderr;
        o.stdin_inherit = s0.stdin_inherit;
        if (!s0.stdin_file.empty()) o.input = read_file(substitute(s0.stdin_file, vars));
        if (s0.timeout_s > 0) o.timeout_ms = s0.timeout_s * 1000;
        ProcessResult p;
        try {
            p = run_process(argv, o);
        } catch (const Error& e) {
            if (s0.may_fail) return;
            start_failed(e, argv);
        }
        if (!s0.stdout_file.empty() && (p.ok() || !p.out.empty()))
            write_file_atomic(substitute(s0.stdout_file, vars), p.out);
        if (!s0.keep_output.empty()) result.vars[s0.keep_output] = p.out;
        if (!p.ok() && !s0.may_fail) step_failed(s0, argv, p);
        return;
    }
    case Step::Kind::write_file: {
        std::string path = substitute(s0.path, vars);
        write_file_atomic(path, substitute(s0.content, vars), s0.mode);
        return;
    }
    case Step::Kind::edit_json: {
        std::string path = substitute(s0.path, vars);
        try {
            FileLock lock;
            if (!s0.lock.empty()) lock = FileLock(substitute(s0.lock, vars));
            Json doc = read_json_file(path);
            apply_edits(doc, s0.edits);
            write_json_file(path, doc);
        } catch (const Error&) {
            if (!s0.may_fail) throw;
        }
        return;
    }
    case Step::Kind::make_dir: make_dirs(substitute(s0.path, vars)); return;
    case Step::Kind::copy_file: {
        // In place, as cp: the file may be bind-mounted into a running
        // container (resolv.conf after network connect), which would keep
        // the old inode if it were replaced by a rename.
        std::string from = substitute(s0.from, vars), to = substitute(s0.path, vars);
        std::string data = read_file(from, 16u << 20);
        UniqueFd fd(::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (!fd) throw_errno("open", to);
        write_all(fd.get(), data, to);
        return;
    }
    case Step::Kind::remove_container: remove_container_dir(substitute(s0.path, vars)); return;
    case Step::Kind::symlink: {
        std::string to = substitute(s0.path, vars);
        if (::symlink(substitute(s0.from, vars).c_str(), to.c_str()) < 0) throw_errno("symlink", to);
        return;
    }
    case Step::Kind::unlink_if_link: {
        std::string path = substitute(s0.path, vars);
        if (read_link(path) == substitute(s0.from, vars) && ::unlink(path.c_str()) < 0 && errno != ENOENT)
            throw_errno("remove", path);
        return;
    }
    case Step::Kind::remove_tree:
        try {
            remove_tree(substitute(s0.path, vars));
        } catch (const Error& e) {
            if (!s0.may_fail && e.kind() != ErrorKind::not_found) throw;
        }
        return;
    case Step::Kind::make_netns: make_netns(substitute(s0.path, vars)); return;
    case Step::Kind::remove_netns: remove_netns(substitute(s0.path, vars)); return;
    case Step::Kind::capture: {
        Json doc = read_json_file(substitute(s0.path, vars));
        Json v = eval_path(doc, s0.expr);
        std::string value = v.is_string() ? v.get<std::string>() : v.is_null() ? "null" : dump_compact(v);
        if (s0.strip_prefix_len) value = value.substr(0, value.find('/'));
        vars[s0.var] = value;
        result.vars[s0.var] = value;
        return;
    }
    case Step::Kind::background: run_background(s0, vars); return;
    case Step::Kind::arm_rollback:
    case Step::Kind::disarm_rollback: return; // ctl's own rollback is Engine::rollback, the same steps
    }
}

} // namespace

ExecResult execute(const Plan& plan, const ExecOptions& options, std::map<std::string, std::string> vars) {
    ExecResult result;
    for (const auto& s : plan.steps) {
        if (s.script_only) continue;
        if (options.before_step) options.before_step(s);
        try {
            run_one(s, vars, options, result);
        } catch (const Error&) {
            if (!s.may_fail) throw;
        }
    }
    return result;
}

// ---------------------------------------------------------------- tools

std::string tool_path(const std::string& tool) {
    auto executable = [](const std::string& p) { return ::access(p.c_str(), X_OK) == 0; };
    if (const char* d = std::getenv("CTK_TOOLS_DIR"); d && *d) {
        std::string dir = d;
        if (executable(dir + "/" + tool + "/" + tool)) return dir + "/" + tool + "/" + tool;
        if (executable(dir + "/" + tool)) return dir + "/" + tool;
    }
    std::string self;
    try {
        self = self_exe_dir();
    } catch (const Error&) {
    }
    if (!self.empty()) {
        std::string sibling = self.substr(0, self.rfind('/')) + "/" + tool + "/" + tool;
        if (executable(sibling)) return sibling;
        if (executable(self + "/" + tool)) return self + "/" + tool;
    }
    const char* path = std::getenv("PATH");
    for (const auto& dir : split(path ? path : "/usr/local/bin:/usr/bin:/bin", ':'))
        if (!dir.empty() && executable(dir + "/" + tool)) return dir + "/" + tool;
    return tool;
}

std::vector<std::string> tool_dirs(const std::vector<std::string>& tools) {
    std::vector<std::string> dirs;
    for (const auto& t : tools) {
        std::string p = tool_path(t);
        auto slash = p.rfind('/');
        if (slash == std::string::npos) continue;
        std::string d = p.substr(0, slash);
        if (std::find(dirs.begin(), dirs.end(), d) == dirs.end()) dirs.push_back(d);
    }
    return dirs;
}

// ---------------------------------------------------------------- network namespaces

void make_netns(const std::string& path) {
    make_dirs(path.substr(0, path.rfind('/')));
    {
        UniqueFd f(::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0444));
        if (!f) throw_errno("create", path);
    }
    std::fflush(nullptr);
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) < 0) throw_errno("pipe");
    UniqueFd rd(pipefd[0]), wr(pipefd[1]);
    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork");
    if (pid == 0) {
        int err = 0;
        if (::unshare(CLONE_NEWNET) < 0) err = errno;
        else if (::mount("/proc/self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) < 0) err = errno;
        if (err) (void)!::write(wr.get(), &err, sizeof err);
        ::_exit(err ? 1 : 0);
    }
    wr.reset();
    int err = 0;
    ssize_t n = ::read(rd.get(), &err, sizeof err);
    int ws;
    while (::waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    if (n == static_cast<ssize_t>(sizeof err) && err) {
        ::unlink(path.c_str());
        throw_errno("make network namespace", path, err);
    }
}

void remove_netns(const std::string& path) {
    ::umount2(path.c_str(), MNT_DETACH);
    ::unlink(path.c_str());
}

void read_only_view(const std::vector<std::string>& paths) {
    if (::unshare(CLONE_NEWNS) < 0) throw_errno("unshare", "a mount namespace for the read-only view");
    // nothing done in this namespace reaches the host's
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) throw_errno("make private", "/");
    for (std::string p : paths) {
        struct stat st;
        while (::stat(p.c_str(), &st) < 0) {
            if (errno != ENOENT) throw_errno("stat", p);
            auto slash = p.rfind('/');
            p = slash == 0 || slash == std::string::npos ? "/" : p.substr(0, slash);
        }
        if (::mount(p.c_str(), p.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) throw_errno("bind mount", p);
        mount_attr attr{};
        attr.attr_set = MOUNT_ATTR_RDONLY;
        if (::mount_setattr(AT_FDCWD, p.c_str(), AT_RECURSIVE, &attr, sizeof attr) < 0)
            throw_errno("make read-only", p);
    }
}

std::string last_line(const std::string& s) {
    std::string_view v = trim(s);
    auto nl = v.rfind('\n');
    return std::string(nl == std::string_view::npos ? v : v.substr(nl + 1));
}

} // namespace ctk::engine
