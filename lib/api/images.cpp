// /images/…: the store's OCI layout seen as Docker's images; pull and push
// run reg-fetch and turn its JSON progress into Docker's progress messages.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>
#include <thread>

#include "api/daemon.hpp"
#include "api/spawn.hpp"
#include "api/util.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "engine/commit.hpp"
#include "engine/disk_usage.hpp"
#include "engine/image_list.hpp"
#include "engine/image_verbs.hpp"
#include "engine/timefmt.hpp"
#include "engine/tools.hpp"
#include "oci/reference.hpp"

namespace ctk::api {

namespace {

// "127.0.0.1:5000/tiny" + "latest" -> "127.0.0.1:5000/tiny:latest"; a digest tag with '@'.
std::string join_ref(const std::string& image, const std::string& tag) {
    if (tag.empty()) return image;
    return image + (tag.rfind("sha256:", 0) == 0 ? "@" : ":") + tag;
}

std::string short_digest(const std::string& d) {
    std::string hex = d.rfind("sha256:", 0) == 0 ? d.substr(7) : d;
    return hex.substr(0, 12);
}

// One reg-fetch progress line as Docker's message.
Json docker_progress(const Json& j, bool push) {
    std::string id = short_digest(json_str(j, "id"));
    std::string st = json_str(j, "status");
    int64_t cur = j.value("current", 0), total = j.value("total", 0);
    Json m = {{"id", id}, {"progressDetail", Json::object()}};
    if (st == "waiting") m["status"] = push ? "Preparing" : "Pulling fs layer";
    else if (st == "exists") m["status"] = push ? "Layer already exists" : "Already exists";
    else if (st == "downloading" || st == "resuming" || st == "uploading") {
        m["status"] = push ? "Pushing" : "Downloading";
        m["progressDetail"] = {{"current", cur}, {"total", total}};
        m["progress"] = progress_bar(cur, total);
    } else if (st == "verifying") m["status"] = "Verifying Checksum";
    else if (st == "complete") m["status"] = "Download complete";
    else if (st == "pushed") m["status"] = "Pushed";
    else if (st == "mounted") m["status"] = "Mounted from " + json_str(j, "from", "another repository");
    else if (st == "retrying") m["status"] = "Retrying";
    else m["status"] = st;
    return m;
}

Json error_line(const std::string& message) {
    return Json{{"errorDetail", {{"message", message}}}, {"error", message}};
}

// The repository path Docker names in "Pulling from …" (no registry host).
std::string repository_path(const std::string& full) {
    try {
        oci::Reference r = oci::Reference::parse_normalized(full);
        std::string fam = r.familiar_name();
        auto slash = fam.find('/');
        if (slash != std::string::npos && (fam.find('.') < slash || fam.find(':') < slash || fam.substr(0, slash) == "localhost"))
            return fam.substr(slash + 1);
        return fam;
    } catch (const std::exception&) {
        return full;
    }
}

void pull(Daemon& d, Request& req, Response& res, const std::string& ref) {
    std::string full;
    try {
        full = engine::normalize_reference(ref);
    } catch (const Error& e) {
        throw HttpError(400, e.what());
    }
    engine::Engine e = d.engine();
    std::string before;
    if (auto img = e.images().find(full)) before = img->resolved.manifest_descriptor.digest.str();
    std::string tag = full.find('@') != std::string::npos ? full.substr(full.find('@') + 1) : full.substr(full.rfind(':') + 1);
    auto open_stream = [&] {
        if (res.started()) return;
        res.begin_stream(200, "application/json");
        res.chunk(dump_compact(Json{{"status", "Pulling from " + repository_path(full)}, {"id", tag}}) + "\n");
    };
    std::set<std::string> layers;
    std::string out, last_err;
    int st = run_streaming(engine::tools::pull_json_progress(full),
                           [&](const std::string& line) {
                               Json j;
                               try {
                                   j = parse_json_text(line, "reg-fetch output");
                               } catch (const std::exception&) {
                                   return; // a human message: only the last one matters (errors)
                               }
                               if (!j.is_object() || json_str(j, "id").empty() || json_str(j, "status") == "note") return;
                               open_stream();
                               std::string id = short_digest(json_str(j, "id"));
                               if (layers.insert(id).second && json_str(j, "status") != "waiting" && json_str(j, "status") != "exists")
                                   res.chunk(dump_compact(Json{{"status", "Pulling fs layer"}, {"progressDetail", Json::object()}, {"id", id}}) + "\n");
                               res.chunk(dump_compact(docker_progress(j, false)) + "\n");
                           },
                           out, last_err);
    (void)req;
    if (st != 0) {
        std::string msg = tool_message(last_err, "reg-fetch exited with status " + std::to_string(st));
        if (!res.started()) throw Error(msg, error_kind_of_exit(st));
        res.chunk(dump_compact(error_line(msg)) + "\n");
        return;
    }
    open_stream();
    std::string digest;
    try {
        digest = json_str(parse_json_text(out.substr(0, out.find('\n')), "reg-fetch output"), "digest");
    } catch (const std::exception&) {
    }
    for (const auto& l : layers) res.chunk(dump_compact(Json{{"status", "Pull complete"}, {"progressDetail", Json::object()}, {"id", l}}) + "\n");
    res.chunk(dump_compact(Json{{"status", "Digest: " + digest}}) + "\n");
    bool fresh = before != digest;
    res.chunk(dump_compact(Json{{"status", std::string("Status: ") + (fresh ? "Downloaded newer image for " : "Image is up to date for ") +
                                               engine::familiar_reference(full)}}) + "\n");
    d.events().publish("image", "pull", engine::familiar_reference(full), {{"name", engine::familiar_reference(full)}});
}

// The request body (a tarball) in a file of the store's tmp/, where img-pack
// reads it; removed with this.
struct BodyFile {
    std::string path;
    BodyFile(Request& req, const engine::Engine& e, const std::string& what) {
        make_dirs(e.paths().root + "/tmp");
        path = e.paths().root + "/tmp/" + what + "-" + random_hex(8) + ".tar";
        UniqueFd f(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
        if (!f) throw_errno("create", path);
        ScopeGuard drop([&] { ::unlink(path.c_str()); });
        req.body_stream([&](std::string_view data) { write_all(f.get(), data, path); }, 1ull << 40);
        drop.dismiss();
    }
    ~BodyFile() { ::unlink(path.c_str()); }
    BodyFile(const BodyFile&) = delete;
    BodyFile& operator=(const BodyFile&) = delete;
};

void import_image(Daemon& d, Request& req, Response& res) {
    std::string src = req.query().value("fromSrc");
    if (src != "-") throw HttpError(501, "importing from a URL is not implemented by ctld; send the tarball (fromSrc=-)");
    engine::Engine e = d.engine();
    BodyFile body(req, e, "import");
    engine::ImportRequest o;
    o.source = body.path;
    std::string repo = req.query().value("repo"), tag = req.query().value("tag");
    if (!repo.empty()) o.reference = join_ref(repo, tag);
    o.message = req.query().value("message");
    o.changes = req.query().all("changes");
    std::string id = engine::import_image(e, o);
    res.begin_stream(200, "application/json");
    res.chunk(dump_compact(Json{{"status", id}}) + "\n");
    d.events().publish("image", "import", id, {});
}

} // namespace

void add_image_routes(Router& r, Daemon& d) {
    r.add("GET", "/images/json", [&d](Request& req, Response& res) {
        engine::Engine e = d.engine();
        engine::FilterMap f;
        for (const auto& [k, v] : parse_filters_json(req.query().value("filters"))) f[k] = v;
        Json out = Json::array();
        try {
            for (auto& j : engine::list_images(e.images(), f)) out.push_back(std::move(j));
        } catch (const Error& x) {
            if (x.kind() == ErrorKind::invalid) throw HttpError(400, x.what());
            throw;
        }
        res.json(200, out);
    });

    r.add("GET", "/images/{name*}/json", [&d](Request& req, Response& res) {
        engine::Engine e = d.engine();
        res.json(200, e.images().inspect_json(e.images().get(req.params["name"])));
    });

    r.add("GET", "/images/{name*}/history", [&d](Request& req, Response& res) {
        engine::Engine e = d.engine();
        res.json(200, engine::image_history(e.images(), req.params["name"]));
    });

    r.add("POST", "/images/{name*}/tag", [&d](Request& req, Response& res) {
        std::string repo = req.query().value("repo"), tag = req.query().value("tag");
        if (repo.empty()) throw HttpError(400, "repository name must have at least one component");
        std::string target = join_ref(repo, tag.empty() ? "latest" : tag);
        try {
            engine::normalize_reference(target);
        } catch (const Error& e) {
            throw HttpError(400, e.what());
        }
        engine::Engine e = d.engine();
        engine::tag_image(e, req.params["name"], target);
        auto img = e.images().get(target);
        d.events().publish("image", "tag", img.id, {{"name", engine::familiar_reference(engine::normalize_reference(target))}});
        res.no_content(201);
    });

    r.add("DELETE", "/images/{name*}", [&d](Request& req, Response& res) {
        engine::Engine e = d.engine();
        std::string name = req.params["name"];
        Json out = engine::remove_image(e, name, req.query().flag("force"));
        for (const auto& x : out) {
            if (x.contains("Untagged")) d.events().publish("image", "untag", x["Untagged"].get<std::string>(), {{"name", name}});
            if (x.contains("Deleted")) d.events().publish("image", "delete", x["Deleted"].get<std::string>(), {{"name", name}});
        }
        res.json(200, out);
    });

    r.add("POST", "/images/create", [&d](Request& req, Response& res) {
        if (req.query().has("fromSrc")) return import_image(d, req, res);
        std::string image = req.query().value("fromImage");
        if (image.empty()) throw HttpError(400, "fromImage or fromSrc must be given");
        std::string tag = req.query().value("tag");
        // "name:tag" in fromImage with no tag parameter is taken as it is
        pull(d, req, res, join_ref(image, tag));
    });

    r.add("POST", "/images/{name*}/push", [&d](Request& req, Response& res) {
        engine::Engine e = d.engine();
        std::string ref = join_ref(req.params["name"], req.query().value("tag"));
        engine::LocalImage img = e.images().get(ref);
        std::string full = engine::normalize_reference(ref);
        std::string ref_name = e.images().unpack_ref(img, ref);
        res.begin_stream(200, "application/json");
        std::string repo = full.substr(0, full.find('@') != std::string::npos ? full.find('@') : full.rfind(':'));
        res.chunk(dump_compact(Json{{"status", "The push refers to repository [" + repo + "]"}}) + "\n");
        std::string out, last_err;
        int st = run_streaming(engine::tools::push_json_progress(e.images().layout_path(), ref_name, full),
                               [&](const std::string& line) {
                                   try {
                                       Json j = parse_json_text(line, "reg-fetch output");
                                       if (j.is_object() && !json_str(j, "id").empty() && json_str(j, "status") != "note")
                                           res.chunk(dump_compact(docker_progress(j, true)) + "\n");
                                   } catch (const nlohmann::json::exception&) {
                                   }
                               },
                               out, last_err);
        if (st != 0) {
            res.chunk(dump_compact(error_line(tool_message(last_err, "push failed"))) + "\n");
            return;
        }
        Json result;
        try {
            result = parse_json_text(out, "reg-fetch output");
        } catch (const std::exception&) {
            result = Json::object();
        }
        std::string tag = full.find('@') != std::string::npos ? "" : full.substr(full.rfind(':') + 1);
        std::string digest = json_str(result, "digest");
        int64_t size = result.value("size", 0);
        res.chunk(dump_compact(Json{{"status", tag + ": digest: " + digest + " size: " + std::to_string(size)}}) + "\n");
        res.chunk(dump_compact(Json{{"progressDetail", Json::object()},
                                    {"aux", {{"Tag", tag}, {"Digest", digest}, {"Size", size}}}}) + "\n");
        d.events().publish("image", "push", engine::familiar_reference(full), {{"name", engine::familiar_reference(full)}});
    });

    // load and save run img-pack on a file of the store's tmp/ (the body in, the archive out)
    r.add("POST", "/images/load", [&d](Request& req, Response& res) {
        engine::Engine e = d.engine();
        BodyFile body(req, e, "load");
        Json loaded = engine::load_image_archive(e, body.path);
        res.begin_stream(200, "application/json");
        for (const auto& l : loaded) {
            std::string id = l.value("id", "");
            Json tags = l.value("tags", Json::array());
            if (tags.empty()) res.chunk(dump_compact(Json{{"stream", "Loaded image ID: " + id + "\n"}}) + "\n");
            for (const auto& t : tags) res.chunk(dump_compact(Json{{"stream", "Loaded image: " + t.get<std::string>() + "\n"}}) + "\n");
            d.events().publish("image", "load", id, {});
        }
    });

    r.add("GET", "/images/get", [&d](Request& req, Response& res) {
        auto names = req.query().all("names");
        if (names.empty()) throw HttpError(400, "no image names given");
        engine::Engine e = d.engine();
        for (const auto& n : names) e.images().get(n); // 404 before the stream starts
        make_dirs(e.paths().root + "/tmp");
        std::string tmp = e.paths().root + "/tmp/save-" + random_hex(8) + ".tar";
        ScopeGuard drop([&] { ::unlink(tmp.c_str()); });
        engine::save_image_archive(e, names, tmp);
        UniqueFd in = open_path(tmp, O_RDONLY | O_CLOEXEC);
        res.begin_stream(200, "application/x-tar");
        char buf[65536];
        for (;;) {
            ssize_t n = ::read(in.get(), buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw_errno("read", tmp);
            if (n == 0) break;
            res.chunk(std::string_view(buf, static_cast<size_t>(n)));
        }
    });

    r.add("POST", "/images/prune", [&d](Request& req, Response& res) {
        auto f = parse_filters_json(req.query().value("filters"));
        bool dangling_only = !(f.count("dangling") && !f["dangling"].empty() &&
                               (f["dangling"][0] == "false" || f["dangling"][0] == "0"));
        engine::Engine e = d.engine();
        res.json(200, engine::prune_images(e, !dangling_only));
    });
}

} // namespace ctk::api
