// Images from containers (docker commit) and image history (docker history).
//
// commit: the container's filesystem changes become one layer on top of the
// image it was created from: for an overlay bundle the upper directory, for a
// flat one a diff against a fresh flat unpack of the image. The runtime's own
// mount points (/proc, /sys, /dev, /etc/hosts, /etc/hostname,
// /etc/resolv.conf) stay out, as Docker keeps them out with its init layer.
// The new config is the image's, with the container's Config (Cmd,
// Entrypoint, Env, WorkingDir, User, ExposedPorts, Volumes, Labels,
// StopSignal) over it, then the --change instructions; a history entry with
// the author and comment. The container is not paused (a running one is
// committed as it is at that moment).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "engine/engine.hpp"

namespace ctk::engine {

struct CommitOptions {
    std::string container;
    std::string reference; // REPO[:TAG]; "" leaves the image untagged
    std::string author, message;
    std::vector<std::string> changes; // Dockerfile instructions (-c)
};

// Returns the new image's ID ("sha256:…").
std::string commit_container(Engine& engine, const CommitOptions& options);

// Paths a runtime creates in a rootfs as mount points: left out of layers.
const std::set<std::string>& runtime_mount_points();

// docker history: one row per history entry, newest first, in the Engine
// API's shape ([{"Id", "Created", "CreatedBy", "Tags", "Size", "Comment"}]).
Json image_history(const ImageStore& store, const std::string& ref);

// `docker history`'s output (table, --no-trunc, -q, --format, -H) from those rows,
// whether they came from the store or from a daemon (ctl -H).
std::string render_history(const Json& rows, bool no_trunc, bool quiet, bool human, const std::string& format);
// Prints `docker history` of an image of the store.
void print_history(const ImageStore& store, const std::string& ref, bool no_trunc, bool quiet, bool human,
                   const std::string& format, FILE* out);

} // namespace ctk::engine
