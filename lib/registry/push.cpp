#include "registry/push.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/fs.hpp"
#include "oci/layout.hpp"
#include "oci/media_types.hpp"
#include "store/paths.hpp"

namespace ctk::registry {

namespace {

constexpr size_t max_document = 4u << 20;

struct Source {
    oci::Layout layout;
    oci::Descriptor descriptor;
    std::string name; // as found in the layout
    bool from_store = false;
};

std::optional<oci::Descriptor> lookup(const oci::Layout& layout, const std::string& name,
                                      const Settings& settings) {
    oci::Index index = layout.read_index();
    if (name.empty()) {
        if (index.manifests.size() == 1) return index.manifests.front();
        return std::nullopt;
    }
    if (Digest::valid(name)) {
        Digest want = Digest::parse(name);
        for (const auto& d : index.manifests)
            if (d.digest == want) return d;
        return std::nullopt;
    }
    for (const auto& d : index.manifests)
        if (d.ref_name() == name) return d;
    try {
        std::string full = settings.normalize(name).with_default_tag().str();
        for (const auto& d : index.manifests)
            if (d.ref_name() == full) return d;
    } catch (const Error&) {
    }
    return std::nullopt;
}

Source find_source(std::string_view source, const Settings& settings) {
    auto [dir, name] = oci::split_layout_ref(source);
    if (oci::Layout::exists(dir)) {
        oci::Layout layout = oci::Layout::open(dir);
        auto d = lookup(layout, name, settings);
        if (!d)
            throw_not_found("image " + quote(name.empty() ? std::string(source) : name) +
                            " not in layout " + quote(dir) +
                            (name.empty() ? " (it holds more than one image: name one)" : ""));
        return Source{layout, *d, name, false};
    }
    std::string images = store::Paths::from_env().images();
    if (!oci::Layout::exists(images))
        throw_not_found("image " + quote(source) + ": no layout " + quote(dir) +
                        " and no store images in " + quote(images));
    oci::Layout layout = oci::Layout::open(images);
    std::string full = settings.normalize(source).with_default_tag().str();
    auto d = lookup(layout, full, settings);
    if (!d) throw_not_found("image " + quote(full) + " not in the store (" + images + ")");
    return Source{layout, *d, full, true};
}

struct Manifests {
    // The images' manifests (bytes as stored) in push order, then the top document.
    std::vector<std::pair<oci::Descriptor, std::string>> children;
    std::string top_bytes;
    std::vector<oci::Descriptor> blobs; // configs and layers, each once
};

void add_manifest_blobs(const oci::Layout& layout, const oci::Descriptor& d, const std::string& bytes,
                        std::vector<oci::Descriptor>& blobs, std::set<Digest>& seen) {
    oci::Manifest m = oci::Manifest::parse(bytes, "manifest " + d.digest.str());
    auto add = [&](const oci::Descriptor& b) {
        if (!layout.has_blob(b.digest))
            throw_not_found("manifest " + d.digest.str() + ": blob " + b.digest.str() +
                            " is not in layout " + quote(layout.path()));
        if (seen.insert(b.digest).second) blobs.push_back(b);
    };
    add(m.config);
    for (const auto& l : m.layers) add(l);
}

Manifests collect(const oci::Layout& layout, const oci::Descriptor& top) {
    Manifests out;
    std::set<Digest> seen;
    out.top_bytes = layout.read_blob(top, max_document);
    if (oci::is_index_type(top.media_type)) {
        oci::Index index = oci::Index::parse(out.top_bytes, "index " + top.digest.str());
        for (const auto& d : index.manifests) {
            if (!layout.has_blob(d.digest))
                throw_not_found("index " + top.digest.str() + ": manifest " + d.digest.str() +
                                " is not in layout " + quote(layout.path()) +
                                " (pull it with --all-platforms)");
            std::string bytes = layout.read_blob(d, max_document);
            if (oci::is_manifest_type(d.media_type)) add_manifest_blobs(layout, d, bytes, out.blobs, seen);
            out.children.emplace_back(d, std::move(bytes));
        }
    } else if (oci::is_manifest_type(top.media_type)) {
        add_manifest_blobs(layout, top, out.top_bytes, out.blobs, seen);
    } else {
        throw_invalid("descriptor " + top.digest.str() + ": unsupported media type " + quote(top.media_type));
    }
    return out;
}

// Repositories of the destination's registry that, by the layout's own tags,
// hold each blob: candidates for a cross-repository mount.
std::map<Digest, std::vector<std::string>> mount_sources(const oci::Layout& layout,
                                                         const oci::Reference& dest) {
    std::map<Digest, std::vector<std::string>> out;
    for (const auto& d : layout.read_index().manifests) {
        std::string name = d.ref_name();
        if (name.empty()) continue;
        oci::Reference r;
        try {
            r = oci::Reference::parse_normalized(name);
        } catch (const Error&) {
            continue;
        }
        if (r.domain != dest.domain || r.path == dest.path) continue;
        try {
            Manifests m = collect(layout, d);
            for (const auto& b : m.blobs) {
                auto& repos = out[b.digest];
                if (std::find(repos.begin(), repos.end(), r.path) == repos.end()) repos.push_back(r.path);
            }
        } catch (const Error&) {
            // An image of the layout that is incomplete offers no mounts.
        }
    }
    return out;
}

} // namespace

Json push(Session& session, std::string_view source_text, std::string_view destination,
          const PushOptions& options) {
    Progress& progress = *session.progress;
    Source source = find_source(source_text, session.settings);
    if (destination.empty()) {
        if (!source.from_store)
            throw Error("push " + std::string(source_text) + ": name the destination reference",
                        ErrorKind::usage);
        destination = source.name;
    }
    oci::Reference dest = session.settings.normalize(destination);
    if (dest.tag.empty() && dest.digest.empty()) dest = dest.with_default_tag();
    Manifests m = collect(source.layout, source.descriptor);
    Digest top_digest = Digest::sha256_of(m.top_bytes);
    if (!dest.digest.empty() && Digest::parse(dest.digest) != top_digest)
        throw_invalid("push to " + dest.str() + ": the image's digest is " + top_digest.str());

    auto sources = mount_sources(source.layout, dest);
    std::vector<std::string> scopes = {"repository:" + dest.path + ":pull,push"};
    for (const auto& [digest, repos] : sources)
        for (const auto& r : repos) {
            std::string s = "repository:" + r + ":pull";
            if (std::find(scopes.begin(), scopes.end(), s) == scopes.end()) scopes.push_back(s);
        }
    Endpoint endpoint = session.settings.endpoint(dest.domain);
    auto auth = session.authenticator(endpoint, scopes);
    std::unique_ptr<Client> client = session.client(endpoint, dest.path, auth);

    std::atomic<unsigned> pushed{0}, mounted{0}, existing{0};
    std::atomic<size_t> next{0};
    std::atomic<bool> cancel{false};
    std::mutex error_mutex;
    std::exception_ptr first_error;
    auto work = [&](Client* own) {
        std::unique_ptr<Client> made;
        for (;;) {
            size_t i = next++;
            if (i >= m.blobs.size() || cancel) return;
            const oci::Descriptor& d = m.blobs[i];
            std::string id = d.digest.str();
            uint64_t size = static_cast<uint64_t>(d.size);
            try {
                if (!own) {
                    made = session.client(endpoint, dest.path, auth);
                    own = made.get();
                }
                if (own->blob_exists(d.digest)) {
                    existing++;
                    progress.event(id, "layer exists", size, size);
                    continue;
                }
                bool done = false;
                if (auto it = sources.find(d.digest); it != sources.end())
                    for (const auto& repo : it->second)
                        if (own->mount_blob(d.digest, repo)) {
                            mounted++;
                            progress.event(id, "mounted", size, size, "from " + repo);
                            done = true;
                            break;
                        }
                if (done) continue;
                UniqueFd fd = source.layout.open_blob(d.digest);
                progress.event(id, "uploading", 0, size);
                own->upload_blob(d.digest, fd.get(), size, options.chunk_size,
                                 [&](uint64_t n) { progress.event(id, "uploading", n, size); });
                pushed++;
                progress.event(id, "pushed", size, size);
            } catch (...) {
                std::lock_guard lock(error_mutex);
                if (!first_error) first_error = std::current_exception();
                cancel = true;
            }
        }
    };
    unsigned parallel = options.max_concurrent ? options.max_concurrent
                                               : session.settings.max_concurrent_downloads;
    unsigned workers = static_cast<unsigned>(std::min<size_t>(std::max(parallel, 1u), m.blobs.size()));
    std::vector<std::thread> threads;
    for (unsigned t = 1; t < workers; t++) threads.emplace_back(work, nullptr);
    if (workers > 0) work(client.get());
    for (auto& t : threads) t.join();
    progress.finish();
    if (first_error) std::rethrow_exception(first_error);

    for (const auto& [d, bytes] : m.children) client->put_manifest(d.digest.str(), bytes, d.media_type);
    std::string media_type = source.descriptor.media_type;
    client->put_manifest(dest.digest.empty() ? dest.tag : dest.digest, m.top_bytes, media_type);
    progress.note(dest.str() + ": digest: " + top_digest.str() + " size: " + std::to_string(m.top_bytes.size()));

    Json out = Json::object();
    out["reference"] = dest.str();
    out["digest"] = top_digest.str();
    out["media_type"] = media_type;
    out["size"] = m.top_bytes.size();
    out["blobs"] = {{"pushed", pushed.load()}, {"mounted", mounted.load()}, {"existing", existing.load()}};
    return out;
}

} // namespace ctk::registry
