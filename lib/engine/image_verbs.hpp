// The image verbs that write the store, for ctl and ctld alike: each is a
// plan of img-pack steps (the image object's write side, CONTRACTS.md), run
// by the engine or, under --explain, printed. What the engine decides itself
// (whether a container still uses an image) it decides before the plan.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "engine/engine.hpp"
#include "engine/plan.hpp"

namespace ctk::engine {

// img-pack's JSON answer, kept by the plan's step named "out" (null under --explain).
Json pack_answer(const ExecResult& r, const std::string& what);

// docker tag SOURCE TARGET
void tag_image(Engine& e, const std::string& source, const std::string& target);

// docker rmi: refused (conflict) while a container uses the image, unless
// `force` where Docker allows it; returns the Engine API's answer
// ([{"Untagged": …}, {"Deleted": …}]; [] under --explain).
Json remove_image(Engine& e, const std::string& ref, bool force);

// docker import SOURCE (a tar file, any compression; "-" for stdin; a
// directory) [REF]: the new image's ID ("" under --explain).
struct ImportRequest {
    std::string source;
    std::vector<std::string> changes; // -c, Dockerfile instructions
    std::string message;              // -m
    std::string reference;            // "" leaves the image untagged
    std::string platform;             // "" = this machine's
};
std::string import_image(Engine& e, const ImportRequest& r);

// docker save IMAGE... as a docker-archive tar to `output` ("" = stdout).
void save_image_archive(Engine& e, const std::vector<std::string>& refs, const std::string& output);

// docker load from `input` ("" = stdin): [{"id": …, "tags": [familiar names]}] ([] under --explain).
Json load_image_archive(Engine& e, const std::string& input);

} // namespace ctk::engine
