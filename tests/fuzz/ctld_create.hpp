// What ctld does with a POST /containers/create body before anything runs:
// the handler's checks (api/containers.cpp create) and the Engine's
// translation of Config, HostConfig and NetworkingConfig into the plan (binds,
// mounts, tmpfs, ports, env, user, capabilities, devices, resources ...), in
// explain mode over an empty store of the fuzzer's own: nothing is executed or
// written, a missing image only adds a pull step to the plan.
#pragma once

#include <cstdlib>
#include <string>

#include "api/http.hpp"
#include "api/util.hpp"
#include "core/fs.hpp"
#include "engine/engine.hpp"
#include "engine/names.hpp"
#include "engine/plan.hpp"

namespace ctk::fuzz {

inline const store::Paths& scratch_store() {
    static const store::Paths paths = [] {
        const char* tmp = std::getenv("TMPDIR");
        std::string t = std::string(tmp && *tmp ? tmp : "/tmp") + "/ctk-fuzz-store.XXXXXX";
        if (!::mkdtemp(t.data())) std::abort();
        static std::string dir = t;
        std::atexit([] {
            try {
                remove_tree(dir);
            } catch (const std::exception&) {
            }
        });
        return store::Paths{t + "/root", t + "/run"};
    }();
    return paths;
}

// Throws HttpError or ctk::Error as the handler would answer them.
inline void create_container(const std::string& name, Json body) {
    if (!body.is_object()) throw api::HttpError(400, "the request body must be a JSON object");
    if (!name.empty()) engine::validate_container_name(name);
    engine::CreateRequest cr;
    cr.name = name;
    cr.host_config = api::json_get(body, "HostConfig", Json::object());
    cr.networking = api::json_get(body, "NetworkingConfig", Json::object());
    body.erase("HostConfig");
    body.erase("NetworkingConfig");
    cr.config = body;
    if (api::json_str(body, "Image").empty())
        throw api::HttpError(400, "Config cannot be empty in order to create a container");
    if (api::json_get(cr.host_config, "Privileged", false) == true)
        throw api::HttpError(400, "privileged containers are not supported by ctk");
    engine::Engine e(scratch_store());
    engine::Plan plan;
    e.explain_into(&plan);
    (void)e.create(cr);
    (void)engine::render_script(plan);
}

} // namespace ctk::fuzz
