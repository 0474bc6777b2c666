#include "registry/pull.hpp"

#include <fcntl.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "core/fd.hpp"
#include "core/fs.hpp"
#include "core/lock.hpp"
#include "core/strings.hpp"
#include "oci/layout.hpp"
#include "oci/media_types.hpp"
#include "store/paths.hpp"

namespace ctk::registry {

namespace {

// One image of the pull, fetched and checked in memory before anything is written.
struct Image {
    oci::Descriptor manifest_descriptor;
    std::string manifest_bytes;
    oci::Manifest manifest;
    std::string config_bytes;
    oci::ImageConfig config;
    std::optional<oci::Platform> platform;
    std::string platform_text() const { return platform ? platform->str() : ""; }
};

struct Job {
    oci::Descriptor descriptor;
    oci::BlobWriter writer;
    bool fresh = true; // the partial file held nothing before this run
    bool done = false; // verified already
};

std::string absolute(const std::string& path) {
    char buf[PATH_MAX];
    if (::realpath(path.c_str(), buf)) return buf;
    return path;
}

Image fetch_image(Client& client, const oci::Layout& layout, const oci::Descriptor& desc,
                  std::string manifest_bytes, std::optional<oci::Platform> platform) {
    Image img;
    img.manifest_descriptor = desc;
    img.manifest_bytes = std::move(manifest_bytes);
    std::string what = client.where() + ": manifest " + desc.digest.str();
    img.manifest = oci::Manifest::parse(img.manifest_bytes, what);
    if (!img.manifest.media_type.empty() && img.manifest.media_type != desc.media_type)
        throw_invalid(what + ": media type " + quote(img.manifest.media_type) + " but served as " +
                      quote(desc.media_type));
    const oci::Descriptor& cd = img.manifest.config;
    if (layout.has_blob(cd.digest)) {
        img.config_bytes = layout.read_blob(cd, max_config_size);
    } else {
        img.config_bytes = client.get_blob(cd, max_config_size);
    }
    img.config = oci::ImageConfig::parse(img.config_bytes, client.where() + ": config " + cd.digest.str());
    if (img.config.diff_ids.size() != img.manifest.layers.size())
        throw_invalid(what + ": " + std::to_string(img.manifest.layers.size()) +
                      " layers but the config lists " + std::to_string(img.config.diff_ids.size()) +
                      " diff_ids");
    for (const auto& l : img.manifest.layers)
        if (l.size < 0) throw_invalid(what + ": layer " + l.digest.str() + ": negative size");
    img.platform = std::move(platform);
    if (!img.platform && !img.config.os.empty() && !img.config.architecture.empty())
        img.platform = img.config.platform();
    return img;
}

constexpr uint64_t writeback_step = 4u << 20;
constexpr std::chrono::seconds stale_partial_age{3600};

// The disk refused the bytes: full, over quota, or failing.
bool write_failure(const Error& e) {
    int err = e.error_number();
    return err == ENOSPC || err == EDQUOT || err == EIO || err == EFBIG;
}

Json descriptor_json(const oci::Descriptor& d) { return Json(d); }

// Undoes the layout a failed pull made: only when it still holds nothing
// (no tag, no blob, no partial download to resume), checked under its lock.
void remove_if_empty(const oci::Layout& layout) noexcept {
    try {
        const std::string& dir = layout.path();
        FileLock lock(layout.lock_path());
        if (!layout.read_index().manifests.empty()) return;
        if (!std::filesystem::is_empty(dir + "/blobs/sha256")) return;
        for (const auto& e : std::filesystem::directory_iterator(dir)) {
            std::string name = e.path().filename().string();
            if (name != "oci-layout" && name != "index.json" && name != ".ctk-lock" && name != "blobs") return;
        }
        for (const auto& e : std::filesystem::directory_iterator(dir + "/blobs"))
            if (e.path().filename() != "sha256") return;
        std::filesystem::remove(dir + "/blobs/sha256");
        std::filesystem::remove(dir + "/blobs");
        std::filesystem::remove(dir + "/index.json");
        std::filesystem::remove(dir + "/oci-layout");
        std::filesystem::remove(layout.lock_path());
        std::filesystem::remove(dir);
    } catch (...) {
        // Best effort: an empty layout left behind is still a valid one.
    }
}

} // namespace

std::vector<Json> pull(Session& session, std::string_view reference, const PullOptions& options) {
    Progress& progress = *session.progress;
    oci::Reference ref = session.settings.normalize(reference).with_default_tag();
    std::string ref_name = options.tag.empty() ? ref.str() : options.tag;
    std::string layout_dir = options.layout.empty() ? store::Paths::from_env().images() : options.layout;
    oci::Platform want = options.platform ? *options.platform : oci::Platform::host();

    // The manifest, from the first endpoint (a mirror, else the registry) that has it.
    std::vector<Endpoint> endpoints = session.settings.pull_endpoints(ref.domain);
    std::unique_ptr<Client> client;
    std::shared_ptr<Authenticator> auth;
    Document top;
    for (size_t i = 0; i < endpoints.size(); i++) {
        const Endpoint& ep = endpoints[i];
        auth = session.authenticator(ep, {"repository:" + ep.repository(ref.path) + ":pull"});
        client = session.client(ep, ref.path, auth);
        try {
            top = client->get_manifest(ref.manifest_ref());
            break;
        } catch (const Error& e) {
            bool fall_back = ep.mirror && i + 1 < endpoints.size() &&
                             (e.kind() == ErrorKind::remote || e.kind() == ErrorKind::not_found);
            if (!fall_back) throw;
            progress.event("", "retrying", 0, 0, std::string(e.what()) + "; trying the next source");
        }
    }

    // The layout exists (or is made) only once the registry answered with an image.
    bool made_layout = !std::filesystem::exists(layout_dir);
    oci::Layout layout = oci::Layout::create(layout_dir);
    ScopeGuard unmake([&] {
        if (made_layout) remove_if_empty(layout);
    });
    std::string layout_abs = absolute(layout_dir);
    // What interrupted pulls left and nobody resumed for an hour goes.
    layout.collect_partials(stale_partial_age);

    oci::Descriptor top_desc;
    top_desc.media_type = top.media_type;
    top_desc.digest = top.digest;
    top_desc.size = static_cast<int64_t>(top.bytes.size());

    std::vector<Image> images;
    std::optional<oci::Index> index;
    if (oci::is_index_type(top.media_type)) {
        index = oci::Index::parse(top.bytes, client->where() + ": index " + top.digest.str());
        std::vector<const oci::Descriptor*> picks;
        if (options.all_platforms) {
            for (const auto& d : index->manifests) {
                if (!oci::is_manifest_type(d.media_type)) continue;
                // Attestations and other artifacts are listed as unknown/unknown.
                if (d.platform && d.platform->os == "unknown") continue;
                picks.push_back(&d);
            }
            if (picks.empty())
                throw_not_found(client->where() + ": index " + top.digest.str() + " lists no images");
        } else {
            const oci::Descriptor* pick = index->select(want);
            if (!pick) {
                std::vector<std::string> have;
                for (const auto& d : index->manifests)
                    if (d.platform) have.push_back(d.platform->str());
                throw_not_found(client->where() + ": index " + quote(ref.manifest_ref()) +
                                ": no image for platform " + want.str() + " (it has " +
                                (have.empty() ? std::string("none") : join(have, ", ")) + ")");
            }
            picks.push_back(pick);
        }
        for (const oci::Descriptor* d : picks) {
            std::string bytes;
            if (layout.has_blob(d->digest)) {
                bytes = layout.read_blob(*d, max_manifest_size);
            } else {
                Document child = client->get_manifest(d->digest.str());
                if (!oci::is_manifest_type(child.media_type))
                    throw_invalid(client->where() + ": index " + top.digest.str() + ": entry " +
                                  d->digest.str() + " is a " + quote(child.media_type) +
                                  ", not an image manifest");
                verify_size(client->where() + ": manifest " + d->digest.str(), d->size, child.bytes.size());
                bytes = std::move(child.bytes);
            }
            oci::Descriptor md = *d;
            md.annotations.clear();
            images.push_back(fetch_image(*client, layout, md, std::move(bytes), d->platform));
        }
    } else {
        images.push_back(fetch_image(*client, layout, top_desc, top.bytes, std::nullopt));
        const oci::ImageConfig& c = images.back().config;
        if (options.platform && !c.os.empty() && !c.platform().satisfies(*options.platform))
            throw_not_found(client->where() + ": manifest " + quote(ref.manifest_ref()) +
                            ": image is for " + c.platform().str() + ", not " + options.platform->str());
    }

    // Layers: each distinct blob once, locked in digest order.
    std::map<Digest, oci::Descriptor> wanted;
    for (const auto& img : images)
        for (const auto& l : img.manifest.layers) wanted.emplace(l.digest, l);
    std::vector<Job> jobs;
    for (const auto& entry : wanted) {
        const Digest& digest = entry.first;
        const oci::Descriptor& d = entry.second; // not a structured binding: the lambda captures it
        std::string id = digest.str();
        auto writer = layout.resume_blob(digest, d.size, [&] {
            progress.event(id, "waiting", 0, static_cast<uint64_t>(d.size), "another pull holds it");
        });
        if (!writer) {
            progress.event(id, "exists", static_cast<uint64_t>(d.size), static_cast<uint64_t>(d.size));
            continue;
        }
        Job job{d, std::move(*writer)};
        job.fresh = job.writer.size() == 0;
        if (job.writer.size() == static_cast<uint64_t>(d.size)) {
            try {
                job.writer.verify(d.digest, d.size);
                job.done = true;
            } catch (const Error&) {
                job.writer.restart();
            }
        }
        if (!job.done && !job.fresh)
            progress.event(id, "resuming", job.writer.size(), static_cast<uint64_t>(d.size));
        jobs.push_back(std::move(job));
    }

    unsigned parallel = options.max_concurrent ? options.max_concurrent
                                               : session.settings.max_concurrent_downloads;
    size_t pending = std::count_if(jobs.begin(), jobs.end(), [](const Job& j) { return !j.done; });
    unsigned workers = static_cast<unsigned>(std::min<size_t>(std::max(parallel, 1u), pending));
    std::atomic<size_t> next{0};
    std::atomic<bool> cancel{false};
    std::mutex error_mutex;
    std::exception_ptr first_error;
    size_t failed_job = SIZE_MAX;
    const Endpoint endpoint = client->endpoint();
    auto work = [&](Client* own) {
        std::unique_ptr<Client> made;
        for (;;) {
            size_t i = next++;
            if (i >= jobs.size() || cancel) return;
            Job& job = jobs[i];
            if (job.done) continue;
            const oci::Descriptor& d = job.descriptor;
            std::string id = d.digest.str();
            uint64_t total = static_cast<uint64_t>(d.size);
            try {
                if (!own) {
                    made = session.client(endpoint, ref.path, auth);
                    own = made.get();
                }
                for (bool resumed = !job.fresh;; resumed = false) {
                    progress.event(id, "downloading", job.writer.size(), total);
                    // Starts writeback of each finished stretch while the rest
                    // arrives, so the fsync before the rename has little left to do.
                    uint64_t flushed = job.writer.size();
                    own->download_blob(d, job.writer,
                                       [&](uint64_t n) {
                                           progress.event(id, "downloading", n, total);
                                           if (n < flushed) flushed = 0; // started over
                                           if (n - flushed >= writeback_step) {
                                               ::sync_file_range(job.writer.fd(), static_cast<off_t>(flushed),
                                                                 static_cast<off_t>(n - flushed),
                                                                 SYNC_FILE_RANGE_WRITE);
                                               flushed = n;
                                           }
                                       },
                                       &cancel);
                    progress.event(id, "verifying", total, total);
                    try {
                        job.writer.verify(d.digest, d.size);
                        break;
                    } catch (const Error& e) {
                        // Bytes kept from an earlier run may be what is wrong
                        // (a torn write, a crash): the blob once more from zero.
                        if (!resumed || e.kind() != ErrorKind::invalid) throw e.wrap(own->where());
                        progress.event(id, "retrying", 0, total,
                                       std::string(e.what()) + " in the resumed download; starting it over");
                        job.writer.restart();
                    }
                }
                progress.event(id, "complete", total, total);
            } catch (const Error& e) {
                std::lock_guard lock(error_mutex);
                if (!first_error) {
                    // A full or failing disk: one line naming the blob and the cause.
                    first_error = write_failure(e) && own ? std::make_exception_ptr(e.wrap(own->where() + ": blob " + id))
                                                   : std::current_exception();
                    failed_job = i;
                }
                cancel = true;
            } catch (...) {
                std::lock_guard lock(error_mutex);
                if (!first_error) {
                    first_error = std::current_exception();
                    failed_job = i;
                }
                cancel = true;
            }
        }
    };
    std::vector<std::thread> threads;
    for (unsigned t = 1; t < workers; t++) threads.emplace_back(work, nullptr);
    if (workers > 0) work(client.get());
    for (auto& t : threads) t.join();

    if (first_error) {
        try {
            std::rethrow_exception(first_error);
        } catch (const Error& e) {
            if (write_failure(e)) {
                // Partial files must not hold the space that ran out: every
                // later pull would fail on it too.
                for (auto& job : jobs) job.writer.discard();
            } else if (e.kind() == ErrorKind::invalid) {
                // The image is bad: keep nothing of it, not even partial files.
                for (size_t i = 0; i < jobs.size(); i++)
                    if (i == failed_job || jobs[i].fresh) jobs[i].writer.discard();
            }
        } catch (...) {
        }
        progress.finish();
        std::rethrow_exception(first_error);
    }

    // Everything verified: into blobs/, leaves first, the tag last.
    try {
        for (auto& job : jobs) job.writer.commit(job.descriptor.digest, job.descriptor.size);
    } catch (const Error& e) {
        if (write_failure(e))
            for (auto& job : jobs) job.writer.discard();
        throw;
    }
    jobs.clear(); // releases the locks
    for (const auto& img : images) {
        layout.write_blob(img.config_bytes, img.manifest.config.media_type);
        layout.write_blob(img.manifest_bytes, img.manifest_descriptor.media_type);
    }
    oci::Descriptor tagged;
    if (index && options.all_platforms) {
        layout.write_blob(top.bytes, top.media_type);
        tagged = top_desc;
    } else {
        tagged = images.front().manifest_descriptor;
        tagged.annotations.clear();
        tagged.platform = images.front().platform;
    }
    layout.tag(ref_name, tagged);
    unmake.dismiss();

    std::vector<Json> out;
    for (const auto& img : images) {
        Json j = Json::object();
        j["reference"] = ref.str();
        j["ref_name"] = ref_name;
        j["layout"] = layout_abs;
        j["digest"] = img.manifest_descriptor.digest.str();
        if (index) j["index_digest"] = top.digest.str();
        j["platform"] = img.platform_text();
        oci::Descriptor md = img.manifest_descriptor;
        md.platform.reset();
        md.annotations.clear();
        j["manifest"] = descriptor_json(md);
        j["config"] = descriptor_json(img.manifest.config);
        j["layers"] = img.manifest.layers;
        out.push_back(std::move(j));
    }
    progress.finish();
    progress.note("Digest: " + top.digest.str());
    progress.note("Status: Downloaded " + ref.str());
    return out;
}

} // namespace ctk::registry
