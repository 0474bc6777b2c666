// /containers/…: create, list, inspect, start, stop, kill, wait, remove,
// attach, logs, rename, top, stats, resize, pause, archive, prune.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <regex>
#include <thread>

#include "api/daemon.hpp"
#include "api/shim.hpp"
#include "api/spawn.hpp"
#include "api/stats.hpp"
#include "api/streams.hpp"
#include "api/util.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/parallel.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "engine/container_model.hpp"
#include "engine/container_archive.hpp"
#include "engine/disk_usage.hpp"
#include "engine/container_list.hpp"
#include "engine/names.hpp"
#include "engine/timefmt.hpp"
#include "engine/tools.hpp"

namespace ctk::api {

namespace {
// The JSON type's name as Go's encoding/json says it in "cannot unmarshal X".
std::string go_type_name(const Json& j) {
    if (j.is_string()) return "string";
    if (j.is_number()) return "number";
    if (j.is_boolean()) return "bool";
    if (j.is_array()) return "array";
    return "object";
}
} // namespace

using engine::ContainerRecord;

namespace {

std::string log_path(const engine::Engine& e, const ContainerRecord& r) {
    std::string p = json_str(r.doc, "LogPath");
    return p.empty() ? e.paths().container(r.id) + "/" + r.id + "-json.log" : p;
}

bool config_flag(const ContainerRecord& r, const char* key) {
    const Json& c = r.doc.contains("Config") ? r.doc["Config"] : Json::object();
    return c.is_object() && c.contains(key) && c[key].is_boolean() && c[key].get<bool>();
}

std::string bundle_of(const engine::Engine& e, const ContainerRecord& r) { return engine::container_bundle(e, r); }

// ---------------------------------------------------------------- create

void create(Daemon& d, Request& req, Response& res) {
    std::string name = req.query().value("name");
    if (!name.empty()) {
        try {
            engine::validate_container_name(name);
        } catch (const Error& e) {
            throw HttpError(400, e.what());
        }
    }
    Json body = json_body(req, d.options().json_body_limit);
    if (!body.is_object()) throw HttpError(400, "json: cannot unmarshal " + go_type_name(body) + " into Go value of type container.Config");
    for (const char* key : {"HostConfig", "NetworkingConfig"})
        if (body.contains(key) && !body[key].is_object() && !body[key].is_null())
            throw HttpError(400, "json: cannot unmarshal " + go_type_name(body[key]) + " into Go struct field " +
                                     key + " of type container." + key);
    engine::CreateRequest cr;
    cr.name = name;
    cr.host_config = json_get(body, "HostConfig", Json::object());
    cr.networking = json_get(body, "NetworkingConfig", Json::object());
    body.erase("HostConfig");
    body.erase("NetworkingConfig");
    cr.config = body;
    std::string image = json_str(body, "Image");
    if (image.empty()) throw HttpError(400, "Config cannot be empty in order to create a container");
    engine::Engine e = d.engine();
    std::optional<engine::LocalImage> found;
    try {
        found = e.images().find(image);
    } catch (const Error& ex) {
        throw HttpError(400, ex.what());
    }
    if (!found) {
        std::string shown = image;
        try {
            shown = engine::familiar_reference(engine::normalize_reference(image));
        } catch (const Error&) {
        }
        throw HttpError(404, "No such image: " + shown);
    }
    engine::NetworkMode mode = engine::NetworkMode::parse(json_str(cr.host_config, "NetworkMode"));
    // a user network must exist (Docker: 404 "network … not found")
    if (mode.is_user() && ::access(e.paths().network(mode.network_name()).c_str(), F_OK) != 0)
        throw HttpError(404, "network " + mode.str() + " not found");
    if (json_get(cr.host_config, "Privileged", false) == true)
        throw HttpError(400, "privileged containers are not supported by ctk");
    ContainerRecord r;
    try {
        r = e.create(cr);
    } catch (const Error& ex) {
        // Docker: 404 only for a missing image, container, network or volume;
        // a missing bind source or a bad setting is the request's fault (400)
        if (ex.kind() == ErrorKind::not_found && std::string_view(ex.what()).find("No such container") == std::string_view::npos)
            throw HttpError(400, ex.what());
        throw;
    }
    d.container_event(r, "create");
    res.json(201, Json{{"Id", r.id}, {"Warnings", Json::array()}});
}

// ---------------------------------------------------------------- list

void list(Daemon& d, Request& req, Response& res) {
    engine::ContainerListQuery q;
    q.filters = parse_filters_json(req.query().value("filters"));
    q.all = req.query().flag("all");
    q.limit = req.query().integer("limit").value_or(-1);
    q.size = req.query().flag("size");
    engine::Engine e = d.engine();
    std::vector<Json> entries = engine::list_containers(e, q);
    // each entry serialized on its own, on every CPU (a thousand make most of the answer's cost)
    std::vector<std::string> texts(entries.size());
    for_each_index_in_parallel(entries.size(), [&](size_t i) {
        texts[i] = entries[i].dump(-1, ' ', false, Json::error_handler_t::replace);
    });
    res.send(200, "application/json", "[" + join(texts, ",") + "]\n");
}

// ---------------------------------------------------------------- wait

void wait(Daemon& d, Request& req, Response& res) {
    std::string cond = req.query().value("condition", "not-running");
    if (cond.empty()) cond = "not-running";
    if (cond != "not-running" && cond != "next-exit" && cond != "removed")
        throw HttpError(400, "invalid condition: " + cond);
    engine::Engine e = d.engine();
    ContainerRecord r = e.containers().lookup(req.params["id"]);
    auto wake = std::make_shared<Wakeup>();
    auto listening = d.hub().listen(r.id, wake);
    ContainerSignals s0 = d.hub().get(r.id);
    engine::ContainerState st = e.state(r);
    d.watch_if_running(r.id, st);
    res.begin_stream(200, "application/json");
    int code = st.exit_code;
    auto finish = [&](int c) { res.chunk(dump_compact(Json{{"Error", nullptr}, {"StatusCode", c}}) + "\n"); };
    for (;;) {
        ContainerSignals s = d.hub().get(r.id);
        if (s.exits > s0.exits) code = s.exit_code;
        if (cond == "next-exit" && s.exits > s0.exits) return finish(code);
        if (cond == "not-running") {
            if (s.exits > s0.exits) return finish(code);
            if (st.status != "running" && st.status != "paused" && s.starts == s0.starts) return finish(code);
        }
        if (cond == "removed" && s.removed) return finish(code);
        pollfd p[2] = {{wake->fd(), POLLIN, 0}, {res.transport().fd(), POLLRDHUP, 0}};
        int n = ::poll(p, 2, 2000);
        if (n < 0 && errno != EINTR) return;
        if (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR)) return; // docker run -d drops the wait
        wake->clear();
        if (n == 0) {
            // a change ctld did not make itself (ctl start, ctl rm)
            auto rec = e.containers().try_load(r.id);
            if (!rec) {
                if (cond == "removed" || cond == "not-running" || cond == "next-exit") return finish(code);
            }
            d.watch_if_running(r.id);
            if (cond == "not-running" && s.starts == s0.starts) {
                st = e.state(*rec);
                if (st.status != "running" && st.status != "paused") return finish(st.exit_code);
            }
        }
    }
}

// ---------------------------------------------------------------- attach

struct AttachOptions {
    bool in = false, out = false, err = false, logs = false, stream = true;
};

// Streams a container's output (and carries its stdin) on a hijacked connection.
void attach(Daemon& d, Request& req, Response& res) {
    engine::Engine e = d.engine();
    ContainerRecord r = e.containers().lookup(req.params["id"]);
    AttachOptions o;
    o.in = req.query().flag("stdin");
    o.out = req.query().flag("stdout");
    o.err = req.query().flag("stderr");
    o.logs = req.query().flag("logs");
    o.stream = req.query().flag("stream");
    engine::ContainerState st = e.state(r);
    if (st.paused) throw HttpError(409, "Container " + r.id + " is paused, unpause the container before attach");
    bool tty = config_flag(r, "Tty");
    bool open_stdin = config_flag(r, "OpenStdin");
    bool once = config_flag(r, "StdinOnce");
    LogTail tail(log_path(e, r), o.logs);
    auto wake = std::make_shared<Wakeup>();
    auto listening = d.hub().listen(r.id, wake);
    ContainerSignals s0 = d.hub().get(r.id);
    bool running = st.status == "running";
    if (running) d.watch_if_running(r.id, st);
    ShimSpec shim = shim_paths(d.paths().run, r.id);
    Transport& t = res.hijack(StdHeaders::none);
    d.container_event(r, "attach");

    auto send = [&](const std::vector<LogEntry>& entries) {
        std::string out;
        for (const auto& en : entries) {
            bool is_err = en.stream == "stderr";
            if (is_err ? !o.err : !o.out) continue;
            if (tty) out += en.log;
            else out += mux_frame(is_err ? 2 : 1, en.log);
        }
        if (!out.empty()) t.write_all(out);
    };
    send(tail.read());
    if (!o.stream) return;

    UniqueFd to_shim;
    std::string stdin_buf;
    bool stdin_eof = false;
    bool want_stdin = o.in && (open_stdin || tty);
    uint64_t starts_seen = s0.starts;
    auto connect_stdin = [&] {
        if (to_shim || !want_stdin) return;
        try {
            to_shim = shim_stdin(shim.control, once && !tty);
            if (!stdin_buf.empty()) write_all(to_shim.get(), stdin_buf, "stdin");
            stdin_buf.clear();
            if (stdin_eof) to_shim.reset();
        } catch (const std::exception&) {
            to_shim.reset();
        }
    };
    if (running) connect_stdin();
    for (;;) {
        ContainerSignals s = d.hub().get(r.id);
        if (s.starts > starts_seen) {
            starts_seen = s.starts;
            running = true;
            connect_stdin();
        }
        if (s.exits > s0.exits || s.removed) {
            // Output is complete once the runtime recorded the exit (the
            // monitor flushes the log first); a TTY's keeper may still be
            // copying the pty's last bytes: wait for it to let go.
            if (tty)
                for (int i = 0; i < 100 && ::access(shim.control.c_str(), F_OK) == 0; i++)
                    std::this_thread::sleep_for(std::chrono::milliseconds(20));
            send(tail.read());
            break;
        }
        pollfd p[3];
        int n = 0;
        p[n++] = {wake->fd(), POLLIN, 0};
        p[n++] = {tail.watch_fd(), POLLIN, 0};
        int sock = n;
        p[n++] = {t.fd(), static_cast<short>(stdin_eof ? 0 : (POLLIN | POLLRDHUP)), 0};
        int rr = t.buffered() ? 1 : ::poll(p, static_cast<nfds_t>(n), 1000);
        if (rr < 0 && errno != EINTR) break;
        if (rr == 0 && !running) {
            // started by someone else (ctl start)?
            engine::RuntimeState rs = e.runtime_state(r.id);
            if (rs.status == "running") {
                running = true;
                d.watch_if_running(r.id, rs);
                connect_stdin();
            }
        }
        if (p[0].revents) wake->clear();
        if (p[1].revents) send(tail.read());
        if (t.buffered() || (p[sock].revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR))) {
            if (stdin_eof && (p[sock].revents & (POLLHUP | POLLERR))) break; // gone entirely
            if (!stdin_eof) {
                char buf[65536];
                size_t got = 0;
                try {
                    got = t.read_some(buf, sizeof buf);
                } catch (const std::exception&) {
                    break;
                }
                if (got == 0) {
                    // CloseWrite: the end of stdin, not of the attach
                    stdin_eof = true;
                    to_shim.reset();
                } else if (want_stdin) {
                    std::string_view data(buf, got);
                    if (to_shim) {
                        try {
                            write_all(to_shim.get(), data, "stdin");
                        } catch (const std::exception&) {
                            to_shim.reset();
                        }
                    } else if (stdin_buf.size() < (16u << 20)) {
                        stdin_buf.append(data);
                    }
                }
            }
        }
    }
    try {
        t.close_write();
    } catch (const std::exception&) {
    }
}

// ---------------------------------------------------------------- logs

void logs(Daemon& d, Request& req, Response& res) {
    engine::Engine e = d.engine();
    ContainerRecord r = e.containers().lookup(req.params["id"]);
    bool out = req.query().flag("stdout"), err = req.query().flag("stderr");
    if (!out && !err) throw HttpError(400, "Bad parameters: you must choose at least one stream");
    bool follow = req.query().flag("follow"), ts = req.query().flag("timestamps");
    std::string tail_arg = req.query().value("tail", "all");
    int64_t now = engine::now_ns();
    std::optional<int64_t> since, until;
    auto parse_t = [&](const std::string& v) -> std::optional<int64_t> {
        if (v.empty() || v == "0") return std::nullopt;
        auto dot = v.find('.');
        if (auto n = parse_uint(v.substr(0, dot))) {
            int64_t ns = static_cast<int64_t>(*n) * 1000000000;
            if (dot != std::string::npos) {
                std::string frac = v.substr(dot + 1);
                frac.resize(9, '0');
                if (auto f = parse_uint(frac)) ns += static_cast<int64_t>(*f);
            }
            return ns;
        }
        return engine::parse_time_or_duration(v, now);
    };
    since = parse_t(req.query().value("since"));
    until = parse_t(req.query().value("until"));
    bool tty = config_flag(r, "Tty");
    engine::ContainerState st = e.state(r);
    auto wake = std::make_shared<Wakeup>();
    auto listening = d.hub().listen(r.id, wake);
    ContainerSignals s0 = d.hub().get(r.id);
    LogTail tail(log_path(e, r), true);
    res.begin_stream(200, "");
    auto emit = [&](const std::vector<LogEntry>& entries, size_t from) {
        std::string buf;
        for (size_t i = from; i < entries.size(); i++) {
            const auto& en = entries[i];
            bool is_err = en.stream == "stderr";
            if (is_err ? !err : !out) continue;
            if (since || until) {
                auto t = engine::parse_rfc3339(en.time);
                if (t && since && *t < *since) continue;
                if (t && until && *t > *until) continue;
            }
            std::string text = ts ? en.time + " " + en.log : en.log;
            buf += tty ? text : mux_frame(is_err ? 2 : 1, text);
            if (buf.size() > (1 << 16)) {
                res.chunk(buf);
                buf.clear();
            }
        }
        res.chunk(buf);
    };
    auto first = tail.read();
    size_t from = 0;
    if (tail_arg != "all" && !tail_arg.empty()) {
        if (tail_arg[0] == '-') throw HttpError(400, "invalid tail value");
        auto n = parse_uint(tail_arg);
        if (n && *n < first.size()) from = first.size() - *n;
    }
    emit(first, from);
    if (!follow || (st.status != "running" && st.status != "paused" && st.status != "created")) return;
    if (st.status == "running" || st.status == "paused") d.watch_if_running(r.id, st);
    for (;;) {
        ContainerSignals s = d.hub().get(r.id);
        if (s.exits > s0.exits || s.removed) {
            emit(tail.read(), 0);
            return;
        }
        pollfd p[3] = {{wake->fd(), POLLIN, 0}, {tail.watch_fd(), POLLIN, 0}, {res.transport().fd(), POLLRDHUP, 0}};
        int n = ::poll(p, 3, 2000);
        if (n < 0 && errno != EINTR) return;
        if (p[2].revents & (POLLRDHUP | POLLHUP | POLLERR)) return;
        if (p[0].revents) wake->clear();
        emit(tail.read(), 0);
        if (n == 0) {
            engine::RuntimeState rs = e.runtime_state(r.id);
            if (rs.status == "running" || rs.status == "paused") d.watch_if_running(r.id, rs);
            else if (rs.status != "created") {
                emit(tail.read(), 0);
                return;
            }
        }
    }
}

// ---------------------------------------------------------------- archive

void path_stat_header(const engine::PathStat& ps, std::vector<std::pair<std::string, std::string>>& h) {
    std::string json = dump_compact(ps.to_json());
    static const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    for (; i + 2 < json.size(); i += 3) {
        uint32_t v = (static_cast<unsigned char>(json[i]) << 16) | (static_cast<unsigned char>(json[i + 1]) << 8) |
                     static_cast<unsigned char>(json[i + 2]);
        out += b64[(v >> 18) & 63];
        out += b64[(v >> 12) & 63];
        out += b64[(v >> 6) & 63];
        out += b64[v & 63];
    }
    if (i < json.size()) {
        uint32_t v = static_cast<unsigned char>(json[i]) << 16;
        if (i + 1 < json.size()) v |= static_cast<unsigned char>(json[i + 1]) << 8;
        out += b64[(v >> 18) & 63];
        out += b64[(v >> 12) & 63];
        out += i + 1 < json.size() ? b64[(v >> 6) & 63] : '=';
        out += '=';
    }
    h.push_back({"X-Docker-Container-Path-Stat", out});
}

UniqueFd container_root(const engine::Engine& e, const ContainerRecord& r) {
    std::string rootfs = bundle_of(e, r) + "/rootfs";
    UniqueFd fd(::open(rootfs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throw HttpError(409, "the root filesystem of container " + r.name + " is not mounted");
    return fd;
}

engine::PathStat stat_or_404(int root, const std::string& path, const ContainerRecord& r) {
    try {
        return engine::stat_in_root(root, path);
    } catch (const Error& ex) {
        if (ex.kind() == ErrorKind::not_found)
            throw HttpError(404, "Could not find the file " + path + " in container " + r.name);
        throw;
    }
}

// What the three /containers/{id}/archive handlers act on: the container,
// the path (made absolute), the container's root opened, and what is at the
// path (404 if nothing).
struct ArchiveTarget {
    ContainerRecord record;
    std::string path;
    UniqueFd root;
    engine::PathStat stat;
};

ArchiveTarget archive_target(engine::Engine& e, Request& req) {
    ArchiveTarget t;
    t.record = e.containers().lookup(req.params["id"]);
    const ContainerRecord& r = t.record;
    t.path = req.query().value("path");
    if (t.path.empty()) throw HttpError(400, "path is required");
    if (t.path[0] != '/') t.path = "/" + t.path;
    t.root = container_root(e, r);
    t.stat = stat_or_404(t.root.get(), t.path, r);
    return t;
}

void archive_head(Daemon& d, Request& req, Response& res) {
    engine::Engine e = d.engine();
    auto [r, path, root, ps] = archive_target(e, req);
    std::vector<std::pair<std::string, std::string>> h;
    path_stat_header(ps, h);
    res.send(200, "", "", h);
}

// Streams the tar img-pack writes (`argv`) as the answer.
void stream_tar(Daemon& d, const std::vector<std::string>& argv, Response& res, const std::string& what,
                const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    PipedProcess tar(argv, PipedProcess::End::stdout_of);
    res.begin_stream(200, "application/x-tar", headers);
    try {
        char buf[65536];
        for (;;) {
            ssize_t n = ::read(tar.fd(), buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            res.chunk(std::string_view(buf, static_cast<size_t>(n)));
        }
    } catch (const std::exception&) {
        tar.close(); // the client went away: img-pack stops on EPIPE
    }
    ProcessResult p = tar.wait();
    if (!p.ok() && p.status != 128 + SIGPIPE) d.log(what + ": " + tool_message(p.err, "img-pack failed"));
}

void archive_get(Daemon& d, Request& req, Response& res) {
    engine::Engine e = d.engine();
    auto [r, path, root, ps] = archive_target(e, req);
    std::vector<std::pair<std::string, std::string>> h;
    path_stat_header(ps, h);
    stream_tar(d, engine::tools::pack_archive(bundle_of(e, r) + "/rootfs", path), res, "archive of " + path, h);
}

void archive_put(Daemon& d, Request& req, Response& res) {
    engine::Engine e = d.engine();
    auto [r, path, root, ps] = archive_target(e, req);
    if (!ps.is_dir()) throw HttpError(400, "extraction point is not a directory");
    engine::tools::PackExtract x;
    x.root = bundle_of(e, r) + "/rootfs";
    x.dir = path;
    x.devices = true; // as dockerd: the container's root may hold device nodes
    x.no_overwrite_dir_non_dir = req.query().flag("noOverwriteDirNonDir");
    PipedProcess extract(engine::tools::pack_extract(x), PipedProcess::End::stdin_of);
    try {
        req.body_stream([&](std::string_view data) { write_all(extract.fd(), data, "archive"); }, 1ull << 40);
    } catch (const HttpError&) {
        extract.wait();
        throw;
    } catch (const std::exception&) {
        // the extractor stopped reading (a bad archive): its error is the answer
    }
    ProcessResult p = extract.wait();
    if (!p.ok()) {
        std::string failure = tool_message(p.err, "img-pack extract failed");
        if (failure.rfind("Error processing tar file", 0) != 0) failure = "Error processing tar file: " + failure;
        throw HttpError(error_kind_of_exit(p.status) == ErrorKind::conflict ? 400 : 500, failure);
    }
    d.container_event(r, "extract-to-dir");
    res.send(200, "", "");
}

// ---------------------------------------------------------------- stop, kill …

bool is_running(const engine::ContainerState& st) { return st.status == "running" || st.status == "paused"; }

void stop(Daemon& d, Request& req, Response& res, bool restart) {
    engine::Engine e = d.engine();
    ContainerRecord r = e.containers().lookup(req.params["id"]);
    std::optional<int> t;
    if (auto v = req.query().integer("t")) t = static_cast<int>(*v);
    engine::ContainerState st = e.state(r);
    if (is_running(st)) {
        d.watch_if_running(r.id, st);
        std::string sig = json_str(r.doc["Config"], "StopSignal", "SIGTERM");
        d.container_event(r, "kill", {{"signal", sig}});
        e.stop(r.id, t);
        d.container_event(r, "stop");
    } else if (!restart) {
        return res.no_content(304);
    }
    if (restart) {
        d.start_container(r.id);
        d.container_event(r, "restart");
    }
    res.no_content(204);
}

} // namespace

// ---------------------------------------------------------------- start

bool Daemon::start_container(const std::string& ref) {
    engine::Engine e = engine();
    ContainerRecord r = e.containers().lookup(ref);
    pid_t shim_pid = -1;
    std::string pid_file;
    {
        FileLock lock = e.containers().lock(r.id);
        r = e.containers().load(r.id);
        if (r.setup_phase() != engine::setup::ready)
            throw_conflict("container " + r.name + " is not ready (" + r.setup_phase() + "); remove it with rm -f");
        engine::RuntimeState rs = e.runtime_state(r.id);
        if (rs.status == "running" || rs.status == "paused") return false;
        if (!rs.status.empty()) run_process(engine::tools::runtime(paths_, {"delete", "--force", r.id}));
        bool tty = config_flag(r, "Tty");
        bool open_stdin = config_flag(r, "OpenStdin");
        std::string log = log_path(e, r);
        { UniqueFd touch(::open(log.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0640)); }
        ShimSpec shim = shim_paths(paths_.run, r.id);
        shim.log_path = log;
        shim.tty = tty;
        Json size = r.doc["HostConfig"].value("ConsoleSize", Json::array());
        if (size.is_array() && size.size() == 2 && size[0].is_number() && size[1].is_number()) {
            shim.rows = size[0].get<int>();
            shim.cols = size[1].get<int>();
        }
        UniqueFd stdin_r, stdin_w;
        if (tty || open_stdin) {
            if (!tty) {
                int p[2];
                if (::pipe2(p, O_CLOEXEC) < 0) throw_errno("pipe");
                stdin_r.reset(p[0]);
                stdin_w.reset(p[1]);
            }
            shim_pid = start_shim(shim, stdin_w.get());
            stdin_w.reset();
        }
        // ctld is no shim: ns-run's monitor waits for the container and records its exit
        std::vector<std::string> args = {"run", "--detach", "--monitor"};
        Json init = r.doc["HostConfig"].value("Init", Json());
        if (init.is_boolean() && init.get<bool>()) args.push_back("--init");
        args.insert(args.end(), {"--bundle", bundle_of(e, r)});
        // the process's pid, for the exit watcher, without asking `ns-run state`
        pid_file = e.containers().dir(r.id) + "/ns-run.pid";
        args.insert(args.end(), {"--pid-file", pid_file});
        if (tty) args.insert(args.end(), {"--console-socket", shim.console});
        else args.insert(args.end(), {"--stdio-log", log});
        args.push_back(r.id);
        SpawnOptions so;
        so.stdin_fd = stdin_r ? stdin_r.get() : -1;
        so.pipe_stderr = true;
        Spawned sp = spawn(engine::tools::runtime(paths_, args), so);
        stdin_r.reset();
        std::string err = read_all(sp.err.get());
        int status = wait_child(sp.pid);
        if (status != 0) {
            if (shim_pid > 0) ::kill(shim_pid, SIGTERM);
            std::string msg = tool_message(err, "ns-run exited with status " + std::to_string(status));
            // the CLI turns these words into docker run's exit codes 127 and 126
            if (status == 127 || msg.find("ENOENT") != std::string::npos)
                msg += ": executable file not found: no such file or directory";
            else if (status == 126 || msg.find("EACCES") != std::string::npos)
                msg += ": permission denied";
            throw Error(msg, error_kind_of_exit(status));
        }
    }
    pid_t pid = 0;
    if (auto text = read_file_if_exists(pid_file, 64)) {
        if (auto n = parse_uint(trim(*text))) pid = static_cast<pid_t>(*n);
        ::unlink(pid_file.c_str());
    }
    if (pid <= 0) {
        engine::RuntimeState rs = e.runtime_state(r.id);
        if (rs.status == "running" || rs.status == "paused") pid = rs.pid;
    }
    hub_.started(r.id);
    network_events(r, "connect");
    container_event(r, "start");
    watcher_->watch(r.id, pid); // 0 or a process already gone: over already
    return true;
}

void add_container_routes(Router& r, Daemon& d) {
    r.add("POST", "/containers/create", [&d](Request& req, Response& res) { create(d, req, res); });
    r.add("GET", "/containers/json", [&d](Request& req, Response& res) { list(d, req, res); });

    r.add("GET", "/containers/{id}/json", [&d](Request& req, Response& res) {
        engine::Engine e = d.engine();
        ContainerRecord rec = e.containers().lookup(req.params["id"]);
        Json j = e.inspect(rec);
        auto execs = d.exec_ids_of(rec.id);
        j["ExecIDs"] = execs.empty() ? Json(nullptr) : Json(execs);
        if (req.query().flag("size")) {
            j["SizeRw"] = 0;
            j["SizeRootFs"] = 0;
        }
        res.json(200, j);
    });

    r.add("POST", "/containers/{id}/start", [&d](Request& req, Response& res) {
        try {
            if (!d.start_container(req.params["id"])) return res.no_content(304);
        } catch (const std::exception&) {
            // as the engine does: a --rm container that cannot start is removed,
            // which also ends the CLI's wait?condition=removed
            engine::Engine e = d.engine();
            if (auto rec = e.containers().try_load(e.containers().resolve(req.params["id"]))) {
                Json host = rec->doc.value("HostConfig", Json::object());
                if (host.is_object() && host.value("AutoRemove", false)) {
                    try {
                        d.remove_container(rec->id, true, true);
                    } catch (const std::exception& ex) {
                        d.log("--rm of " + rec->id.substr(0, 12) + " after a failed start: " + ex.what());
                    }
                }
            }
            throw;
        }
        res.no_content(204);
    });
    r.add("POST", "/containers/{id}/stop", [&d](Request& req, Response& res) { stop(d, req, res, false); });
    r.add("POST", "/containers/{id}/restart", [&d](Request& req, Response& res) { stop(d, req, res, true); });

    r.add("POST", "/containers/{id}/kill", [&d](Request& req, Response& res) {
        engine::Engine e = d.engine();
        ContainerRecord rec = e.containers().lookup(req.params["id"]);
        std::string sig = req.query().value("signal", "SIGKILL");
        if (sig.empty()) sig = "SIGKILL";
        engine::ContainerState st = e.state(rec);
        if (!is_running(st))
            throw HttpError(409, "Cannot kill container: " + req.params["id"] + ": Container " + rec.id + " is not running");
        d.watch_if_running(rec.id, st);
        e.kill(rec.id, sig);
        d.container_event(rec, "kill", {{"signal", sig}});
        res.no_content(204);
    });

    r.add("POST", "/containers/{id}/wait", [&d](Request& req, Response& res) { wait(d, req, res); });

    r.add("DELETE", "/containers/{id}", [&d](Request& req, Response& res) {
        d.remove_container(req.params["id"], req.query().flag("force"), req.query().flag("v"));
        res.no_content(204);
    });

    r.add("POST", "/containers/{id}/attach", [&d](Request& req, Response& res) { attach(d, req, res); });
    r.add("GET", "/containers/{id}/logs", [&d](Request& req, Response& res) { logs(d, req, res); });

    r.add("POST", "/containers/{id}/rename", [&d](Request& req, Response& res) {
        std::string name = req.query().value("name");
        try {
            engine::validate_container_name(name);
        } catch (const Error& ex) {
            throw HttpError(400, ex.what());
        }
        engine::Engine e = d.engine();
        ContainerRecord rec = e.containers().lookup(req.params["id"]);
        std::string old = rec.name;
        e.rename(rec.id, name);
        rec = e.containers().load(rec.id);
        d.container_event(rec, "rename", {{"oldName", "/" + old}});
        res.no_content(204);
    });

    r.add("GET", "/containers/{id}/top", [&d](Request& req, Response& res) {
        engine::Engine e = d.engine();
        std::vector<std::string> args;
        for (const auto& a : split(req.query().value("ps_args"), ' '))
            if (!a.empty()) args.push_back(a);
        res.json(200, e.top(req.params["id"], args));
    });

    r.add("GET", "/containers/{id}/stats", [&d](Request& req, Response& res) { container_stats(d, req, res); });

    r.add("POST", "/containers/{id}/resize", [&d](Request& req, Response& res) {
        engine::Engine e = d.engine();
        ContainerRecord rec = e.containers().lookup(req.params["id"]);
        int h = static_cast<int>(req.query().integer("h").value_or(0)), w = static_cast<int>(req.query().integer("w").value_or(0));
        if (config_flag(rec, "Tty")) {
            try {
                shim_resize(shim_paths(d.paths().run, rec.id).control, h, w);
            } catch (const std::exception&) {
                engine::ContainerState st = e.state(rec);
                if (!is_running(st)) throw HttpError(409, "Container " + rec.id + " is not running");
                throw HttpError(500, "cannot resize the terminal of container " + rec.name);
            }
        }
        res.send(200, "text/plain; charset=utf-8", "");
    });

    r.add("POST", "/containers/{id}/pause", [&d](Request& req, Response& res) {
        engine::Engine e = d.engine();
        ContainerRecord rec = e.containers().lookup(req.params["id"]);
        e.pause(rec.id);
        d.container_event(rec, "pause");
        res.no_content(204);
    });
    r.add("POST", "/containers/{id}/unpause", [&d](Request& req, Response& res) {
        engine::Engine e = d.engine();
        ContainerRecord rec = e.containers().lookup(req.params["id"]);
        e.unpause(rec.id);
        d.container_event(rec, "unpause");
        res.no_content(204);
    });

    r.add("GET", "/containers/{id}/changes", [&d](Request& req, Response& res) {
        engine::Engine e = d.engine();
        res.json(200, engine::container_changes(e, req.params["id"]));
    });
    r.add("GET", "/containers/{id}/export", [&d](Request& req, Response& res) {
        engine::Engine e = d.engine();
        ContainerRecord rec = e.containers().lookup(req.params["id"]);
        container_root(e, rec); // 409 when the root filesystem is not mounted
        stream_tar(d, engine::export_argv(e, rec, ""), res, "export of " + rec.name);
        d.container_event(rec, "export");
    });
    r.add("HEAD", "/containers/{id}/archive", [&d](Request& req, Response& res) { archive_head(d, req, res); });
    r.add("GET", "/containers/{id}/archive", [&d](Request& req, Response& res) { archive_get(d, req, res); });
    r.add("PUT", "/containers/{id}/archive", [&d](Request& req, Response& res) { archive_put(d, req, res); });

    r.add("POST", "/containers/prune", [&d](Request& req, Response& res) {
        auto f = parse_filters_json(req.query().value("filters"));
        engine::Engine e = d.engine();
        auto states = e.runtime_states();
        Json deleted = Json::array();
        int64_t reclaimed = 0;
        for (const auto& rec : e.containers().list()) {
            auto it = states.find(rec.id);
            engine::ContainerState st = e.state(rec, it == states.end() ? engine::RuntimeState{} : it->second);
            if (st.status != "exited" && st.status != "created" && st.status != "dead") continue;
            if (rec.setup_phase() == engine::setup::creating) continue;
            bool ok = true;
            for (const auto& l : f["label"]) {
                auto eq = l.find('=');
                Json labels = rec.doc["Config"].value("Labels", Json::object());
                std::string k = l.substr(0, eq);
                if (!labels.is_object() || !labels.contains(k) || (eq != std::string::npos && labels[k] != l.substr(eq + 1))) ok = false;
            }
            if (!ok) continue;
            try {
                int64_t size = engine::container_size(e, rec.id);
                d.remove_container(rec.id, false, false);
                deleted.push_back(rec.id);
                reclaimed += size;
            } catch (const std::exception&) {
            }
        }
        res.json(200, Json{{"ContainersDeleted", deleted.empty() ? Json(nullptr) : deleted}, {"SpaceReclaimed", reclaimed}});
    });
}

} // namespace ctk::api
