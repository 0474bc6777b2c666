#include "registry/inspect.hpp"

#include "core/strings.hpp"
#include "oci/media_types.hpp"

namespace ctk::registry {

namespace {

struct Resolved {
    std::unique_ptr<Client> client;
    oci::Reference ref;
    Document top;
    oci::Manifest manifest;
    oci::ImageConfig config;
    std::string config_bytes;
};

std::unique_ptr<Client> open_client(Session& session, const oci::Reference& ref) {
    Endpoint ep = session.settings.endpoint(ref.domain);
    auto auth = session.authenticator(ep, {"repository:" + ref.path + ":pull"});
    return session.client(ep, ref.path, auth);
}

Resolved resolve(Session& session, std::string_view reference, const std::optional<oci::Platform>& platform) {
    Resolved r;
    r.ref = session.settings.normalize(reference).with_default_tag();
    r.client = open_client(session, r.ref);
    r.top = r.client->get_manifest(r.ref.manifest_ref());
    Document image = r.top;
    if (oci::is_index_type(r.top.media_type)) {
        oci::Index index = oci::Index::parse(r.top.bytes, r.client->where() + ": index " + r.top.digest.str());
        oci::Platform want = platform ? *platform : oci::Platform::host();
        const oci::Descriptor* pick = index.select(want);
        if (!pick)
            throw_not_found(r.client->where() + ": index " + quote(r.ref.manifest_ref()) +
                            ": no image for platform " + want.str());
        image = r.client->get_manifest(pick->digest.str());
    }
    r.manifest = oci::Manifest::parse(image.bytes, r.client->where() + ": manifest " + image.digest.str());
    r.config_bytes = r.client->get_blob(r.manifest.config);
    r.config = oci::ImageConfig::parse(r.config_bytes, r.client->where() + ": config " +
                                                           r.manifest.config.digest.str());
    return r;
}

} // namespace

Json inspect(Session& session, std::string_view reference, const InspectOptions& options) {
    Resolved r = resolve(session, reference, options.platform);
    Json j = Json::object();
    j["Name"] = r.ref.name();
    j["Digest"] = r.top.digest.str();
    j["RepoTags"] = options.tags ? Json(r.client->tags()) : Json::array();
    j["Created"] = r.config.created.empty() ? Json(nullptr) : Json(r.config.created);
    j["DockerVersion"] = r.config.extra.value("docker_version", "");
    j["Labels"] = r.config.config.labels.empty() ? Json(nullptr) : Json(r.config.config.labels);
    j["Architecture"] = r.config.architecture;
    if (!r.config.variant.empty()) j["Variant"] = r.config.variant;
    j["Os"] = r.config.os;
    Json layers = Json::array(), data = Json::array();
    for (const auto& l : r.manifest.layers) {
        layers.push_back(l.digest.str());
        data.push_back({{"MIMEType", l.media_type},
                        {"Digest", l.digest.str()},
                        {"Size", l.size},
                        {"Annotations", l.annotations.empty() ? Json(nullptr) : Json(l.annotations)}});
    }
    j["Layers"] = layers;
    j["LayersData"] = data;
    j["Env"] = r.config.config.env.empty() ? Json(nullptr) : Json(r.config.config.env);
    return j;
}

std::string inspect_raw(Session& session, std::string_view reference) {
    oci::Reference ref = session.settings.normalize(reference).with_default_tag();
    return open_client(session, ref)->get_manifest(ref.manifest_ref()).bytes;
}

std::string inspect_config(Session& session, std::string_view reference,
                           const std::optional<oci::Platform>& platform) {
    return resolve(session, reference, platform).config_bytes;
}

Json list_tags(Session& session, std::string_view reference) {
    oci::Reference ref = session.settings.normalize(reference);
    if (!ref.tag.empty() || !ref.digest.empty())
        throw Error("tags " + std::string(reference) + ": name a repository, without tag or digest",
                    ErrorKind::usage);
    Json j = Json::object();
    j["Repository"] = ref.name();
    j["Tags"] = open_client(session, ref)->tags();
    return j;
}

std::string registry_domain(std::string_view registry) {
    std::string_view r = trim(registry);
    if (size_t p = r.find("://"); p != std::string_view::npos) r.remove_prefix(p + 3);
    r = r.substr(0, r.find('/'));
    std::string host = to_lower(r);
    if (host.empty()) throw Error("no registry named", ErrorKind::usage);
    if (host == "index.docker.io" || host == oci::docker_hub_registry) return std::string(oci::docker_hub_domain);
    return host;
}

std::string login(Session& session, std::string_view registry, const Credentials& credentials, bool store_them) {
    std::string domain = registry_domain(registry);
    if (credentials.username.empty() || credentials.password.empty())
        throw Error("login " + domain + ": username and password are needed", ErrorKind::usage);
    Endpoint ep = session.settings.endpoint(domain);
    auto auth = std::make_shared<Authenticator>(domain, credentials, std::vector<std::string>{});
    auto client = session.client(ep, "", auth);
    Request req;
    req.url = ep.base_url + "/v2/";
    Response r = client->send(req, "login");
    if (!r.ok()) {
        if (r.status == 401)
            throw Error("login " + domain + ": credentials refused (HTTP 401 Unauthorized)", ErrorKind::remote);
        client->fail(r, "login");
    }
    if (!store_them) return domain;
    CredentialStore store = CredentialStore::load();
    store.store(domain, credentials);
    return domain;
}

std::string logout(Session&, std::string_view registry) {
    std::string domain = registry_domain(registry);
    CredentialStore store = CredentialStore::load();
    if (!store.erase(domain)) throw_not_found("logout " + domain + ": not logged in");
    return domain;
}

} // namespace ctk::registry
