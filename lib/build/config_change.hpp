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

#include "build/dockerfile.hpp"
#include "build/shell_words.hpp"
#include "core/json.hpp"

namespace ctk::build {

// One checked instruction of those kinds applied to `config`, words expanded
// with `vars` (ENV adds to them); `cmd_set` says whether a CMD came earlier in
// the same run (an ENTRYPOINT clears a Cmd it did not see set). Other kinds
// are ignored. The builder's config steps and apply_changes share it.
void apply_instruction(Json& config, const Instruction& in, VarMap& vars, bool& cmd_set, char escape = '\\');

// CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME,
// WORKDIR, in order. Throws ErrorKind::invalid naming the instruction:
//     "RUN" is not a valid change command
//     change "ENV": ENV requires at least one argument
void apply_changes(Json& config, const std::vector<std::string>& changes);

} // namespace ctk::build
