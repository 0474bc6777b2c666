#include "engine/commands.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <regex>
#include <set>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "core/time.hpp"
#include "engine/commit.hpp"
#include "engine/container_archive.hpp"
#include "engine/disk_usage.hpp"
#include "engine/container_list.hpp"
#include "engine/image_list.hpp"
#include "engine/network_list.hpp"
#include "engine/volume_list.hpp"
#include "engine/image_verbs.hpp"
#include "engine/json_fields.hpp"
#include "engine/names.hpp"
#include "engine/timefmt.hpp"
#include "engine/tools.hpp"
#include "oci/reference.hpp"

namespace ctk::engine {

namespace {

[[noreturn]] void usage(const std::string& m) { throw Error(m, ErrorKind::usage); }

template <typename Pred> bool any_of_key(const Filters& f, const std::string& key, Pred pred) {
    auto [lo, hi] = f.equal_range(key);
    if (lo == hi) return true;
    for (auto it = lo; it != hi; ++it)
        if (pred(it->second)) return true;
    return false;
}

} // namespace

Filters parse_filters(const std::vector<std::string>& args) {
    Filters f;
    for (const auto& a : args) {
        auto kv = split_once(a, '=');
        if (!kv) usage("bad format of filter (expected name=value)");
        f.emplace(to_lower(trim(kv->first)), std::string(trim(kv->second)));
    }
    return f;
}

std::string human_size_decimal(int64_t bytes, int significant) {
    return human_size(bytes < 0 ? 0 : static_cast<uint64_t>(bytes), significant);
}

std::string docker_created_at(int64_t unix_seconds) { return format_utc(unix_seconds, "%Y-%m-%d %H:%M:%S +0000 UTC"); }

void Commands::print(const std::string& s) {
    std::fwrite(s.data(), 1, s.size(), out_);
    std::fflush(out_);
}

ProcessResult Commands::tool(const std::vector<std::string>& argv, const std::string& title, bool show_output) {
    if (e_.explaining()) {
        Plan p = e_.new_plan(title);
        Step s = run_step(argv);
        s.show_output = true;
        p.add(s);
        e_.execute(p);
        return ProcessResult{};
    }
    RunOptions o;
    o.capture_stdout = !show_output;
    ProcessResult r = run_process(argv, o);
    if (!r.ok()) {
        std::string last = last_line(r.err);
        throw Error(last.empty() ? argv[0] + " exited with status " + std::to_string(r.status) : last,
                    error_kind_of_exit(r.status));
    }
    return r;
}

// ---------------------------------------------------------------- images

void Commands::pull(const std::string& ref, bool quiet) {
    std::string full = normalize_reference(ref);
    auto digest_of = [&]() -> std::string {
        auto img = e_.images().find(full);
        return img ? img->resolved.manifest_descriptor.digest.str() : "";
    };
    std::string before = digest_of();
    e_.pull(ref, quiet);
    if (e_.explaining()) return;
    std::string after = digest_of();
    if (!quiet && !after.empty()) {
        print("Digest: " + after + "\n");
        // as dockerd words it: new when the name pointed elsewhere (or nowhere) before
        print(std::string("Status: ") + (after != before ? "Downloaded newer image for " : "Image is up to date for ") +
              familiar_reference(full) + "\n");
    }
    print(full + "\n");
}

void Commands::push(const std::string& ref, bool quiet) {
    std::string full = normalize_reference(ref);
    auto r = oci::Reference::parse_normalized(full);
    if (!quiet && !e_.explaining()) print("The push refers to repository [" + r.name() + "]\n");
    Json res = e_.push(ref, quiet);
    if (e_.explaining()) return;
    if (quiet) {
        print(full + "\n");
        return;
    }
    print((r.tag.empty() ? r.digest : r.tag) + ": digest: " + res.value("digest", "") + " size: " +
          std::to_string(res.value("size", 0)) + "\n");
}

void Commands::images(const ListOptions& o, const std::string& repo) {
    print(render_images(list_images(e_.images(), image_list_filters(o, repo)), o));
}

void Commands::rmi(const std::vector<std::string>& refs, bool force) {
    std::string failed;
    for (const auto& r : refs) {
        try {
            for (const auto& x : remove_image(e_, r, force)) {
                if (x.contains("Untagged")) print("Untagged: " + x["Untagged"].get<std::string>() + "\n");
                if (x.contains("Deleted")) print("Deleted: " + x["Deleted"].get<std::string>() + "\n");
            }
        } catch (const Error& e) {
            if (refs.size() == 1) throw;
            std::fprintf(err_, "Error: %s\n", e.what());
            failed = e.what();
        }
    }
    if (!failed.empty()) throw Error(failed);
}

void Commands::tag(const std::string& src, const std::string& dst) { tag_image(e_, src, dst); }

void Commands::import(const std::string& source, const std::string& ref, const std::vector<std::string>& changes,
                      const std::string& message, const std::string& platform) {
    ImportRequest r;
    r.source = source;
    r.reference = ref;
    r.changes = changes;
    r.message = message;
    r.platform = platform;
    if (source == "-" && is_terminal(STDIN_FILENO)) usage("import from stdin, but stdin is a terminal");
    std::string id = import_image(e_, r);
    if (!id.empty()) print(id + "\n");
}

void Commands::save(const std::vector<std::string>& refs, const std::string& output) {
    if (refs.empty()) usage("\"save\" requires at least 1 argument");
    if (output.empty() && is_terminal(STDOUT_FILENO) && !e_.explaining())
        usage("cowardly refusing to save to a terminal. Use the -o flag or redirect");
    save_image_archive(e_, refs, output);
}

void Commands::load(const std::string& input, bool quiet) {
    if (input.empty() && is_terminal(STDIN_FILENO)) usage("requested load from stdin, but stdin is empty");
    (void)quiet;
    for (const auto& l : load_image_archive(e_, input)) {
        auto tags = l.value("tags", Json::array());
        if (tags.empty()) print("Loaded image ID: " + l.value("id", "") + "\n");
        for (const auto& t : tags) print("Loaded image: " + t.get<std::string>() + "\n");
    }
}

void Commands::history(const HistoryRequest& h) {
    print_history(e_.images(), h.image, h.no_trunc, h.quiet, h.human, h.format, out_);
}

void Commands::commit(const CommitOptions& o) {
    std::string id = commit_container(e_, o);
    if (!e_.explaining()) print(id + "\n"); // --explain: stdout is the script alone
}

int Commands::build(const BuildRequest& b) {
    if (!builder_) throw Error("build: no builder in this program");
    return builder_(e_, b);
}

int Commands::login(const std::vector<std::string>& args) {
    Plan p = e_.new_plan("ctl login");
    Step s = run_step(tools::login(args));
    s.foreground = true;
    p.add(s);
    return e_.execute(p);
}

int Commands::logout(const std::vector<std::string>& args) {
    Plan p = e_.new_plan("ctl logout");
    Step s = run_step(tools::logout(args));
    s.foreground = true;
    p.add(s);
    return e_.execute(p);
}

// ---------------------------------------------------------------- containers

int Commands::run(const RunFlags& flags) {
    CreateRequest req = request_from_flags(flags);
    StartOptions o;
    o.attach = !flags.detach;
    o.interactive = flags.interactive;
    std::string id;
    int status = e_.run(req, o, &id);
    if (flags.detach && !e_.explaining()) print(id + "\n");
    return status;
}

void Commands::create(const RunFlags& flags) {
    CreateRequest req = request_from_flags(flags);
    ContainerRecord r = e_.create(req);
    if (!e_.explaining()) print(r.id + "\n");
}

int Commands::start(const std::vector<std::string>& refs, bool attach, bool interactive) {
    if (attach && refs.size() > 1) usage("you cannot start and attach multiple containers at once");
    int status = 0;
    std::string failed;
    for (const auto& r : refs) {
        try {
            StartOptions o;
            o.attach = attach;
            o.interactive = interactive;
            status = e_.start(r, o);
            if (!attach && !e_.explaining()) print(r + "\n");
        } catch (const Error& e) {
            if (refs.size() == 1) throw;
            std::fprintf(err_, "Error response: %s\n", e.what());
            failed = "failed to start containers: " + r;
        }
    }
    if (!failed.empty()) throw Error(failed);
    return status;
}

namespace {
template <typename F> void each(const std::vector<std::string>& refs, FILE* out, FILE* err, bool echo, F f) {
    std::string failed;
    for (const auto& r : refs) {
        try {
            f(r);
            if (echo) {
                std::fprintf(out, "%s\n", r.c_str());
                std::fflush(out);
            }
        } catch (const Error& e) {
            if (refs.size() == 1) throw;
            std::fprintf(err, "Error response: %s\n", e.what());
            failed = e.what();
        }
    }
    if (!failed.empty()) throw Error(failed);
}
} // namespace

void Commands::stop(const std::vector<std::string>& refs, std::optional<int> t) {
    each(refs, out_, err_, !e_.explaining(), [&](const std::string& r) { e_.stop(r, t); });
}
void Commands::restart(const std::vector<std::string>& refs, std::optional<int> t) {
    each(refs, out_, err_, !e_.explaining(), [&](const std::string& r) { e_.restart(r, t); });
}
void Commands::kill(const std::vector<std::string>& refs, const std::string& s) {
    each(refs, out_, err_, !e_.explaining(), [&](const std::string& r) { e_.kill(r, s); });
}
void Commands::rm(const std::vector<std::string>& refs, bool force, bool volumes) {
    each(refs, out_, err_, !e_.explaining(), [&](const std::string& r) { e_.remove(r, force, volumes); });
}
void Commands::pause(const std::vector<std::string>& refs) {
    each(refs, out_, err_, !e_.explaining(), [&](const std::string& r) { e_.pause(r); });
}
void Commands::unpause(const std::vector<std::string>& refs) {
    each(refs, out_, err_, !e_.explaining(), [&](const std::string& r) { e_.unpause(r); });
}

int Commands::wait(const std::vector<std::string>& refs) {
    int last = 0;
    each(refs, out_, err_, false, [&](const std::string& r) {
        last = e_.wait(r);
        print(std::to_string(last) + "\n");
    });
    return 0;
}

void Commands::ps(const ListOptions& o) {
    print(render_ps(list_containers(e_, container_list_query(o)), o));
}

void Commands::logs(const std::string& ref, const LogOptions& o) {
    std::fflush(out_);
    e_.logs(ref, o, STDOUT_FILENO, STDERR_FILENO);
}

int Commands::exec(const std::string& ref, const ExecRequest& r) { return e_.exec(ref, r); }

int Commands::attach(const std::string& ref) {
    std::fflush(out_);
    return e_.attach(ref, STDOUT_FILENO, STDERR_FILENO);
}

void Commands::top(const std::string& ref, const std::vector<std::string>& ps_args) {
    Json t = e_.top(ref, ps_args);
    std::vector<std::string> lines = {join(t["Titles"].get<std::vector<std::string>>(), "\t")};
    for (const auto& p : t["Processes"]) lines.push_back(join(p.get<std::vector<std::string>>(), "\t"));
    print(tabulate(lines, 20)); // docker top's columns are at least 20 wide
}

void Commands::port(const std::string& ref, const std::string& private_port) {
    ContainerRecord r = e_.containers().lookup(ref);
    Json ports = e_.ports(r);
    std::string want = private_port;
    if (!want.empty() && want.find('/') == std::string::npos) want += "/tcp";
    bool found = false;
    for (auto it = ports.begin(); it != ports.end(); ++it) {
        if (it.value().is_null()) continue;
        if (!want.empty() && it.key() != want) continue;
        for (const auto& b : it.value()) {
            std::string line = str_or(b, "HostIp") + ":" + str_or(b, "HostPort");
            print(want.empty() ? it.key() + " -> " + line + "\n" : line + "\n");
            found = true;
        }
    }
    if (!want.empty() && !found) throw_not_found("No public port '" + want + "' published for " + ref);
}

void Commands::rename(const std::string& ref, const std::string& name) {
    if (e_.explaining()) return;
    e_.rename(ref, name);
}

void Commands::cp(const std::string& src, const std::string& dst) { e_.copy(src, dst); }

void Commands::diff(const std::string& ref) { print(render_changes(container_changes(e_, ref))); }

void Commands::export_container(const std::string& ref, const std::string& output) {
    if (output.empty() && is_terminal(STDOUT_FILENO) && !e_.explaining())
        usage("cowardly refusing to save to a terminal. Use the -o flag or redirect");
    engine::export_container(e_, ref, output);
}

void Commands::container_prune(bool) {
    if (!e_.explaining()) {
        Json j = prune_containers(e_);
        print(render_system_prune(j, Json(), Json(), Json(), Json()));
        return;
    }
    std::vector<std::string> removed;
    for (const auto& r : e_.containers().list()) {
        ContainerState st = e_.state(r);
        if (st.status == "exited" || st.status == "created" || st.status == "dead") {
            if (st.status == "created" && r.setup_phase() == setup::creating) continue;
            e_.remove(r.id, false, false);
            removed.push_back(r.id);
        }
    }
    if (e_.explaining()) return;
    if (!removed.empty()) {
        print("Deleted Containers:\n");
        for (const auto& id : removed) print(id + "\n");
        print("\n");
    }
    print("Total reclaimed space: 0B\n");
}

void Commands::print_inspect(const std::vector<Json>& objects, const std::string& format) {
    print(render_inspect(objects, format));
}

void Commands::inspect(const std::vector<std::string>& refs, const std::string& format, const std::string& type) {
    if (!type.empty() && type != "container" && type != "image" && type != "network" && type != "volume")
        usage("\"" + type + "\" is not a valid value for --type");
    std::vector<Json> objects;
    std::string missing;
    for (const auto& ref : refs) {
        std::optional<Json> found;
        if (type.empty() || type == "container") {
            try {
                found = e_.inspect(e_.containers().lookup(ref));
            } catch (const Error& e) {
                if (e.kind() != ErrorKind::not_found) throw;
            }
        }
        if (!found && (type.empty() || type == "image")) {
            try {
                if (auto img = e_.images().find(ref)) found = e_.images().inspect_json(*img);
            } catch (const Error&) {
            }
        }
        if (!found && (type.empty() || type == "network")) {
            ProcessResult p;
            try {
                p = run_process(tools::net_inspect(ref));
            } catch (const Error&) {
                p.status = 127;
            }
            if (p.ok()) {
                try {
                    found = network_json(parse_json_text(p.out, "net-bridge output"));
                } catch (const std::exception&) {
                }
            }
        }
        if (!found && (type.empty() || type == "volume")) {
            ProcessResult p;
            try {
                p = run_process(tools::vol_inspect(ref));
            } catch (const Error&) {
                p.status = 127;
            }
            if (p.ok()) {
                try {
                    found = parse_json_text(p.out, "vol-mount output");
                } catch (const std::exception&) {
                }
            }
        }
        if (found) objects.push_back(*found);
        else missing = ref;
    }
    print_inspect(objects, format);
    if (!missing.empty()) {
        if (refs.size() > 1) std::fprintf(err_, "Error: No such object: %s\n", missing.c_str());
        throw_not_found("No such object: " + missing);
    }
}

// ---------------------------------------------------------------- networks

Json Commands::network_json(const Json& n) { return docker_network(n); }

void Commands::network_create(const NetworkCreateRequest& req) {
    if (!req.driver.empty() && req.driver != "bridge")
        throw Error(no_driver_plugin(req.driver, "networks are bridges"), ErrorKind::not_found);
    tools::NetworkCreate n;
    n.name = req.name;
    n.subnet = req.subnet;
    n.gateway = req.gateway;
    n.internal = req.internal;
    n.labels = req.labels;
    for (const auto& o : req.options) {
        auto eq = o.find('=');
        tools::network_option(n, o.substr(0, eq), eq == std::string::npos ? "" : o.substr(eq + 1), true);
    }
    ProcessResult p = tool(tools::net_create(n), "ctl network create " + n.name);
    if (e_.explaining()) return;
    try {
        print(str_or(parse_json_text(p.out, "net-bridge output"), "id") + "\n");
    } catch (const std::exception&) {
        print(p.out);
    }
}

void Commands::network_ls(const ListOptions& o) {
    if (e_.explaining()) {
        tool(tools::net_ls(), "ctl network ls");
        return;
    }
    print(render_networks(list_networks(filter_map(o.filters)), o));
}

void Commands::network_inspect(const std::vector<std::string>& names, const std::string& format) {
    std::vector<Json> objects;
    for (const auto& n : names) {
        ProcessResult p = tool(tools::net_inspect(n), "ctl network inspect " + n);
        if (e_.explaining()) continue;
        objects.push_back(network_json(parse_json_text(p.out, "net-bridge output")));
    }
    if (!e_.explaining()) print_inspect(objects, format);
}

void Commands::network_rm(const std::vector<std::string>& names) {
    each(names, out_, err_, !e_.explaining(),
         [&](const std::string& n) {
             try {
                 tool(tools::net_rm(n), "ctl network rm " + n);
             } catch (const Error& x) {
                 if (x.kind() == ErrorKind::not_found) throw Error(no_such_network(n), ErrorKind::not_found);
                 throw;
             }
         });
}

void Commands::network_connect(const std::string& network, const std::string& container,
                               const std::vector<std::string>& aliases, const std::string& ip) {
    ContainerRecord r = e_.containers().lookup(container);
    std::string netns = r.ctk().value("Netns", "");
    if (netns.empty()) throw_conflict("container " + r.name + " has no network namespace of its own (network mode " +
                                      r.doc["HostConfig"].value("NetworkMode", "") + ")");
    auto nets = r.ctk().value("Networks", Json::array());
    for (const auto& n : nets)
        if (n == network) throw_conflict("endpoint with name " + r.name + " already exists in network " + network);
    std::vector<std::string> al = aliases;
    Plan p = e_.new_plan("ctl network connect " + network + " " + container);
    p.vars = {{"ID", r.id}, {"C", e_.containers().dir(r.id)}};
    // A container connected to no network now (compose disconnects every service
    // it creates and connects it again): its published ports come with this one.
    std::vector<std::string> publish;
    if (nets.empty()) publish = publish_specs(get_or(r.doc["HostConfig"], "PortBindings", Json::object()));
    Step s = run_step(tools::net_attach(network, netns, r.name, al, publish, ip, r.id));
    s.stdout_file = e_.containers().dir(r.id) + "/net-" + network + ".json";
    p.add(s);
    Json ep = aliases.empty() ? Json::object() : Json{{"Aliases", aliases}};
    p.add(edit_json_step(e_.containers().dir(r.id) + "/container.json",
                         {{JsonEdit::Op::append, {"Ctk", "Networks"}, "", network},
                          {JsonEdit::Op::set, {"Ctk", "Endpoints", network}, "", ep}}));
    std::vector<std::string> now;
    for (const auto& n : nets) now.push_back(n.get<std::string>());
    now.push_back(network);
    add_resolv_conf_steps(p, r, e_.containers().dir(r.id), now);
    FileLock lock = e_.containers().lock(r.id);
    e_.execute(p);
}

void Commands::network_disconnect(const std::string& network, const std::string& container, bool force) {
    ContainerRecord r = e_.containers().lookup(container);
    std::string netns = r.ctk().value("Netns", "");
    auto nets = r.ctk().value("Networks", Json::array());
    Json rest = Json::array();
    bool found = false;
    for (const auto& n : nets) {
        if (n == network) found = true;
        else rest.push_back(n);
    }
    if (!found && !force) throw_not_found("container " + r.id + " is not connected to network " + network);
    Plan p = e_.new_plan("ctl network disconnect " + network + " " + container);
    p.vars = {{"ID", r.id}, {"C", e_.containers().dir(r.id)}};
    Step s = run_step(tools::net_detach(network, netns, r.id));
    s.may_fail = force;
    p.add(s);
    p.add(remove_tree_step(e_.containers().dir(r.id) + "/net-" + network + ".json"));
    p.add(edit_json_step(e_.containers().dir(r.id) + "/container.json",
                         {{JsonEdit::Op::set, {"Ctk", "Networks"}, "", rest},
                          {JsonEdit::Op::remove, {"Ctk", "Endpoints", network}, "", nullptr}}));
    std::vector<std::string> left;
    for (const auto& n : rest) left.push_back(n.get<std::string>());
    add_resolv_conf_steps(p, r, e_.containers().dir(r.id), left);
    FileLock lock = e_.containers().lock(r.id);
    e_.execute(p);
}

void Commands::network_prune(bool) {
    ProcessResult p = tool(tools::net_prune(), "ctl network prune");
    if (e_.explaining()) return;
    try {
        Json j = parse_json_text(p.out, "net-bridge output");
        Json removed = j.value("removed", Json::array());
        if (!removed.empty()) {
            print("Deleted Networks:\n");
            for (const auto& n : removed) print((n.is_string() ? n.get<std::string>() : dump_compact(n)) + "\n");
        }
    } catch (const std::exception&) {
    }
}

// ---------------------------------------------------------------- volumes

void Commands::volume_create(const VolumeCreateRequest& v) {
    if (!v.driver.empty() && v.driver != "local") throw Error(no_driver_plugin(v.driver, "volumes are local"), ErrorKind::not_found);
    ProcessResult p = tool(tools::vol_create(v.name, v.labels, v.options), "ctl volume create " + v.name);
    if (e_.explaining()) return;
    try {
        print(str_or(parse_json_text(p.out, "vol-mount output"), "Name") + "\n");
    } catch (const std::exception&) {
        print(p.out);
    }
}

void Commands::volume_ls(const ListOptions& o) {
    if (e_.explaining()) {
        tool(tools::vol_ls(), "ctl volume ls");
        return;
    }
    print(render_volumes(list_volumes(filter_map(o.filters)), o));
}

void Commands::volume_inspect(const std::vector<std::string>& names, const std::string& format) {
    std::vector<Json> objects;
    for (const auto& n : names) {
        ProcessResult p = tool(tools::vol_inspect(n), "ctl volume inspect " + n);
        if (e_.explaining()) continue;
        for (const auto& line : split(p.out, '\n'))
            if (!trim(line).empty()) objects.push_back(parse_json_text(line, "vol-mount output"));
    }
    if (!e_.explaining()) print_inspect(objects, format);
}

void Commands::volume_rm(const std::vector<std::string>& names, bool force) {
    each(names, out_, err_, !e_.explaining(), [&](const std::string& n) {
        try {
            tool(tools::vol_rm({n}, force), "ctl volume rm " + n);
        } catch (const Error& x) {
            if (x.kind() != ErrorKind::not_found) throw;
            if (!force) throw Error(no_such_volume(n), ErrorKind::not_found); // docker rm -f: gone is fine
        }
    });
}

void Commands::volume_prune(bool, bool all) {
    ProcessResult p = tool(tools::vol_prune(all), "ctl volume prune");
    if (e_.explaining()) return;
    try {
        Json j = parse_json_text(p.out, "vol-mount output");
        Json deleted = j.value("VolumesDeleted", Json::array());
        if (!deleted.is_null() && !deleted.empty()) {
            print("Deleted Volumes:\n");
            for (const auto& v : deleted) print(v.get<std::string>() + "\n");
            print("\n");
        }
        print("Total reclaimed space: " + human_size_decimal(j.value("SpaceReclaimed", 0)) + "\n");
    } catch (const std::exception&) {
        print(p.out);
    }
}

} // namespace ctk::engine
