// ctl's local face (engine/backend.hpp): each verb works through the Engine
// and prints what docker prints (tables, IDs, JSON). Output goes to `out`
// (stdout) and `err` (stderr).
#pragma once

#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/process.hpp"
#include "engine/backend.hpp"
#include "engine/engine.hpp"
#include "engine/tools.hpp"
#include "engine/format.hpp"

namespace ctk::engine {

// --filter key=value, repeated: values of one key are alternatives, keys all must match.
using Filters = std::multimap<std::string, std::string>;
Filters parse_filters(const std::vector<std::string>& args);

// Docker's human sizes: 3 significant digits, decimal units ("1.98MB", "938kB").
std::string human_size_decimal(int64_t bytes, int significant = 3);
// "2026-11-27 21:14:43 +0000 UTC"
std::string docker_created_at(int64_t unix_seconds);

class Commands : public Backend {
public:
    Commands(Engine& engine, FILE* out, FILE* err) : e_(engine), out_(out), err_(err) {}

    // The build itself is lib/build's (above the engine): ctl hands it in.
    using Builder = std::function<int(Engine&, const BuildRequest&)>;
    void set_builder(Builder b) { builder_ = std::move(b); }

    // images
    void pull(const std::string& ref, bool quiet) override;
    void push(const std::string& ref, bool quiet) override;
    void images(const ListOptions& o, const std::string& repo) override;
    void history(const HistoryRequest& h) override;
    void rmi(const std::vector<std::string>& refs, bool force) override;
    void tag(const std::string& src, const std::string& dst) override;
    void import(const std::string& source, const std::string& ref, const std::vector<std::string>& changes,
                const std::string& message, const std::string& platform) override;
    void save(const std::vector<std::string>& refs, const std::string& output) override;
    void load(const std::string& input, bool quiet) override;
    void commit(const CommitOptions& o) override;
    int build(const BuildRequest& b) override;
    int login(const std::vector<std::string>& args) override;
    int logout(const std::vector<std::string>& args) override;

    // containers
    int run(const RunFlags& flags) override;
    void create(const RunFlags& flags) override;
    int start(const std::vector<std::string>& refs, bool attach, bool interactive) override;
    void stop(const std::vector<std::string>& refs, std::optional<int> timeout) override;
    void restart(const std::vector<std::string>& refs, std::optional<int> timeout) override;
    void kill(const std::vector<std::string>& refs, const std::string& signal) override;
    void rm(const std::vector<std::string>& refs, bool force, bool volumes) override;
    void ps(const ListOptions& o) override;
    void logs(const std::string& ref, const LogOptions& o) override;
    int exec(const std::string& ref, const ExecRequest& r) override;
    int attach(const std::string& ref) override;
    void pause(const std::vector<std::string>& refs) override;
    void unpause(const std::vector<std::string>& refs) override;
    int wait(const std::vector<std::string>& refs) override;
    void top(const std::string& ref, const std::vector<std::string>& ps_args) override;
    void port(const std::string& ref, const std::string& private_port) override;
    void rename(const std::string& ref, const std::string& name) override;
    void cp(const std::string& src, const std::string& dst) override;
    void diff(const std::string& ref) override;
    void export_container(const std::string& ref, const std::string& output) override;
    void container_prune(bool force) override;
    // system df, system prune, image prune (lib/engine/disk_usage.cpp)
    void system_df(bool verbose, const std::string& format) override;
    void system_prune(bool all, bool volumes) override;
    void image_prune(bool all) override;
    void inspect(const std::vector<std::string>& refs, const std::string& format, const std::string& type) override;

    // networks (net-bridge) and volumes (vol-mount)
    void network_create(const NetworkCreateRequest& n) override;
    void network_ls(const ListOptions& o) override;
    void network_inspect(const std::vector<std::string>& names, const std::string& format) override;
    void network_rm(const std::vector<std::string>& names) override;
    void network_connect(const std::string& network, const std::string& container, const std::vector<std::string>& aliases,
                         const std::string& ip) override;
    void network_disconnect(const std::string& network, const std::string& container, bool force) override;
    void network_prune(bool force) override;
    void volume_create(const VolumeCreateRequest& v) override;
    void volume_ls(const ListOptions& o) override;
    void volume_inspect(const std::vector<std::string>& names, const std::string& format) override;
    void volume_rm(const std::vector<std::string>& names, bool force) override;
    void volume_prune(bool force, bool all) override;

    // Docker-shaped network objects from net-bridge's records.
    Json network_json(const Json& nb);

private:
    void print(const std::string& s);
    void print_inspect(const std::vector<Json>& objects, const std::string& format);
    ProcessResult tool(const std::vector<std::string>& argv, const std::string& title, bool show_output = false);
    Engine& e_;
    FILE* out_;
    FILE* err_;
    Builder builder_;
};

} // namespace ctk::engine
