#include "engine/image_store.hpp"

#include "engine/timefmt.hpp"

namespace ctk::engine {

Json docker_container_config(const Json& c) {
    auto get = [&](const char* k, Json fallback) {
        auto it = c.find(k);
        return it != c.end() && !it->is_null() ? *it : fallback;
    };
    Json out = Json::object();
    out["Hostname"] = "";
    out["Domainname"] = "";
    out["User"] = get("User", "");
    out["AttachStdin"] = false;
    out["AttachStdout"] = false;
    out["AttachStderr"] = false;
    if (c.contains("ExposedPorts")) out["ExposedPorts"] = c["ExposedPorts"];
    out["Tty"] = false;
    out["OpenStdin"] = false;
    out["StdinOnce"] = false;
    out["Env"] = get("Env", nullptr);
    out["Cmd"] = get("Cmd", nullptr);
    if (c.contains("Healthcheck")) out["Healthcheck"] = c["Healthcheck"];
    if (c.contains("ArgsEscaped")) out["ArgsEscaped"] = c["ArgsEscaped"];
    out["Image"] = "";
    out["Volumes"] = get("Volumes", nullptr);
    out["WorkingDir"] = get("WorkingDir", "");
    out["Entrypoint"] = get("Entrypoint", nullptr);
    out["OnBuild"] = get("OnBuild", nullptr);
    out["Labels"] = get("Labels", nullptr);
    if (c.contains("StopSignal")) out["StopSignal"] = c["StopSignal"];
    if (c.contains("Shell")) out["Shell"] = c["Shell"];
    return out;
}

Json ImageStore::list_json(const LocalImage& i) const {
    Json labels = i.config.contains("config") ? i.config["config"].value("Labels", Json()) : Json();
    return Json{{"Containers", -1},
                {"Created", i.created_unix()},
                {"Id", i.id},
                {"Labels", labels},
                {"ParentId", ""},
                {"RepoDigests", i.repo_digests()},
                {"RepoTags", i.repo_tags()},
                {"SharedSize", -1},
                {"Size", i.size()},
                {"VirtualSize", i.size()}};
}

Json ImageStore::inspect_json(const LocalImage& i) const {
    const Json& cfg = i.config;
    Json c = cfg.contains("config") && cfg["config"].is_object() ? cfg["config"] : Json::object();
    Json diff_ids = cfg.contains("rootfs") ? cfg["rootfs"].value("diff_ids", Json::array()) : Json::array();
    std::string comment = cfg.value("comment", "");
    if (comment.empty() && cfg.contains("history") && cfg["history"].is_array() && !cfg["history"].empty())
        comment = cfg["history"].back().value("comment", "");
    Json out = Json::object();
    out["Id"] = i.id;
    out["RepoTags"] = i.repo_tags();
    out["RepoDigests"] = i.repo_digests();
    out["Parent"] = "";
    out["Comment"] = comment;
    out["Created"] = cfg.value("created", std::string(zero_time));
    out["Container"] = "";
    out["ContainerConfig"] = docker_container_config(Json::object());
    out["DockerVersion"] = "";
    out["Author"] = cfg.value("author", "");
    out["Config"] = docker_container_config(c);
    out["Architecture"] = cfg.value("architecture", "");
    if (cfg.contains("variant")) out["Variant"] = cfg["variant"];
    out["Os"] = cfg.value("os", "");
    out["Size"] = i.size();
    out["VirtualSize"] = i.size();
    std::vector<std::string> lowers;
    auto chains = oci::chain_ids(i.resolved.config.diff_ids);
    for (auto it = chains.rbegin(); it != chains.rend(); ++it) lowers.push_back(paths().layer(it->encoded()));
    std::string lower;
    for (size_t k = 0; k < lowers.size(); k++) lower += (k ? ":" : "") + lowers[k];
    out["GraphDriver"] = Json{{"Data", Json{{"LowerDir", lower}}}, {"Name", "overlay"}};
    out["RootFS"] = Json{{"Type", "layers"}, {"Layers", diff_ids}};
    out["Metadata"] = Json{{"LastTagTime", zero_time}};
    out["Descriptor"] = i.resolved.manifest_descriptor;
    return out;
}


} // namespace ctk::engine
