#include "api/daemon.hpp"

#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "core/error.hpp"
#include "core/file_cache.hpp"
#include "core/fs.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "engine/names.hpp"
#include "engine/timefmt.hpp"
#include "engine/tools.hpp"

namespace ctk::api {

Daemon::Daemon(store::Paths paths, DaemonOptions options) : paths_(std::move(paths)), options_(std::move(options)) {
    // a daemon lists again and again: records and states that did not change are not parsed again
    file_caches_on = true;
    add_system_routes(router_, *this);
    add_image_routes(router_, *this);
    add_container_routes(router_, *this);
    add_exec_routes(router_, *this);
    add_network_routes(router_, *this);
    add_volume_routes(router_, *this);
    add_build_routes(router_, *this);
    watcher_ = std::make_unique<ExitWatcher>([this](const std::string& id) { on_exit(id); });
}

Daemon::~Daemon() = default;

void Daemon::log(const std::string& line) const {
    std::string l = "ctld: " + line + "\n";
    (void)!::write(STDERR_FILENO, l.data(), l.size());
}

void Daemon::serve(std::unique_ptr<Transport> t) {
    std::function<void(const std::string&)> logger;
    if (options_.debug) logger = [this](const std::string& m) { log(m); };
    const ServerLimits& limits = options_.limits;
    // while it awaits a request, the connection may be closed to make room (evict_waiting)
    uint64_t id = ++serial_;
    int fd = t->fd();
    auto awaiting = [this, id, fd](bool on) {
        std::lock_guard<std::mutex> l(waiting_m_);
        if (on) waiting_[id] = {fd, engine::now_ns()};
        else waiting_.erase(id);
    };
    serve_connection(
        std::move(t),
        [this](Request& req, Response& res) {
            if (!options_.debug) return handle(req, res);
            int64_t t0 = engine::now_ns();
            log(req.method() + " " + req.target());
            handle(req, res);
            log(req.method() + " " + req.target() + " done in " + std::to_string((engine::now_ns() - t0) / 1000000) + " ms");
        },
        limits, logger, awaiting);
}

bool Daemon::evict_waiting() {
    std::lock_guard<std::mutex> l(waiting_m_);
    auto oldest = waiting_.end();
    for (auto it = waiting_.begin(); it != waiting_.end(); ++it)
        if (oldest == waiting_.end() || it->second.second < oldest->second.second) oldest = it;
    if (oldest == waiting_.end()) return false;
    // its thread still owns the fd (it leaves the map under this lock before
    // it can close it): the end of the stream wakes it, and it ends
    ::shutdown(oldest->second.first, SHUT_RDWR);
    waiting_.erase(oldest);
    return true;
}

// ---------------------------------------------------------------- listening

namespace {

// The socket's group, by number or by its name in /etc/group. Read here, not
// through NSS: getgrnam would load the NSS modules (libnss_systemd and what it
// links) into ctld for good, a third of a MiB resident for one lookup. A group
// that only NSS knows (LDAP, systemd-userdb) is given by number.
gid_t group_id(const std::string& name, bool required) {
    if (name.empty()) return 0;
    if (auto n = parse_uint(name)) return static_cast<gid_t>(*n);
    if (auto text = read_file_if_exists("/etc/group", 16u << 20)) {
        for (const auto& line : split(*text, '\n')) {
            auto f = split(line, ':');
            if (f.size() >= 3 && f[0] == name)
                if (auto gid = parse_uint(f[2])) return static_cast<gid_t>(*gid);
        }
    }
    if (required) throw Error("group " + quote(name) + " does not exist in /etc/group", ErrorKind::not_found);
    return 0;
}

} // namespace

int Daemon::run() {
    // One thread per connection: without a cap glibc gives threads arenas of
    // their own (up to 8 per core), each keeping freed memory resident.
    ::mallopt(M_ARENA_MAX, 2);
    // Taken out of the environment before any thread starts: the tools ctld
    // runs must not see them (ns-run would relay NOTIFY_SOCKET into containers).
    const char* notify_env = std::getenv("NOTIFY_SOCKET");
    std::string notify_socket = notify_env ? notify_env : "";
    ::unsetenv("NOTIFY_SOCKET");
    std::vector<ActivatedSocket> activated = take_activated_sockets();
    std::vector<std::pair<UniqueFd, std::optional<TlsContext>>> listeners;
    std::vector<std::string> hosts = options_.hosts;
    // Socket activation without -H: systemd's sockets, as -H fd:// would take.
    if (hosts.empty()) hosts.push_back(activated.empty() ? "unix://" + paths_.daemon_socket() : "fd://");
    auto tls_for = [&](const Endpoint& e) {
        std::optional<TlsContext> tls;
        if (e.kind != Endpoint::Kind::tcp) return tls;
        if (options_.tls_verify) {
            if (options_.tls.ca.empty() || options_.tls.cert.empty() || options_.tls.key.empty())
                throw Error("--tlsverify needs --tlscacert, --tlscert and --tlskey", ErrorKind::usage);
            tls = TlsContext::server(options_.tls);
        } else if (!(options_.insecure_tcp && e.loopback())) {
            throw Error("refusing to listen on " + e.str() +
                            " without mutual TLS: give --tlsverify with --tlscacert, --tlscert, --tlskey "
                            "(plain TCP is allowed only on a loopback address, with --insecure-tcp)",
                        ErrorKind::usage);
        }
        return tls;
    };
    for (const auto& h : hosts) {
        // dockerd's -H fd:// (every socket systemd passed) and fd://NAME (those
        // of FileDescriptorName=NAME). systemd owns them: their mode, group
        // and file stay as the .socket unit says.
        if (h.starts_with("fd://")) {
            std::string name = h.substr(5);
            size_t taken = 0;
            for (auto& a : activated) {
                if (!a.fd || (!name.empty() && a.name != name)) continue;
                std::optional<TlsContext> tls = tls_for(a.endpoint);
                log("API listening on " + a.endpoint.str() + " (fd " + std::to_string(a.fd.get()) +
                    " from systemd" + (tls ? ", mutual TLS)" : ")"));
                listeners.emplace_back(std::move(a.fd), std::move(tls));
                taken++;
            }
            if (taken == 0)
                throw Error("-H " + h + ": systemd passed no " + (name.empty() ? "" : "such ") +
                                "socket (LISTEN_FDS, LISTEN_PID" + (name.empty() ? "" : ", LISTEN_FDNAMES") + ")",
                            ErrorKind::usage);
            continue;
        }
        Endpoint e = parse_endpoint(h);
        std::optional<TlsContext> tls = tls_for(e);
        if (e.kind == Endpoint::Kind::unix_socket) make_dirs(e.path.substr(0, e.path.rfind('/')), 0755);
        UniqueFd fd = listen_on(e);
        if (e.kind == Endpoint::Kind::unix_socket) {
            gid_t gid = group_id(options_.group, options_.group_given);
            if (::chown(e.path.c_str(), 0, gid) < 0 && ::geteuid() == 0) throw_errno("chown", e.path);
            if (::chmod(e.path.c_str(), 0660) < 0) throw_errno("chmod", e.path);
            unix_paths_.push_back(e.path);
        }
        log("API listening on " + e.str() + (tls ? " (mutual TLS)" : ""));
        listeners.emplace_back(std::move(fd), std::move(tls));
    }
    for (const auto& a : activated)
        if (a.fd) log("warning: socket " + a.endpoint.str() + " from systemd is not used (no -H fd://)");
    activated.clear();
    make_dirs(paths_.run, 0755);
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    ::pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
    UniqueFd sfd(::signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!sfd) throw_errno("signalfd");
    recover();
    // Type=notify: serving from here on.
    try {
        notify_ready(notify_socket);
    } catch (const Error& e) {
        log(std::string("warning: ") + e.what());
    }
    accept_loop(listeners, sfd.get());
    for (const auto& p : unix_paths_) ::unlink(p.c_str());
    log("stopped (containers keep running)");
    return 0;
}

void Daemon::accept_loop(std::vector<std::pair<UniqueFd, std::optional<TlsContext>>>& listeners, int signal_fd) {
    // Refused connections, answered and kept open (no thread: this loop
    // watches them) until the client has sent its request or a second
    // passes: closed at once, the client's write would fail (EPIPE, or a TCP
    // reset) before it read the 503.
    struct Refused {
        UniqueFd fd;
        int64_t until;
    };
    std::vector<Refused> refused;
    auto refuse_later = [&](UniqueFd c, const std::string& message) {
        refuse(c.get(), message);
        if (refused.size() >= 512) refused.erase(refused.begin()); // the oldest closes now
        refused.push_back({std::move(c), engine::now_ns() + 1000000000LL});
    };
    for (;;) {
        std::vector<pollfd> p;
        p.push_back({signal_fd, POLLIN, 0});
        for (auto& l : listeners) p.push_back({l.first.get(), POLLIN, 0});
        for (auto& x : refused) p.push_back({x.fd.get(), POLLIN, 0});
        int timeout = -1;
        if (!refused.empty()) timeout = static_cast<int>(std::max<int64_t>(0, (refused.front().until - engine::now_ns()) / 1000000 + 1));
        // While connections are open, wake once a second: when the last has
        // gone, give the freed heap back (idle RSS). Not in the last thread
        // itself: the caches of the threads ending meanwhile (glibc's tcache,
        // freed at thread exit) would stay resident.
        if (connections_.load() > 0 || trim_pending_) timeout = timeout < 0 ? 1000 : std::min(timeout, 1000);
        if (connections_.load() == 0 && trim_pending_ && engine::now_ns() - last_connection_end_.load() > 500000000LL) {
            ::malloc_trim(0);
            trim_pending_ = false;
        }
        if (connections_.load() > 0) trim_pending_ = true;
        int r = ::poll(p.data(), p.size(), timeout);
        if (r < 0) {
            if (errno == EINTR) continue;
            throw_errno("poll");
        }
        if (!refused.empty()) {
            int64_t now = engine::now_ns();
            size_t base = 1 + listeners.size();
            std::vector<Refused> keep;
            for (size_t i = 0; i < refused.size(); i++) {
                bool done = refused[i].until <= now;
                if (!done && (p[base + i].revents & (POLLIN | POLLHUP | POLLERR))) {
                    char buf[4096];
                    ssize_t n = ::recv(refused[i].fd.get(), buf, sizeof buf, MSG_DONTWAIT);
                    done = n <= 0 && !(n < 0 && errno == EAGAIN); // the client's end, or an error
                }
                if (!done) keep.push_back(std::move(refused[i]));
            }
            refused = std::move(keep);
        }
        if (p[0].revents & POLLIN) {
            signalfd_siginfo si{};
            if (::read(signal_fd, &si, sizeof si) == static_cast<ssize_t>(sizeof si) && si.ssi_signo != SIGHUP) {
                log(std::string("signal ") + ::strsignal(static_cast<int>(si.ssi_signo)) + ": stopping");
                return;
            }
        }
        for (size_t i = 0; i < listeners.size(); i++) {
            if (!(p[i + 1].revents & POLLIN)) continue;
            sockaddr_storage ss{};
            socklen_t len = sizeof ss;
            UniqueFd c(::accept4(listeners[i].first.get(), reinterpret_cast<sockaddr*>(&ss), &len, SOCK_CLOEXEC));
            if (!c) {
                int e = errno;
                if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
                    // the connection stays queued: try again shortly (as Go's
                    // server does) rather than spin on a listener that stays readable
                    log_throttled(std::string("accept: ") + std::strerror(e) + ": retrying");
                    pollfd sp{signal_fd, POLLIN, 0};
                    (void)::poll(&sp, 1, 100);
                }
                continue;
            }
            // At the cap, the connection that has awaited a request longest
            // (idle, or trickling its headers) is closed to make room, as
            // nginx reuses its keep-alive connections; only when all of them
            // are busy with requests is the new one refused.
            if (connections_.load() >= options_.max_connections && !evict_waiting()) {
                refuse_later(std::move(c), "too many connections to the daemon");
                continue;
            }
            std::string peer = ss.ss_family == AF_UNIX ? "unix" : "tcp";
            const std::optional<TlsContext>* tls = &listeners[i].second;
            connections_++;
            try {
                std::thread([this, fd = c.get(), peer, tls]() mutable {
                    try {
                        UniqueFd own(fd);
                        std::unique_ptr<Transport> t;
                        if (*tls) t = (*tls)->accept(std::move(own), peer);
                        else t = plain_transport(std::move(own), peer);
                        serve(std::move(t));
                    } catch (const std::exception& e) {
                        log(e.what());
                    }
                    last_connection_end_ = engine::now_ns();
                    connections_--; // the accept loop trims the heap when none is left
                }).detach();
                (void)c.release(); // the thread owns it now
            } catch (const std::exception& e) {
                // no thread (pids limit, memory): this connection is refused, the daemon goes on
                connections_--;
                log_throttled(std::string("cannot serve a new connection: ") + e.what());
                refuse_later(std::move(c), std::string("cannot serve a new connection: ") + e.what());
            }
        }
    }
}

void Daemon::log_throttled(const std::string& line) {
    // at most one line a second: a flood of refusals does not flood the log
    int64_t now = engine::now_ns();
    int64_t last = last_throttled_log_.load();
    if (now - last < 1000000000LL || !last_throttled_log_.compare_exchange_strong(last, now)) return;
    log(line);
}

void Daemon::refuse(int fd, const std::string& message) {
    // A 503 as a complete response; the write side ends with it.
    std::string body = dump_compact(Json{{"message", message}}) + "\n";
    std::string r = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body;
    (void)!::send(fd, r.data(), r.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::shutdown(fd, SHUT_WR);
}

// ---------------------------------------------------------------- containers

std::map<std::string, std::string> Daemon::container_attributes(const engine::ContainerRecord& r) const {
    std::map<std::string, std::string> a;
    const Json& cfg = r.doc.value("Config", Json::object()).is_object() ? r.doc["Config"] : Json::object();
    if (cfg.contains("Labels") && cfg["Labels"].is_object())
        for (auto it = cfg["Labels"].begin(); it != cfg["Labels"].end(); ++it)
            if (it.value().is_string()) a[it.key()] = it.value().get<std::string>();
    a["image"] = cfg.value("Image", "");
    a["name"] = r.name;
    return a;
}

void Daemon::container_event(const engine::ContainerRecord& r, const std::string& action,
                             std::map<std::string, std::string> extra) {
    auto a = container_attributes(r);
    for (auto& [k, v] : extra) a[k] = v;
    events_.publish("container", action, r.id, std::move(a));
}

void Daemon::network_events(const engine::ContainerRecord& r, const std::string& action) {
    for (const auto& [name, id] : engine().network_ids({&r}))
        events_.publish("network", action, id, {{"container", r.id}, {"name", name}, {"type", "bridge"}});
}

void Daemon::watch_if_running(const std::string& id) {
    if (watcher_->watching(id)) return;
    watch_if_running(id, engine().runtime_state(id));
}

void Daemon::watch_if_running(const std::string& id, const engine::RuntimeState& rs) {
    if (watcher_->watching(id)) return;
    if ((rs.status == "running" || rs.status == "paused") && rs.pid > 0) watcher_->watch(id, rs.pid);
}

void Daemon::watch_if_running(const std::string& id, const engine::ContainerState& st) {
    if (watcher_->watching(id)) return;
    if (st.running && st.pid > 0) watcher_->watch(id, st.pid);
}

void Daemon::on_exit(const std::string& id) {
    engine::Engine e = engine();
    int code = 137;
    ProcessResult w = run_process(engine::tools::runtime(paths_, {"wait", id}));
    if (w.ok()) {
        try {
            Json j = parse_json_text(w.out, "runtime wait");
            if (j.contains("exitCode") && j["exitCode"].is_number_integer())
                code = engine::exit_status_or_lost(j["exitCode"].get<int>());
        } catch (const std::exception&) {
        }
    }
    hub_.exited(id, code);
    auto rec = e.containers().try_load(id);
    if (!rec) return;
    container_event(*rec, "die", {{"exitCode", std::to_string(code)}});
    network_events(*rec, "disconnect");
    Json host = rec->doc.value("HostConfig", Json::object());
    if (host.is_object() && host.value("AutoRemove", false)) {
        try {
            remove_container(id, true, true);
        } catch (const std::exception& ex) {
            log("--rm of " + id.substr(0, 12) + ": " + ex.what());
        }
    }
}

void Daemon::remove_container(const std::string& ref, bool force, bool volumes) {
    engine::Engine e = engine();
    std::string id = e.containers().resolve(ref);
    auto rec = e.containers().try_load(id);
    e.remove(id, force, volumes);
    {
        std::lock_guard<std::mutex> l(exec_m_);
        for (auto it = execs_.begin(); it != execs_.end();)
            it = it->second->container == id ? execs_.erase(it) : std::next(it);
    }
    if (rec) container_event(*rec, "destroy");
    hub_.removed(id);
}

// ---------------------------------------------------------------- exec instances

std::shared_ptr<ExecInstance> Daemon::new_exec(std::shared_ptr<ExecInstance> x) {
    std::lock_guard<std::mutex> l(exec_m_);
    if (execs_.size() > 4096) {
        for (auto it = execs_.begin(); it != execs_.end();) {
            std::lock_guard<std::mutex> l2(it->second->m);
            it = it->second->exit_code ? execs_.erase(it) : std::next(it);
        }
    }
    do {
        x->id = engine::new_container_id();
    } while (execs_.count(x->id));
    execs_[x->id] = x;
    return x;
}

std::shared_ptr<ExecInstance> Daemon::exec(const std::string& id) {
    std::lock_guard<std::mutex> l(exec_m_);
    auto it = execs_.find(id);
    if (it == execs_.end()) {
        // a unique prefix, as IDs go elsewhere
        std::shared_ptr<ExecInstance> found;
        for (auto& [k, v] : execs_)
            if (!id.empty() && k.rfind(id, 0) == 0) {
                if (found) throw HttpError(404, "No such exec instance: " + id);
                found = v;
            }
        if (!found) throw HttpError(404, "No such exec instance: " + id);
        return found;
    }
    return it->second;
}

std::vector<std::string> Daemon::exec_ids_of(const std::string& container) {
    std::lock_guard<std::mutex> l(exec_m_);
    std::vector<std::string> out;
    for (auto& [k, v] : execs_)
        if (v->container == container) out.push_back(k);
    return out;
}

// ---------------------------------------------------------------- live restore

void Daemon::recover() {
    engine::Engine e = engine();
    std::map<std::string, engine::RuntimeState> states;
    try {
        states = e.runtime_states();
    } catch (const std::exception&) {
    }
    size_t running = 0;
    for (const auto& r : e.containers().list()) {
        auto it = states.find(r.id);
        if (it == states.end()) continue;
        const auto& rs = it->second;
        if ((rs.status == "running" || rs.status == "paused") && rs.pid > 0) {
            watcher_->watch(r.id, rs.pid);
            running++;
        } else if (rs.status == "stopped") {
            // exited while ctld was away: finish what --rm asked for
            Json host = r.doc.value("HostConfig", Json::object());
            // (before the first request is served, so no client sees it half-removed)
            if (host.is_object() && host.value("AutoRemove", false)) {
                try {
                    remove_container(r.id, true, true);
                } catch (const std::exception& ex) {
                    log("--rm of " + r.id.substr(0, 12) + ": " + ex.what());
                }
            }
        }
    }
    if (running) log("found " + std::to_string(running) + " running container(s)");
}

// ---------------------------------------------------------------- request bodies

std::string go_json_error(const std::string& text, const std::exception& e) {
    auto* pe = dynamic_cast<const nlohmann::json::parse_error*>(&e);
    if (!pe) return e.what();
    size_t pos = pe->byte; // 1-based position of the offending byte
    std::string what = pe->what();
    if (pos == 0 || pos > text.size()) return "unexpected end of JSON input";
    char c = text[pos - 1];
    std::string ch = c == '\'' ? "\\'" : std::string(1, c);
    if (static_cast<unsigned char>(c) < 0x20) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
        ch = buf;
    }
    std::string ctx = "looking for beginning of value";
    if (what.find("object key") != std::string::npos) ctx = "looking for beginning of object key string";
    else if (what.find("object separator") != std::string::npos) ctx = "after object key";
    else if (what.find("end of input") != std::string::npos) ctx = "after top-level value";
    else if (what.find("object") != std::string::npos && what.find("'}'") != std::string::npos) ctx = "after object key:value pair";
    else if (what.find("array") != std::string::npos && what.find("']'") != std::string::npos) ctx = "after array element";
    return "invalid character '" + ch + "' " + ctx;
}

Json json_body(Request& req, uint64_t limit, bool required) {
    std::string body = req.body(limit);
    if (trim(body).empty()) {
        if (required) throw HttpError(400, "request body is empty: a JSON object is expected");
        return Json::object();
    }
    std::string ct = req.header("Content-Type");
    std::string base = to_lower(trim(ct.substr(0, ct.find(';'))));
    if (!base.empty() && base != "application/json")
        throw HttpError(400, "Content-Type specified (" + ct + ") must be 'application/json'");
    try {
        Json j = parse_json_text(body, "request body", limit);
        if (!j.is_object()) throw HttpError(400, "the request body must be a JSON object");
        return j;
    } catch (const nlohmann::json::exception& e) {
        throw HttpError(500, go_json_error(body, e));
    }
}

} // namespace ctk::api
