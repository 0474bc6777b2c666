// Where the store lives: one place for every path, so ctl, ctld and each tool
// agree (DESIGN.md "The store").
//
//   $CTK_ROOT (default /var/lib/ctk)
//     images/                 one OCI image layout for all local images
//     layers/<chainid>/       unpacked layers, shared by every container
//     containers/<id>/        bundle, container.json, log
//     volumes/<name>/_data    named volumes
//     networks/<name>.json    networks and their allocations
//   $CTK_RUN (default /run/ctk)
//     runtime state, locks, ctld.sock
#pragma once

#include <string>

namespace ctk::store {

struct Paths {
    std::string root; // CTK_ROOT
    std::string run;  // CTK_RUN

    // From $CTK_ROOT and $CTK_RUN, else the defaults. Relative values are made
    // absolute against the current directory.
    static Paths from_env();

    std::string images() const { return root + "/images"; }
    std::string layers() const { return root + "/layers"; }
    std::string layer(const std::string& chain_encoded) const { return layers() + "/" + chain_encoded; }
    std::string containers() const { return root + "/containers"; }
    std::string container(const std::string& id) const { return containers() + "/" + id; }
    // the name index: names/NAME is a symlink to the container's ID
    std::string names() const { return root + "/names"; }
    std::string name_link(const std::string& name) const { return names() + "/" + name; }
    std::string volumes() const { return root + "/volumes"; }
    std::string volume(const std::string& name) const { return volumes() + "/" + name; }
    std::string networks() const { return root + "/networks"; }
    std::string network(const std::string& name) const { return networks() + "/" + name + ".json"; }
    std::string locks() const { return run + "/locks"; }
    std::string runtime_state() const { return run + "/runtime"; } // ns-run --root default
    std::string daemon_socket() const { return run + "/ctld.sock"; }
};

inline constexpr const char* default_root = "/var/lib/ctk";
inline constexpr const char* default_run = "/run/ctk";

} // namespace ctk::store
