#include "engine/tools.hpp"

#include "core/error.hpp"
#include "engine/plan.hpp"

namespace ctk::engine::tools {

Argv pull(const std::string& ref, bool quiet) {
    Argv a = {tool_path("reg-fetch"), "pull"};
    if (quiet) a.push_back("--quiet");
    a.push_back(ref);
    return a;
}

Argv push(const std::string& layout, const std::string& ref_name, const std::string& ref) {
    return {tool_path("reg-fetch"), "push", layout + ":" + ref_name, ref};
}

Argv pull_json_progress(const std::string& ref) { return {tool_path("reg-fetch"), "--progress", "json", "pull", ref}; }

Argv push_json_progress(const std::string& layout, const std::string& ref_name, const std::string& ref) {
    return {tool_path("reg-fetch"), "--progress", "json", "push", layout + ":" + ref_name, ref};
}

Argv login_check(const std::string& registry, const std::string& user) {
    Argv a = {tool_path("reg-fetch"), "login", "--no-store", "--password-stdin", "-u", user};
    if (!registry.empty()) a.insert(a.end(), {"--", registry});
    return a;
}

Argv login(const std::vector<std::string>& args) {
    Argv a = {tool_path("reg-fetch"), "login"};
    a.insert(a.end(), args.begin(), args.end());
    return a;
}

Argv logout(const std::vector<std::string>& args) {
    Argv a = {tool_path("reg-fetch"), "logout"};
    a.insert(a.end(), args.begin(), args.end());
    return a;
}

Argv unpack(const UnpackOptions& o) {
    Argv a = {tool_path("img-unpack"), "--image", o.layout + ":" + o.ref, "--mode", o.mode};
    if (o.entrypoint_set) a.insert(a.end(), {"--entrypoint", o.entrypoint});
    using Option = std::pair<const char*, const std::string&>;
    for (const auto& [flag, value] : {Option{"--platform", o.platform}, Option{"--user", o.user},
                                      Option{"--hostname", o.hostname}, Option{"--workdir", o.workdir},
                                      Option{"--host-config", o.host_config}, Option{"--netns", o.netns},
                                      Option{"--etc-files", o.etc_files}, Option{"--cgroup-name", o.cgroup_name}})
        if (!value.empty()) a.insert(a.end(), {flag, value});
    for (const auto& e : o.env) a.insert(a.end(), {"--env", e});
    if (o.tty) a.push_back("--tty");
    a.push_back("--");
    a.push_back(o.bundle);
    a.insert(a.end(), o.command.begin(), o.command.end());
    return a;
}

Argv unpack_release(const std::string& bundle) { return {tool_path("img-unpack"), "--release", bundle}; }

Argv unpack_from_stdin(const std::string& mode, const std::string& bundle, const std::vector<std::string>& env,
                       bool clear_entrypoint, const std::vector<std::string>& command) {
    Argv a = {tool_path("img-unpack"), "--mode", mode, "--no-sync"};
    if (clear_entrypoint) a.insert(a.end(), {"--entrypoint", ""});
    for (const auto& kv : env) a.push_back("--env=" + kv); // one word: --env takes several
    a.insert(a.end(), {"--", "-", bundle});                // "-" after "--": --env would eat it
    if (command.empty()) a.push_back("true");              // only written into config.json
    a.insert(a.end(), command.begin(), command.end());
    return a;
}

Argv unpack_build_step(const std::string& layout, const std::string& digest, const std::string& bundle,
                       const std::vector<std::string>& env, const std::vector<std::string>& command) {
    Argv a = {tool_path("img-unpack"), "--image", layout + ":" + digest, "--mode", "overlay", "--no-sync", "--entrypoint", ""};
    for (const auto& kv : env) a.push_back("--env=" + kv);
    a.insert(a.end(), {"--", bundle});
    if (command.empty()) a.push_back("true");
    a.insert(a.end(), command.begin(), command.end());
    return a;
}

Argv pack_commit(const PackCommit& c) {
    Argv a = {tool_path("img-pack"), "commit", "--base", c.base};
    if (!c.platform.empty()) a.insert(a.end(), {"--platform", c.platform});
    if (!c.bundle.empty()) a.insert(a.end(), {"--bundle", c.bundle});
    if (!c.upper.empty()) a.insert(a.end(), {"--upper", c.upper});
    if (!c.config_file.empty()) a.insert(a.end(), {"--config", c.config_file});
    if (!c.set_config.empty()) a.insert(a.end(), {"--set-config", c.set_config});
    for (const auto& ch : c.changes) a.insert(a.end(), {"--change", ch});
    if (!c.author.empty()) a.insert(a.end(), {"--author", c.author});
    if (!c.message.empty()) a.insert(a.end(), {"--message", c.message});
    if (!c.created_by.empty()) a.insert(a.end(), {"--created-by", c.created_by});
    for (const auto& t : c.tags) a.insert(a.end(), {"--tag", t});
    if (!c.index) a.push_back("--no-index");
    return a;
}

Argv pack_tag(const std::string& image, const std::vector<std::string>& targets) {
    Argv a = {tool_path("img-pack"), "tag", image};
    a.insert(a.end(), targets.begin(), targets.end());
    return a;
}

Argv pack_rm(const std::vector<std::string>& images, bool force) {
    Argv a = {tool_path("img-pack"), "rm"};
    if (force) a.push_back("--force");
    a.insert(a.end(), images.begin(), images.end());
    return a;
}

Argv pack_import(const std::string& source, const std::vector<std::string>& changes, const std::string& message,
                 const std::string& tag, const std::string& platform) {
    Argv a = {tool_path("img-pack"), "import"};
    for (const auto& ch : changes) a.insert(a.end(), {"--change", ch});
    if (!message.empty()) a.insert(a.end(), {"--message", message});
    if (!tag.empty()) a.insert(a.end(), {"--tag", tag});
    if (!platform.empty()) a.insert(a.end(), {"--platform", platform});
    a.insert(a.end(), {"--", source});
    return a;
}

Argv pack_save(const std::vector<std::string>& images, const std::string& output) {
    Argv a = {tool_path("img-pack"), "save"};
    if (!output.empty()) a.insert(a.end(), {"--output", output});
    a.push_back("--");
    a.insert(a.end(), images.begin(), images.end());
    return a;
}

Argv pack_load(const std::string& input) {
    Argv a = {tool_path("img-pack"), "load"};
    if (!input.empty()) a.insert(a.end(), {"--input", input});
    return a;
}

Argv pack_copy(const PackCopy& c) {
    Argv a = {tool_path("img-pack"), "copy", "--from", c.from};
    if (!c.dockerignore.empty()) a.insert(a.end(), {"--dockerignore", c.dockerignore});
    if (!c.chown.empty()) a.insert(a.end(), {"--chown", c.chown});
    if (!c.chmod.empty()) a.insert(a.end(), {"--chmod", c.chmod});
    if (c.add) a.push_back("--add");
    if (c.dest_dir) a.push_back("--into-dir");
    a.insert(a.end(), {"--", c.rootfs, c.dest});
    a.insert(a.end(), c.sources.begin(), c.sources.end());
    return a;
}

Argv pack_mkdir(const std::string& rootfs, const std::string& path) {
    return {tool_path("img-pack"), "mkdir", "--", rootfs, path};
}

Argv pack_archive(const std::string& root, const std::string& path, const std::string& name) {
    Argv a = {tool_path("img-pack"), "archive"};
    if (!name.empty()) {
        a.push_back("--name");
        a.push_back(name);
    }
    a.insert(a.end(), {"--", root, path});
    return a;
}

Argv pack_diff(const std::string& bundle) { return {tool_path("img-pack"), "diff", "--", bundle}; }

Argv pack_export(const std::string& rootfs, const std::string& output) {
    Argv a = {tool_path("img-pack"), "archive", "--contents"};
    if (!output.empty()) a.insert(a.end(), {"--output", output});
    a.insert(a.end(), {"--", rootfs, "/"});
    return a;
}

Argv pack_extract(const PackExtract& x) {
    Argv a = {tool_path("img-pack"), "extract"};
    if (x.devices) a.push_back("--devices");
    if (x.no_overwrite_dir_non_dir) a.push_back("--no-overwrite-dir-non-dir");
    if (!x.same_owner) a.push_back("--no-same-owner");
    a.insert(a.end(), {"--", x.root, x.dir});
    return a;
}

Argv runtime(const store::Paths& p, Argv verb_and_args) {
    Argv a = {tool_path("ns-run"), "--root", p.runtime_state()};
    a.insert(a.end(), verb_and_args.begin(), verb_and_args.end());
    return a;
}

Argv net_attach(const std::string& network, const std::string& netns, const std::string& name,
                const std::vector<std::string>& aliases, const std::vector<std::string>& publish, const std::string& ip,
                const std::string& container_id) {
    Argv a = {tool_path("net-bridge"), "attach", network, "--netns", netns, "--id", container_id, "--name", name};
    if (!ip.empty()) {
        a.push_back("--ip");
        a.push_back(ip);
    }
    for (const auto& al : aliases) {
        a.push_back("--alias");
        a.push_back(al);
    }
    for (const auto& p : publish) {
        a.push_back("--publish");
        a.push_back(p);
    }
    return a;
}

Argv net_detach(const std::string& network, const std::string& netns, const std::string& container_id) {
    return {tool_path("net-bridge"), "detach", network, "--netns", netns, "--id", container_id};
}

void network_option(NetworkCreate& n, const std::string& key, const std::string& value, bool strict) {
    if (key == "com.docker.network.bridge.name") n.bridge = value;
    else if (key == "com.docker.network.driver.mtu") n.mtu = value;
    else if (key == "com.docker.network.bridge.enable_ip_masquerade") n.masquerade = value != "false";
    else if (strict) throw Error("network option " + key + "=" + value + " is not supported", ErrorKind::usage);
}

Argv net_create(const NetworkCreate& n) {
    Argv a = {tool_path("net-bridge"), "create", n.name};
    if (!n.subnet.empty()) a.insert(a.end(), {"--subnet", n.subnet});
    if (!n.gateway.empty()) a.insert(a.end(), {"--gateway", n.gateway});
    if (!n.bridge.empty()) a.insert(a.end(), {"--bridge", n.bridge});
    if (!n.mtu.empty()) a.insert(a.end(), {"--mtu", n.mtu});
    if (n.internal) a.push_back("--internal");
    if (!n.masquerade) a.push_back("--no-masquerade");
    for (const auto& l : n.labels) a.insert(a.end(), {"--label", l});
    return a;
}

Argv net_ls() { return {tool_path("net-bridge"), "ls"}; }
Argv net_inspect(const std::string& network) { return {tool_path("net-bridge"), "inspect", network}; }
Argv net_rm(const std::string& network) { return {tool_path("net-bridge"), "rm", network}; }
Argv net_prune() { return {tool_path("net-bridge"), "prune"}; }

Argv vol_apply(const std::string& bundle, const std::string& id, const std::vector<std::string>& specs) {
    Argv a = {tool_path("vol-mount"), "apply", "--id", id, bundle};
    a.insert(a.end(), specs.begin(), specs.end());
    return a;
}

Argv vol_release(const std::string& bundle, const std::string& id) {
    return {tool_path("vol-mount"), "release", "--id", id, bundle};
}

Argv vol_rm(const std::vector<std::string>& names, bool force) {
    Argv a = {tool_path("vol-mount"), "rm"};
    if (force) a.push_back("-f");
    a.insert(a.end(), names.begin(), names.end());
    return a;
}

Argv vol_create(const std::string& name, const std::vector<std::string>& labels, const std::vector<std::string>& opts) {
    Argv a = {tool_path("vol-mount"), "create"};
    if (!name.empty()) a.push_back(name);
    for (const auto& l : labels) a.insert(a.end(), {"--label", l});
    for (const auto& o : opts) a.insert(a.end(), {"--opt", o});
    return a;
}

Argv vol_ls() { return {tool_path("vol-mount"), "ls", "--json"}; }
Argv vol_inspect(const std::string& name) { return {tool_path("vol-mount"), "inspect", name}; }

Argv vol_prune(bool all) {
    Argv a = {tool_path("vol-mount"), "prune"};
    if (all) a.push_back("--all");
    return a;
}

} // namespace ctk::engine::tools
