#include "build/config_change.hpp"

#include "build/dockerfile.hpp"
#include "build/shell_words.hpp"
#include "core/error.hpp"
#include "core/strings.hpp"

namespace ctk::build {

namespace {

bool is_change_command(const std::string& c) {
    for (const char* k : {"cmd", "entrypoint", "env", "expose", "label", "onbuild", "stopsignal", "user", "volume",
                          "workdir"})
        if (c == k) return true;
    return false;
}

// CMD and ENTRYPOINT: the exec form as written, the shell form after the
// config's Shell (default /bin/sh -c).
Json command_of(const Json& config, const Instruction& in) {
    if (!in.prepend_shell) return in.cmdline;
    std::vector<std::string> words = json_strings(config.value("Shell", Json()));
    if (words.empty()) words = {"/bin/sh", "-c"};
    words.insert(words.end(), in.cmdline.begin(), in.cmdline.end());
    return words;
}

} // namespace

void apply_instruction(Json& config, const Instruction& in, VarMap& vars, bool& cmd_set, char escape) {
    ShellWords sw(escape);
    switch (in.kind) {
    case Kind::cmd:
        config["Cmd"] = command_of(config, in);
        cmd_set = true;
        break;
    case Kind::entrypoint:
        config["Entrypoint"] = command_of(config, in);
        // dockerfile/dispatchers.go: an ENTRYPOINT resets a Cmd not set by this build
        if (!cmd_set) config["Cmd"] = nullptr;
        break;
    case Kind::env:
        for (const auto& kv : in.pairs) {
            std::string k = sw.word(kv.key, vars), v = sw.word(kv.value, vars);
            Json env = Json::array();
            for (const auto& e : json_strings(config.value("Env", Json())))
                if (e.rfind(k + "=", 0) != 0) env.push_back(e);
            env.push_back(k + "=" + v);
            config["Env"] = env;
            vars[k] = v;
        }
        break;
    case Kind::label:
        if (!config["Labels"].is_object()) config["Labels"] = Json::object();
        for (const auto& kv : in.pairs) config["Labels"][sw.word(kv.key, vars)] = sw.word(kv.value, vars);
        break;
    case Kind::expose:
        if (!config["ExposedPorts"].is_object()) config["ExposedPorts"] = Json::object();
        for (const auto& w : in.words)
            for (auto p : sw.words(w, vars)) {
                if (p.find('/') == std::string::npos) p += "/tcp";
                config["ExposedPorts"][p] = Json::object();
            }
        break;
    case Kind::volume:
        if (!config["Volumes"].is_object()) config["Volumes"] = Json::object();
        for (const auto& w : in.words)
            for (const auto& p : sw.words(w, vars)) config["Volumes"][p] = Json::object();
        break;
    case Kind::user: config["User"] = sw.word(in.value, vars); break;
    case Kind::stopsignal: config["StopSignal"] = sw.word(in.value, vars); break;
    case Kind::workdir: {
        std::string dir = sw.word(in.value, vars);
        if (!dir.empty() && dir[0] != '/') {
            std::string base = config.value("WorkingDir", Json("")).is_string() ? config.value("WorkingDir", "") : "";
            if (base.empty()) base = "/";
            dir = base + (base.back() == '/' ? "" : "/") + dir;
        }
        config["WorkingDir"] = dir;
        break;
    }
    case Kind::onbuild:
        if (!config["OnBuild"].is_array()) config["OnBuild"] = Json::array();
        config["OnBuild"].push_back(in.onbuild);
        break;
    default: break;
    }
}

void apply_changes(Json& config, const std::vector<std::string>& changes) {
    if (!config.is_object()) config = Json::object();
    bool cmd_set = false;
    for (const auto& change : changes) {
        std::string_view c = trim(change);
        std::string word(c.substr(0, c.find_first_of(" \t")));
        Node node;
        try {
            node = parse_line(c);
        } catch (const Error& e) {
            throw e.wrap("change " + quote(word));
        }
        if (!is_change_command(node.command)) throw_invalid(quote(word) + " is not a valid change command");
        Instruction in;
        try {
            in = check_instruction(node);
        } catch (const Error& e) {
            throw e.wrap("change " + quote(word));
        }
        try {
            VarMap vars = var_map(json_strings(config.value("Env", Json())));
            apply_instruction(config, in, vars, cmd_set);
        } catch (const Error& e) {
            throw e.wrap("change " + quote(word));
        }
    }
}

} // namespace ctk::build
