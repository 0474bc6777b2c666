// POST /build (the legacy builder's protocol) and POST /commit, over the same
// lib/build and lib/engine code as `ctl build` and `ctl commit`.
//
// The build context arrives as a tar body (plain or compressed): it is
// unpacked by `img-pack extract` into a fresh directory under the store's
// tmp/, every entry resolved inside that directory, so an entry such as
// "../../etc/x" or a symlink pointing out cannot write outside it. The
// Dockerfile named by ?dockerfile= is read from there the same way
// (openat2 RESOLVE_IN_ROOT). Progress goes back as Docker's JSON messages
// ({"stream"}, {"aux":{"ID"}}, {"error","errorDetail"}), one per chunk.
#include <fcntl.h>
#include <unistd.h>

#include "api/daemon.hpp"
#include "api/util.hpp"
#include "build/builder.hpp"
#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/fs.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "engine/commit.hpp"
#include "engine/image_store.hpp"
#include "engine/tools.hpp"

namespace ctk::api {

namespace {

// ?buildargs= and ?labels= are JSON objects of strings; a null value in
// buildargs means "take it from the client's environment", which the CLI
// already did, so it is left out.
std::map<std::string, std::string> string_map(const Query& q, const std::string& key) {
    std::map<std::string, std::string> out;
    std::string raw = q.value(key);
    if (raw.empty()) return out;
    Json j;
    try {
        j = parse_json_text(raw, key);
    } catch (const std::exception& e) {
        throw HttpError(400, "invalid " + key + ": " + std::string(e.what()));
    }
    if (j.is_null()) return out;
    if (!j.is_object()) throw HttpError(400, "invalid " + key + ": not a JSON object");
    for (const auto& [k, v] : j.items()) {
        if (v.is_string()) out[k] = v.get<std::string>();
        else if (!v.is_null()) throw HttpError(400, "invalid " + key + ": value of " + k + " is not a string");
    }
    return out;
}

// Unpacks the request body (a tar stream) into `dir` through img-pack extract:
// the body is read on this thread and handed to it through a pipe.
void unpack_context(Request& req, const std::string& dir) {
    engine::tools::PackExtract x;
    x.root = dir;
    x.dir = "/";
    x.same_owner = false; // context files are the builder's to own; COPY sets owners itself
    PipedProcess extract(engine::tools::pack_extract(x), PipedProcess::End::stdin_of);
    std::string body_failure;
    try {
        req.body_stream([&](std::string_view data) { write_all(extract.fd(), data, "build context"); }, 1ull << 40);
    } catch (const HttpError&) {
        extract.wait();
        throw;
    } catch (const std::exception& ex) {
        body_failure = ex.what();
    }
    ProcessResult p = extract.wait();
    if (!p.ok()) throw HttpError(400, "build context: " + tool_message(p.err, "img-pack extract failed"));
    if (!body_failure.empty()) throw HttpError(400, "build context: " + body_failure);
}

std::string read_dockerfile(const std::string& dir, const std::string& name) {
    UniqueFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root) throw_errno("open", dir);
    UniqueFd f = try_open_in_root(root.get(), name, O_RDONLY | O_CLOEXEC);
    if (!f) throw Error("Cannot locate specified Dockerfile: " + name, ErrorKind::not_found);
    return read_fd(f.get(), 16u << 20);
}

void build(Daemon& d, Request& req, Response& res) {
    const Query& q = req.query();
    if (!q.value("remote").empty())
        throw HttpError(501, "building from a remote context (" + q.value("remote") + ") is not implemented by ctld");
    build::BuildOptions o;
    o.tags = q.all("t");
    for (const auto& t : o.tags) {
        try {
            engine::normalize_reference(t);
        } catch (const Error& e) {
            throw HttpError(400, "invalid tag " + t + ": " + e.what());
        }
    }
    o.build_args = string_map(q, "buildargs");
    o.labels = string_map(q, "labels");
    o.target = q.value("target");
    o.no_cache = q.flag("nocache");
    bool quiet = q.flag("q");
    std::string dockerfile = q.value("dockerfile", "Dockerfile");
    if (dockerfile.empty()) dockerfile = "Dockerfile";

    engine::Engine e = d.engine();
    make_dirs(e.paths().root + "/tmp");
    TempDir context("build-context", e.paths().root + "/tmp");
    unpack_context(req, context.path());
    o.context = context.path();
    o.dockerfile_text = read_dockerfile(context.path(), dockerfile);
    if (trim(o.dockerfile_text).empty()) throw HttpError(400, "the Dockerfile (" + dockerfile + ") cannot be empty");

    res.begin_stream(200, "application/json");
    auto send = [&](const Json& j) { res.chunk(dump_compact(j) + "\n"); };
    build::BuildSink sink;
    if (!quiet) sink.stream = [&](const std::string& s) { send(Json{{"stream", s}}); };
    sink.aux = [&](const Json& a) { send(Json{{"aux", a}}); };
    // A client that went away stops the build before its next step.
    sink.before_step = [&] {
        if (res.client_gone()) throw Error("the client closed the connection");
    };
    build::BuildResult r;
    try {
        r = build::build_image(e, o, sink);
    } catch (const std::exception& ex) {
        send(Json{{"errorDetail", {{"message", ex.what()}}}, {"error", ex.what()}});
        return;
    }
    if (!r.ok) {
        send(Json{{"errorDetail", {{"code", r.code}, {"message", r.message}}}, {"error", r.message}});
        return;
    }
    if (quiet) send(Json{{"stream", r.id + "\n"}});
    for (const auto& t : o.tags) {
        std::string name = engine::familiar_reference(engine::normalize_reference(t));
        d.events().publish("image", "tag", r.id, {{"name", name}});
    }
}

void commit(Daemon& d, Request& req, Response& res) {
    const Query& q = req.query();
    // The body may hold a container config (the API allows one; the CLI sends
    // none): the changes from ?changes= are what ctk applies.
    req.body_stream([](std::string_view) {}, d.options().json_body_limit);
    engine::CommitOptions o;
    o.container = q.value("container");
    if (o.container.empty()) throw HttpError(400, "container is required");
    std::string repo = q.value("repo"), tag = q.value("tag");
    if (!repo.empty()) o.reference = tag.empty() ? repo : repo + ":" + tag;
    else if (!tag.empty()) throw HttpError(400, "tag " + tag + " given without a repository");
    if (!o.reference.empty()) {
        try {
            o.reference = engine::normalize_reference(o.reference);
        } catch (const Error& e) {
            throw HttpError(400, e.what());
        }
    }
    o.author = q.value("author");
    o.message = q.value("comment");
    o.changes = q.all("changes");
    engine::Engine e = d.engine();
    engine::ContainerRecord rec = e.containers().lookup(o.container);
    std::string id = engine::commit_container(e, o);
    res.json(201, Json{{"Id", id}});
    auto attrs = d.container_attributes(rec);
    attrs["comment"] = o.message;
    attrs["author"] = o.author;
    d.events().publish("container", "commit", rec.id, attrs);
    if (!o.reference.empty())
        d.events().publish("image", "tag", id, {{"name", engine::familiar_reference(o.reference)}});
}

} // namespace

void add_build_routes(Router& r, Daemon& d) {
    r.add("POST", "/build", [&d](Request& req, Response& res) { build(d, req, res); });
    r.add("POST", "/commit", [&d](Request& req, Response& res) { commit(d, req, res); });
}

} // namespace ctk::api
