// The ctl verbs: each takes its parsed options, works through the Engine and
// prints what docker prints (tables, IDs, JSON), so tools/ctl/main.cpp holds
// only argument parsing. Output goes to `out` (stdout) and `err` (stderr).
#pragma once

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "core/process.hpp"
#include "engine/engine.hpp"
#include "engine/tools.hpp"
#include "engine/format.hpp"

namespace ctk::engine {

// --filter key=value, repeated: values of one key are alternatives, keys all must match.
using Filters = std::multimap<std::string, std::string>;
Filters parse_filters(const std::vector<std::string>& args);

struct ListOptions {
    bool all = false, quiet = false, no_trunc = false, digests = false, latest = false, size = false;
    int last = -1;
    std::string format;
    std::vector<std::string> filters;
};

// Docker's human sizes: 3 significant digits, decimal units ("1.98MB", "938kB").
std::string human_size_decimal(int64_t bytes, int significant = 3);
// "2026-11-27 21:14:43 +0000 UTC"
std::string docker_created_at(int64_t unix_seconds);

class Commands {
public:
    Commands(Engine& engine, FILE* out, FILE* err) : e_(engine), out_(out), err_(err) {}

    // images
    void pull(const std::string& ref, bool quiet);
    void push(const std::string& ref, bool quiet);
    void images(const ListOptions& o, const std::string& repo);
    void rmi(const std::vector<std::string>& refs, bool force);
    void tag(const std::string& src, const std::string& dst);
    void import(const std::string& source, const std::string& ref, const std::vector<std::string>& changes,
                const std::string& message, const std::string& platform);
    void save(const std::vector<std::string>& refs, const std::string& output);
    void load(const std::string& input, bool quiet);
    int login(const std::vector<std::string>& args);
    int logout(const std::vector<std::string>& args);

    // containers
    int run(const RunFlags& flags);
    void create(const RunFlags& flags);
    int start(const std::vector<std::string>& refs, bool attach, bool interactive);
    void stop(const std::vector<std::string>& refs, std::optional<int> timeout);
    void restart(const std::vector<std::string>& refs, std::optional<int> timeout);
    void kill(const std::vector<std::string>& refs, const std::string& signal);
    void rm(const std::vector<std::string>& refs, bool force, bool volumes);
    void ps(const ListOptions& o);
    void logs(const std::string& ref, const LogOptions& o);
    int exec(const std::string& ref, const ExecRequest& r, const std::vector<std::string>& env_files);
    int attach(const std::string& ref);
    void pause(const std::vector<std::string>& refs);
    void unpause(const std::vector<std::string>& refs);
    int wait(const std::vector<std::string>& refs);
    void top(const std::string& ref, const std::vector<std::string>& ps_args);
    void port(const std::string& ref, const std::string& private_port);
    void rename(const std::string& ref, const std::string& name);
    void cp(const std::string& src, const std::string& dst);
    void container_prune(bool force);
    // system df, system prune, image prune (lib/engine/disk_usage.cpp)
    void system_df(bool verbose, const std::string& format);
    void system_prune(bool all, bool volumes);
    void image_prune(bool all);
    // inspect of any object: containers, then images, networks, volumes (or only `type`)
    void inspect(const std::vector<std::string>& refs, const std::string& format, const std::string& type);

    // networks (net-bridge) and volumes (vol-mount)
    void network_create(const tools::NetworkCreate& n);
    void network_ls(const ListOptions& o);
    void network_inspect(const std::vector<std::string>& names, const std::string& format);
    void network_rm(const std::vector<std::string>& names);
    void network_connect(const std::string& network, const std::string& container, const std::vector<std::string>& aliases,
                         const std::string& ip);
    void network_disconnect(const std::string& network, const std::string& container, bool force);
    void network_prune(bool force);
    void volume_create(const std::string& name, const std::vector<std::string>& labels, const std::vector<std::string>& opts);
    void volume_ls(const ListOptions& o);
    void volume_inspect(const std::vector<std::string>& names, const std::string& format);
    void volume_rm(const std::vector<std::string>& names, bool force);
    void volume_prune(bool force, bool all);

    // Docker-shaped network objects from net-bridge's records.
    Json network_json(const Json& nb);

private:
    void print(const std::string& s);
    void print_inspect(const std::vector<Json>& objects, const std::string& format);
    ProcessResult tool(const std::vector<std::string>& argv, const std::string& title, bool show_output = false);
    Engine& e_;
    FILE* out_;
    FILE* err_;
};

} // namespace ctk::engine
