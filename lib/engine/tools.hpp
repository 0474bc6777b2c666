// The command lines of the tools ctl composes, in one place: every argv a plan
// runs is built here, from the interfaces in CONTRACTS.md (each tool's "Invoked
// by ctl and ctld") and the tools' man pages (reg-fetch.1, img-unpack.1,
// ns-run.8, net-bridge.8, vol-mount.8).
#pragma once

#include <string>
#include <vector>

#include "store/paths.hpp"

namespace ctk::engine::tools {

using Argv = std::vector<std::string>;

// reg-fetch
Argv pull(const std::string& ref, bool quiet);
Argv push(const std::string& layout, const std::string& ref_name, const std::string& ref);
Argv login(const std::vector<std::string>& args);
// reg-fetch login --no-store --password-stdin -u USER [REGISTRY]: the check of
// dockerd's POST /auth (the password on stdin, never on a command line)
Argv login_check(const std::string& registry, const std::string& user);
Argv logout(const std::vector<std::string>& args);

// reg-fetch with --progress json (ctld streams it as Docker's progress messages)
Argv pull_json_progress(const std::string& ref);
Argv push_json_progress(const std::string& layout, const std::string& ref_name, const std::string& ref);

// img-unpack
struct UnpackOptions {
    std::string layout, ref, bundle;
    std::string mode = "overlay";
    bool entrypoint_set = false;
    std::string entrypoint;
    std::vector<std::string> command; // replaces the image's Cmd when not empty
    std::string user;                 // resolved inside the rootfs by img-unpack
    std::string platform;
    std::vector<std::string> env;     // K=V
    std::string workdir, hostname;
    bool tty = false;
    // docker run's HostConfig as a file, and ctk's inputs beside it
    std::string host_config, netns, etc_files, cgroup_name;
};
Argv unpack(const UnpackOptions& o);
Argv unpack_release(const std::string& bundle);
// A bundle of the image a pull object (stdin: {"layout","digest"}) names, for a
// build step or a commit: no fsync (the bundle is thrown away), the Cmd given.
Argv unpack_from_stdin(const std::string& mode, const std::string& bundle, const std::vector<std::string>& env,
                       bool clear_entrypoint, const std::vector<std::string>& command);

// A build step's bundle of the layout's image (manifest digest, or the
// script's ${IMGn}): overlay, no fsync, no entrypoint, `command` as its
// process (`true` when empty: the step only writes files).
Argv unpack_build_step(const std::string& layout, const std::string& digest, const std::string& bundle,
                       const std::vector<std::string>& env, const std::vector<std::string>& command);

// img-pack (the image's write side; IMAGE "@sha256:…" is a manifest by digest)
struct PackCommit {
    std::string base;        // IMAGE or "scratch"
    std::string platform;    // scratch's
    std::string bundle;      // the layer: an img-unpack bundle's changes …
    std::string upper;       // … or a directory of additions
    std::string config_file; // a Docker Config laid over the base's (commit)
    std::string set_config;  // the whole new Config (build steps)
    std::vector<std::string> changes;
    std::string created_by, author, message;
    std::vector<std::string> tags;
    bool index = true;       // false: blobs only (a build step's image)
};
Argv pack_commit(const PackCommit& c);
Argv pack_tag(const std::string& image, const std::vector<std::string>& targets);
Argv pack_rm(const std::vector<std::string>& images, bool force);
Argv pack_import(const std::string& source, const std::vector<std::string>& changes, const std::string& message,
                 const std::string& tag, const std::string& platform);
Argv pack_save(const std::vector<std::string>& images, const std::string& output);
Argv pack_load(const std::string& input);
struct PackCopy {
    std::string rootfs, dest, from, dockerignore, chown, chmod;
    std::vector<std::string> sources;
    bool add = false, dest_dir = false;
};
Argv pack_copy(const PackCopy& c);
Argv pack_mkdir(const std::string& rootfs, const std::string& path);
// docker cp and a build context: a tree as a tar on stdout (the top entry
// named `name`, "" = PATH's last component), and a tar from stdin into DIR
// (both resolved inside ROOT: a container's rootfs, or "/" for the host).
Argv pack_archive(const std::string& root, const std::string& path, const std::string& name = "");
// img-pack diff BUNDLE (docker diff) and archive --contents [-o FILE] ROOTFS / (docker export)
Argv pack_diff(const std::string& bundle);
Argv pack_export(const std::string& rootfs, const std::string& output);
struct PackExtract {
    std::string root, dir;
    bool devices = false;                  // character and block devices made
    bool no_overwrite_dir_non_dir = false; // docker's noOverwriteDirNonDir
    bool same_owner = true;                // the tar's owners (else the caller's)
};
Argv pack_extract(const PackExtract& x);

// ns-run (runc's verbs; --root is the store's runtime state directory)
Argv runtime(const store::Paths& p, Argv verb_and_args);

// net-bridge
Argv net_attach(const std::string& network, const std::string& netns, const std::string& name,
                const std::vector<std::string>& aliases, const std::vector<std::string>& publish, const std::string& ip,
                const std::string& container_id);
Argv net_detach(const std::string& network, const std::string& netns, const std::string& container_id);
struct NetworkCreate {
    std::string name, subnet, gateway, bridge, mtu;
    bool internal = false, masquerade = true;
    std::vector<std::string> labels; // k=v
};
// A Docker driver option (`docker network create -o KEY=VALUE`, the API's
// "Options"): the bridge's name, its MTU, masquerading. Throws usage for one
// net-bridge has no equivalent of (`strict`), else ignores it (the API).
void network_option(NetworkCreate& n, const std::string& key, const std::string& value, bool strict);
Argv net_create(const NetworkCreate& n);
Argv net_ls();
Argv net_inspect(const std::string& network);
Argv net_rm(const std::string& network);
Argv net_prune();

// vol-mount
Argv vol_apply(const std::string& bundle, const std::string& id, const std::vector<std::string>& specs);
Argv vol_release(const std::string& bundle, const std::string& id);
Argv vol_rm(const std::vector<std::string>& names, bool force);
Argv vol_create(const std::string& name, const std::vector<std::string>& labels, const std::vector<std::string>& opts);
Argv vol_ls();
Argv vol_inspect(const std::string& name);
Argv vol_prune(bool all);

} // namespace ctk::engine::tools
