// Dockerfile instructions that change only an image's config, applied to
// Docker's Config object ("Cmd", "Env", "ExposedPorts" …, as `docker inspect`
// shows it): `docker commit --change`, `docker import --change` (img-pack
// commit and import). The instruction text goes through the Dockerfile
// parser (dockerfile.hpp, parse_line + check_instruction) that `ctl build`
// uses; values are expanded with the config's own Env, as Docker's
// BuildFromConfig does.
#pragma once

#include <string>
#include <vector>

#include "core/json.hpp"

namespace ctk::build {

// CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME,
// WORKDIR, in order. Throws ErrorKind::invalid naming the instruction:
//     "RUN" is not a valid change command
//     change "ENV": ENV requires at least one argument
void apply_changes(Json& config, const std::vector<std::string>& changes);

} // namespace ctk::build
