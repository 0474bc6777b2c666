#include "api/remote.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <set>
#include <thread>

#include "api/client.hpp"
#include "api/streams.hpp"
#include "core/cli.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "core/process.hpp"
#include "engine/plan.hpp"
#include "engine/tools.hpp"
#include "engine/disk_usage.hpp"
#include "engine/commands.hpp"
#include "engine/commit.hpp"
#include "engine/container_archive.hpp"
#include "engine/container_list.hpp"
#include "engine/image_list.hpp"
#include "engine/network_list.hpp"
#include "engine/volume_list.hpp"
#include "engine/format.hpp"
#include "engine/image_store.hpp"
#include "engine/timefmt.hpp"
#include "store/config.hpp"

namespace ctk::api {

using engine::ellipsis;
using engine::join_labels;
using engine::Listing;
using engine::ports_display;
using engine::short_id;

// ---------------------------------------------------------------- target

std::optional<RemoteTarget> remote_target(const RemoteFlags& f) {
    std::string host = f.host, context = f.context;
    if (host.empty() && context.empty()) {
        if (const char* h = std::getenv("CTK_HOST"); h && *h) host = h;
        else if (const char* c = std::getenv("CTK_CONTEXT"); c && *c) context = c;
    }
    RemoteTarget t;
    Json section = store::config_section(store::load_config(), "ctl");
    if (host.empty() && context.empty() && section.contains("context") && section["context"].is_string())
        context = section["context"].get<std::string>();
    TlsFiles tls = f.tls;
    bool verify = f.tls_verify;
    if (host.empty() && !context.empty() && context != "default") {
        Json ctxs = section.value("contexts", Json::object());
        if (!ctxs.is_object() || !ctxs.contains(context))
            throw Error("context " + quote(context) + " is not in the configuration file (section ctl.contexts)", ErrorKind::usage);
        const Json& c = ctxs[context];
        host = c.value("host", "");
        if (host.empty()) throw Error("context " + quote(context) + " names no host", ErrorKind::usage);
        if (tls.ca.empty()) tls.ca = c.value("tlscacert", "");
        if (tls.cert.empty()) tls.cert = c.value("tlscert", "");
        if (tls.key.empty()) tls.key = c.value("tlskey", "");
        verify = verify || c.value("tlsverify", !tls.ca.empty());
    }
    if (host.empty()) return std::nullopt;
    t.host = host;
    if (verify || !tls.ca.empty() || !tls.cert.empty()) {
        if (tls.ca.empty() || tls.cert.empty() || tls.key.empty())
            throw Error("--tlsverify needs --tlscacert, --tlscert and --tlskey", ErrorKind::usage);
        t.tls = tls;
    }
    return t;
}

namespace {

// An upload's body read from `fd`: the next piece, "" at its end.
std::function<std::string()> pieces_of(int fd) {
    return [fd] {
        char buf[65536];
        ssize_t n;
        while ((n = ::read(fd, buf, sizeof buf)) < 0 && errno == EINTR) {
        }
        return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
    };
}

[[noreturn]] void usage(const std::string& m) { throw Error(m, ErrorKind::usage); }

// The CLI's --filter key=value as the API's {"key":{"value":true}}.
std::string filters_json(const std::vector<std::string>& filters) {
    Json f = Json::object();
    for (const auto& a : filters) {
        auto kv = split_once(a, '=');
        if (!kv) usage("bad format of filter (expected name=value)");
        f[to_lower(trim(kv->first))][std::string(trim(kv->second))] = true;
    }
    return f.empty() ? "" : dump_compact(f);
}

class Terminal {
public:
    explicit Terminal(int fd) : fd_(fd) {
        if (::tcgetattr(fd_, &saved_) == 0) {
            termios raw = saved_;
            ::cfmakeraw(&raw);
            ok_ = ::tcsetattr(fd_, TCSANOW, &raw) == 0;
        }
    }
    ~Terminal() {
        if (ok_) ::tcsetattr(fd_, TCSANOW, &saved_);
    }

private:
    int fd_;
    termios saved_{};
    bool ok_ = false;
};

std::pair<int, int> terminal_size() {
    winsize ws{};
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0) return {ws.ws_row, ws.ws_col};
    if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0) return {ws.ws_row, ws.ws_col};
    return {0, 0};
}

std::atomic<bool> g_winch{false};
void on_winch(int) { g_winch.store(true); }

// Docker's multiplexed frames from a byte stream, to stdout/stderr.
class Demux {
public:
    void feed(std::string_view data) {
        buf_.append(data);
        for (;;) {
            if (buf_.size() < 8) return;
            uint32_t n = (static_cast<uint8_t>(buf_[4]) << 24) | (static_cast<uint8_t>(buf_[5]) << 16) |
                         (static_cast<uint8_t>(buf_[6]) << 8) | static_cast<uint8_t>(buf_[7]);
            if (buf_.size() < 8 + n) return;
            int fd = buf_[0] == 2 ? STDERR_FILENO : STDOUT_FILENO;
            try {
                write_all(fd, std::string_view(buf_).substr(8, n), "output");
            } catch (const Error&) {
            }
            buf_.erase(0, 8 + n);
        }
    }

private:
    std::string buf_;
};

// ---------------------------------------------------------------- the verbs

Json labels_json(const std::vector<std::string>& labels) {
    Json out = Json::object();
    for (const auto& l : labels) {
        auto kv = split_once(l, '=');
        out[kv ? kv->first : l] = kv ? kv->second : "";
    }
    return out;
}

// "1700000000.000000005": a time as the API's since/until take it.
std::string api_time(int64_t ns) {
    char frac[16];
    std::snprintf(frac, sizeof frac, "%09lld", static_cast<long long>(ns % 1000000000));
    return std::to_string(ns / 1000000000) + "." + frac;
}

// ctl's remote face (engine/backend.hpp): each verb as the Engine API's calls.
class Remote final : public engine::Backend {
public:
    explicit Remote(const RemoteTarget& t) : c_(t.host, t.tls) {}

    void print(const std::string& s) {
        std::fwrite(s.data(), 1, s.size(), stdout);
        std::fflush(stdout);
    }

    std::string container_path(const std::string& ref) { return "/containers/" + url_encode(ref); }
    Json inspect_container(const std::string& ref) { return c_.get(container_path(ref) + "/json"); }

    // ---- images
    void pull(const std::string& ref, bool quiet) override {
        std::string image = ref, tag;
        auto at = ref.find('@');
        auto slash = ref.rfind('/');
        auto colon = ref.rfind(':');
        if (at != std::string::npos) {
            image = ref.substr(0, at);
            tag = ref.substr(at + 1);
        } else if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
            image = ref.substr(0, colon);
            tag = ref.substr(colon + 1);
        } else {
            tag = "latest";
        }
        std::string err_body;
        std::string pending, failure;
        int st = c_.stream("POST", "/images/create?fromImage=" + url_encode(image) + "&tag=" + url_encode(tag), "",
                           [&](std::string_view d) {
                               pending.append(d);
                               size_t nl;
                               while ((nl = pending.find('\n')) != std::string::npos) {
                                   std::string line = pending.substr(0, nl);
                                   pending.erase(0, nl + 1);
                                   Json j = try_parse_json(line);
                                   if (j.is_discarded()) continue;
                                   if (j.contains("error")) failure = j.value("error", "pull failed");
                                   else if (!quiet && j.contains("status")) {
                                       std::string s = j.value("status", "");
                                       if (s == "Downloading" || s == "Pushing") continue;
                                       std::string id = j.value("id", "");
                                       std::fprintf(stderr, "%s%s\n", id.empty() ? "" : (id + ": ").c_str(), s.c_str());
                                   }
                               }
                           },
                           &err_body);
        if (st >= 400) throw_api_error(st, err_body);
        if (!failure.empty()) throw Error(failure, ErrorKind::remote);
        print(engine::normalize_reference(ref) + "\n");
    }

    void push(const std::string& ref, bool quiet) override {
        std::string name = ref, tag;
        auto slash = ref.rfind('/');
        auto colon = ref.rfind(':');
        if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
            name = ref.substr(0, colon);
            tag = ref.substr(colon + 1);
        }
        std::string err_body, pending, failure;
        int st = c_.stream("POST", "/images/" + name + "/push" + (tag.empty() ? "" : "?tag=" + url_encode(tag)), "",
                           [&](std::string_view d) {
                               pending.append(d);
                               size_t nl;
                               while ((nl = pending.find('\n')) != std::string::npos) {
                                   Json j = try_parse_json(pending.substr(0, nl));
                                   pending.erase(0, nl + 1);
                                   if (j.is_discarded()) continue;
                                   if (j.contains("error")) failure = j.value("error", "push failed");
                                   else if (!quiet && j.contains("status") && j.value("status", "") != "Pushing") {
                                       std::string id = j.value("id", "");
                                       std::fprintf(stderr, "%s%s\n", id.empty() ? "" : (id + ": ").c_str(), j.value("status", "").c_str());
                                   }
                               }
                           },
                           &err_body, "");
        if (st >= 400) throw_api_error(st, err_body);
        if (!failure.empty()) throw Error(failure, ErrorKind::remote);
    }

    void images(const engine::ListOptions& o, const std::string& repo) override {
        Json f = Json::object();
        for (const auto& [k, vs] : engine::image_list_filters(o, repo))
            for (const auto& v : vs) f[k][v] = true;
        Json list = c_.get("/images/json" + std::string(o.all ? "?all=1" : "") +
                           (f.empty() ? "" : std::string(o.all ? "&" : "?") + "filters=" + url_encode(dump_compact(f))));
        std::vector<Json> entries;
        for (const auto& img : list) entries.push_back(img);
        print(engine::render_images(entries, o));
    }

    void history(const engine::HistoryRequest& h) override {
        print(engine::render_history(c_.get("/images/" + h.image + "/history"), h.no_trunc, h.quiet, h.human, h.format));
    }

    void rmi(const std::vector<std::string>& refs, bool force) override {
        each(refs, false, [&](const std::string& r) {
            ClientResponse res = c_.request("DELETE", "/images/" + r + (force ? "?force=1" : ""));
            if (res.status >= 400) throw_api_error(res.status, res.body);
            for (const auto& x : parse_json_text(res.body, "daemon response")) {
                if (x.contains("Untagged")) print("Untagged: " + x["Untagged"].get<std::string>() + "\n");
                if (x.contains("Deleted")) print("Deleted: " + x["Deleted"].get<std::string>() + "\n");
            }
        });
    }

    void tag(const std::string& src, const std::string& dst) override {
        std::string full = engine::normalize_reference(dst);
        auto at = full.find('@');
        std::string repo = at == std::string::npos ? full.substr(0, full.rfind(':')) : full.substr(0, at);
        std::string t = at == std::string::npos ? full.substr(full.rfind(':') + 1) : "";
        c_.post("/images/" + src + "/tag?repo=" + url_encode(repo) + "&tag=" + url_encode(t));
    }

    void save(const std::vector<std::string>& refs, const std::string& output) override {
        std::string q;
        for (const auto& r : refs) q += (q.empty() ? "?" : "&") + std::string("names=") + url_encode(r);
        download("/images/get" + q, output);
    }

    void diff(const std::string& ref) override {
        ClientResponse r = c_.request("GET", container_path(ref) + "/changes");
        if (r.status >= 400) throw_api_error(r.status, r.body);
        Json changes = try_parse_json(r.body);
        print(engine::render_changes(changes.is_array() ? changes : Json::array()));
    }

    void export_container(const std::string& ref, const std::string& output) override {
        download(container_path(ref) + "/export", output);
    }

    // A tar answer (save, export) into FILE by a temp name, renamed when
    // complete, or to stdout (never a terminal, as docker refuses it).
    void download(const std::string& path, const std::string& output) {
        UniqueFd file;
        int fd = STDOUT_FILENO;
        std::string tmp;
        if (!output.empty()) {
            tmp = output + ".tmp-" + random_hex(4);
            file = open_path(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            fd = file.get();
        } else if (is_terminal(STDOUT_FILENO)) {
            usage("cowardly refusing to save to a terminal. Use the -o flag or redirect");
        }
        std::string err;
        int st = c_.stream("GET", path, "", [&](std::string_view d) { write_all(fd, d, "archive"); }, &err);
        if (st >= 400) {
            if (!tmp.empty()) ::unlink(tmp.c_str());
            throw_api_error(st, err);
        }
        if (!tmp.empty() && ::rename(tmp.c_str(), output.c_str()) < 0) throw_errno("rename", output);
    }

    void load(const std::string& input, bool) override {
        UniqueFd file;
        int fd = STDIN_FILENO;
        if (!input.empty()) {
            file = open_path(input, O_RDONLY | O_CLOEXEC);
            fd = file.get();
        }
        ClientResponse r = c_.upload("POST", "/images/load", pieces_of(fd), "application/x-tar");
        if (r.status >= 400) throw_api_error(r.status, r.body);
        for (const auto& line : split(r.body, '\n')) {
            Json j = try_parse_json(line);
            if (!j.is_discarded() && j.contains("stream")) print(j["stream"].get<std::string>());
        }
    }

    void import(const std::string& source, const std::string& ref, const std::vector<std::string>& changes,
                const std::string& message, const std::string&) override {
        UniqueFd file;
        int fd = STDIN_FILENO;
        if (source != "-") {
            file = open_path(source, O_RDONLY | O_CLOEXEC);
            fd = file.get();
        }
        std::string q = "/images/create?fromSrc=-";
        if (!ref.empty()) {
            std::string full = engine::normalize_reference(ref);
            q += "&repo=" + url_encode(full.substr(0, full.rfind(':'))) + "&tag=" + url_encode(full.substr(full.rfind(':') + 1));
        }
        if (!message.empty()) q += "&message=" + url_encode(message);
        for (const auto& c : changes) q += "&changes=" + url_encode(c);
        ClientResponse r = c_.upload("POST", q, pieces_of(fd), "application/x-tar");
        if (r.status >= 400) throw_api_error(r.status, r.body);
        Json j = try_parse_json(trim(r.body));
        print((j.is_object() ? j.value("status", "") : std::string(trim(r.body))) + "\n");
    }

    void commit(const engine::CommitOptions& o) override {
        std::string q = "/commit?container=" + url_encode(o.container);
        if (!o.reference.empty()) {
            std::string full = engine::normalize_reference(o.reference);
            auto at = full.find('@');
            std::string repo = at == std::string::npos ? full.substr(0, full.rfind(':')) : full.substr(0, at);
            q += "&repo=" + url_encode(repo);
            if (at == std::string::npos) q += "&tag=" + url_encode(full.substr(full.rfind(':') + 1));
        }
        if (!o.message.empty()) q += "&comment=" + url_encode(o.message);
        if (!o.author.empty()) q += "&author=" + url_encode(o.author);
        for (const auto& c : o.changes) q += "&changes=" + url_encode(c);
        print(c_.post(q).value("Id", "") + "\n");
    }

    int build(const engine::BuildRequest&) override { usage("\"build\" is not available with -H"); }
    int login(const std::vector<std::string>&) override { no_credentials(); }
    int logout(const std::vector<std::string>&) override { no_credentials(); }
    [[noreturn]] static void no_credentials() {
        usage("login and logout work on this machine's credentials: run them without -H");
    }

    // ---- containers
    void create(const engine::RunFlags& f) override { print(create_container(f) + "\n"); }

    std::string create_container(const engine::RunFlags& f) {
        engine::CreateRequest req = engine::request_from_flags(f);
        Json body = req.config;
        body["HostConfig"] = req.host_config;
        body["NetworkingConfig"] = req.networking;
        if (f.tty) {
            auto [rows, cols] = terminal_size();
            if (rows > 0) body["HostConfig"]["ConsoleSize"] = Json::array({rows, cols});
        }
        std::string path = "/containers/create" + (f.name.empty() ? "" : "?name=" + url_encode(f.name));
        ClientResponse r = c_.request("POST", path, dump_compact(body));
        if (r.status == 404 && f.pull != "never" && r.body.find("No such image") != std::string::npos) {
            std::fprintf(stderr, "Unable to find image '%s' locally\n", f.image.c_str());
            pull(f.image, false);
            r = c_.request("POST", path, dump_compact(body));
        }
        if (r.status >= 400) throw_api_error(r.status, r.body);
        return parse_json_text(r.body, "daemon response").value("Id", "");
    }

    // attach (+stdin) until the stream ends; the exit status from a wait issued before start.
    int attach_and_start(const std::string& id, bool tty, bool interactive, bool start, const std::string& condition) {
        std::string q = "/containers/" + id + "/attach?stream=1&stdout=1&stderr=1" + std::string(interactive ? "&stdin=1" : "");
        std::unique_ptr<Transport> t = c_.hijack(q);
        std::atomic<int> status{-1};
        std::string wait_error;
        std::thread waiter([&] {
            try {
                std::string body, err;
                int st = c_.stream("POST", "/containers/" + id + "/wait?condition=" + condition, "",
                                   [&](std::string_view d) { body.append(d); }, &err);
                if (st >= 400) {
                    wait_error = err;
                    return;
                }
                Json j = try_parse_json(body);
                if (j.is_object()) status = j.value("StatusCode", 0);
            } catch (const std::exception& e) {
                wait_error = e.what();
            }
        });
        std::unique_ptr<Terminal> raw;
        if (start) {
            try {
                c_.post("/containers/" + id + "/start");
            } catch (...) {
                t->close_write();
                waiter.detach();
                throw;
            }
        }
        if (tty && is_terminal(STDIN_FILENO)) {
            raw = std::make_unique<Terminal>(STDIN_FILENO);
            auto [rows, cols] = terminal_size();
            if (rows > 0) c_.request("POST", "/containers/" + id + "/resize?h=" + std::to_string(rows) + "&w=" + std::to_string(cols));
            ::signal(SIGWINCH, on_winch);
        }
        pump(*t, tty, interactive, [&](int rows, int cols) {
            c_.request("POST", "/containers/" + id + "/resize?h=" + std::to_string(rows) + "&w=" + std::to_string(cols));
        });
        raw.reset();
        waiter.join();
        if (status < 0) {
            if (!wait_error.empty()) throw Error("waiting for " + short_id(id) + ": " + wait_error);
            return 125;
        }
        return status;
    }

    // Copies stdin to the stream and the stream to stdout/stderr until the daemon ends it.
    void pump(Transport& t, bool tty, bool send_stdin, const std::function<void(int, int)>& resize) {
        Demux demux;
        bool in_open = send_stdin;
        if (!send_stdin) t.close_write();
        for (;;) {
            if (g_winch.exchange(false)) {
                auto [rows, cols] = terminal_size();
                if (rows > 0) resize(rows, cols);
            }
            pollfd p[2] = {{t.fd(), POLLIN, 0}, {STDIN_FILENO, static_cast<short>(in_open ? POLLIN : 0), 0}};
            int n = t.buffered() ? 1 : ::poll(p, in_open ? 2 : 1, 500);
            if (n < 0 && errno != EINTR) break;
            if (t.buffered() || (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
                char buf[65536];
                size_t got = 0;
                try {
                    got = t.read_some(buf, sizeof buf);
                } catch (const std::exception&) {
                    break;
                }
                if (got == 0) break;
                if (tty) write_all(STDOUT_FILENO, std::string_view(buf, got), "output");
                else demux.feed(std::string_view(buf, got));
            }
            if (in_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
                char buf[65536];
                ssize_t got = ::read(STDIN_FILENO, buf, sizeof buf);
                if (got <= 0) {
                    in_open = false;
                    if (!tty) t.close_write();
                } else {
                    try {
                        t.write_all(std::string_view(buf, static_cast<size_t>(got)));
                    } catch (const std::exception&) {
                        in_open = false;
                    }
                }
            }
        }
    }

    int run(const engine::RunFlags& f) override {
        std::string id = create_container(f);
        if (f.detach) {
            c_.post("/containers/" + id + "/start");
            print(id + "\n");
            return 0;
        }
        return attach_and_start(id, f.tty, f.interactive, true, f.rm ? "removed" : "next-exit");
    }

    int start(const std::vector<std::string>& refs, bool attach, bool interactive) override {
        if (attach && refs.size() > 1) usage("you cannot start and attach multiple containers at once");
        if (attach) {
            Json c = inspect_container(refs[0]);
            bool tty = c["Config"].value("Tty", false);
            return attach_and_start(c.value("Id", ""), tty, interactive, true, "next-exit");
        }
        each(refs, true, [&](const std::string& r) { c_.post(container_path(r) + "/start"); });
        return 0;
    }

    int exec(const std::string& ref, const engine::ExecRequest& r) override {
        Json body = {{"User", r.user}, {"Privileged", false}, {"Tty", r.tty}, {"AttachStdin", r.interactive && !r.detach},
                     {"AttachStdout", !r.detach}, {"AttachStderr", !r.detach}, {"Detach", r.detach}, {"Env", r.env},
                     {"WorkingDir", r.workdir}, {"Cmd", r.cmd}};
        if (r.tty) {
            auto [rows, cols] = terminal_size();
            if (rows > 0) body["ConsoleSize"] = Json::array({rows, cols});
        }
        std::string id = c_.post(container_path(ref) + "/exec", body).value("Id", "");
        Json start = {{"Detach", r.detach}, {"Tty", r.tty}};
        if (r.detach) {
            c_.post("/exec/" + id + "/start", start);
            return 0;
        }
        std::unique_ptr<Transport> t = c_.hijack("/exec/" + id + "/start", dump_compact(start), "application/json");
        std::unique_ptr<Terminal> raw;
        if (r.tty && is_terminal(STDIN_FILENO)) {
            raw = std::make_unique<Terminal>(STDIN_FILENO);
            auto [rows, cols] = terminal_size();
            if (rows > 0) c_.request("POST", "/exec/" + id + "/resize?h=" + std::to_string(rows) + "&w=" + std::to_string(cols));
            ::signal(SIGWINCH, on_winch);
        }
        pump(*t, r.tty, r.interactive, [&](int rows, int cols) {
            c_.request("POST", "/exec/" + id + "/resize?h=" + std::to_string(rows) + "&w=" + std::to_string(cols));
        });
        raw.reset();
        Json info = c_.get("/exec/" + id + "/json");
        return info["ExitCode"].is_number() ? info["ExitCode"].get<int>() : 125;
    }

    int attach(const std::string& ref) override {
        Json c = inspect_container(ref);
        return attach_and_start(c.value("Id", ""), c["Config"].value("Tty", false), false, false, "next-exit");
    }

    void logs(const std::string& ref, const engine::LogOptions& o) override {
        Json c = inspect_container(ref);
        bool tty = c["Config"].value("Tty", false);
        std::string q = "/containers/" + c.value("Id", "") + "/logs?stdout=1&stderr=1&tail=" + url_encode(o.tail.empty() ? "all" : o.tail);
        if (o.follow) q += "&follow=1";
        if (o.timestamps) q += "&timestamps=1";
        if (o.since_ns) q += "&since=" + api_time(*o.since_ns);
        if (o.until_ns) q += "&until=" + api_time(*o.until_ns);
        Demux demux;
        std::string err;
        int st = c_.stream("GET", q, "", [&](std::string_view d) {
            if (tty) write_all(STDOUT_FILENO, d, "output");
            else demux.feed(d);
        }, &err);
        if (st >= 400) throw_api_error(st, err);
    }

    void ps(const engine::ListOptions& o) override {
        std::string q = "/containers/json?";
        engine::ContainerListQuery lq = engine::container_list_query(o);
        if (lq.all) q += "all=1&";
        if (lq.limit > 0) q += "limit=" + std::to_string(lq.limit) + "&";
        if (lq.size) q += "size=1&";
        if (!o.filters.empty()) q += "filters=" + url_encode(filters_json(o.filters));
        Json list = c_.get(q);
        std::vector<Json> entries;
        for (const auto& e : list) entries.push_back(e);
        print(engine::render_ps(entries, o));
    }

    template <typename F> void each(const std::vector<std::string>& refs, bool echo, F f) {
        std::string failed;
        for (const auto& r : refs) {
            try {
                f(r);
                if (echo) print(r + "\n");
            } catch (const Error& e) {
                if (refs.size() == 1) throw;
                std::fprintf(stderr, "Error response from daemon: %s\n", e.what());
                failed = e.what();
            }
        }
        if (!failed.empty()) throw Error(failed);
    }

    void stop(const std::vector<std::string>& refs, std::optional<int> t) override { stop_or_restart(refs, "stop", t); }
    void restart(const std::vector<std::string>& refs, std::optional<int> t) override { stop_or_restart(refs, "restart", t); }
    void stop_or_restart(const std::vector<std::string>& refs, const std::string& verb, std::optional<int> t) {
        each(refs, true, [&](const std::string& r) {
            ClientResponse res = c_.request("POST", container_path(r) + "/" + verb + (t ? "?t=" + std::to_string(*t) : ""));
            if (res.status >= 400) throw_api_error(res.status, res.body);
        });
    }

    void kill(const std::vector<std::string>& refs, const std::string& sig) override {
        each(refs, true, [&](const std::string& x) {
            c_.post(container_path(x) + "/kill" + (sig.empty() ? "" : "?signal=" + url_encode(sig)));
        });
    }

    void rm(const std::vector<std::string>& refs, bool force, bool volumes) override {
        std::string q = std::string(force ? "force=1&" : "") + (volumes ? "v=1" : "");
        each(refs, true, [&](const std::string& x) { c_.del(container_path(x) + (q.empty() ? "" : "?" + q)); });
    }

    void pause(const std::vector<std::string>& refs) override { post_each(refs, "pause"); }
    void unpause(const std::vector<std::string>& refs) override { post_each(refs, "unpause"); }
    void post_each(const std::vector<std::string>& refs, const std::string& verb) {
        each(refs, true, [&](const std::string& x) { c_.post(container_path(x) + "/" + verb); });
    }

    void rename(const std::string& ref, const std::string& name) override {
        c_.post(container_path(ref) + "/rename?name=" + url_encode(name));
    }

    void container_prune(bool) override {
        print(engine::render_system_prune(c_.post("/containers/prune"), Json(), Json(), Json(), Json()));
    }

    Json prune_images(bool all) {
        return c_.post("/images/prune?filters=" + url_encode(all ? R"({"dangling":["false"]})" : R"({"dangling":["true"]})"));
    }

    void image_prune(bool all) override {
        Json j = prune_images(all);
        print(engine::render_deleted_images(j.value("ImagesDeleted", Json())) + "Total reclaimed space: " +
              engine::human_size4(j.value("SpaceReclaimed", 0)) + "\n");
    }

    void system_df(bool verbose, const std::string& format) override {
        print(engine::render_disk_usage(c_.get("/system/df"), verbose, format));
    }

    void system_prune(bool all, bool volumes) override {
        // docker system prune's calls, in its order
        Json containers = c_.post("/containers/prune");
        Json networks = c_.post("/networks/prune");
        Json vols = volumes ? c_.post("/volumes/prune") : Json();
        Json images = prune_images(all);
        Json cache = c_.post("/build/prune");
        print(engine::render_system_prune(containers, networks, vols, images, cache));
    }

    int wait(const std::vector<std::string>& refs) override {
        each(refs, false, [&](const std::string& r) {
            std::string body, err;
            int st = c_.stream("POST", container_path(r) + "/wait", "", [&](std::string_view d) { body.append(d); }, &err);
            if (st >= 400) throw_api_error(st, err);
            print(std::to_string(parse_json_text(body, "daemon response").value("StatusCode", 0)) + "\n");
        });
        return 0;
    }

    void top(const std::string& ref, const std::vector<std::string>& args) override {
        Json t = c_.get(container_path(ref) + "/top" + (args.empty() ? "" : "?ps_args=" + url_encode(join(args, " "))));
        std::vector<std::string> lines = {join(t["Titles"].get<std::vector<std::string>>(), "\t")};
        for (const auto& p : t["Processes"]) lines.push_back(join(p.get<std::vector<std::string>>(), "\t"));
        print(engine::tabulate(lines));
    }

    void port(const std::string& ref, const std::string& private_port) override {
        Json ports = inspect_container(ref)["NetworkSettings"].value("Ports", Json::object());
        std::string want = private_port;
        if (!want.empty() && want.find('/') == std::string::npos) want += "/tcp";
        bool found = false;
        for (auto it = ports.begin(); it != ports.end(); ++it) {
            if (it.value().is_null() || (!want.empty() && it.key() != want)) continue;
            for (const auto& b : it.value()) {
                std::string line = b.value("HostIp", "") + ":" + b.value("HostPort", "");
                print(want.empty() ? it.key() + " -> " + line + "\n" : line + "\n");
                found = true;
            }
        }
        if (!want.empty() && !found) throw_not_found("No public port '" + want + "' published for " + ref);
    }

    void cp(const std::string& src, const std::string& dst) override {
        auto container_side = [](const std::string& s) {
            if (s.empty() || s[0] == '/' || s[0] == '.') return std::string::npos;
            auto c = s.find(':');
            return c == 0 ? std::string::npos : c;
        };
        size_t sc = container_side(src), dc = container_side(dst);
        if ((sc == std::string::npos) == (dc == std::string::npos))
            usage("copying between containers or between host paths is not supported: one side must be CONTAINER:PATH");
        ::signal(SIGPIPE, SIG_IGN); // img-pack may stop reading: EPIPE rather than death
        auto absolute = [](const std::string& p) {
            if (!p.empty() && p[0] == '/') return p;
            char cwd[4096];
            if (!::getcwd(cwd, sizeof cwd)) throw_errno("getcwd");
            return std::string(cwd) + "/" + p;
        };
        if (sc != std::string::npos) {
            std::string ctr = src.substr(0, sc), path = src.substr(sc + 1);
            std::string dest = absolute(dst);
            std::string err;
            std::string q = container_path(ctr) + "/archive?path=" + url_encode(path);
            // Extract into a scratch directory beside the destination, then rename into place.
            std::string parent = dest.substr(0, dest.rfind('/') == 0 ? 1 : dest.rfind('/'));
            bool into_dir = ::access(dest.c_str(), F_OK) == 0 && [&] {
                struct stat st;
                return ::stat(dest.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
            }();
            std::string target_dir = into_dir ? dest : parent;
            engine::tools::PackExtract x;
            x.root = "/";
            x.dir = target_dir;
            x.no_overwrite_dir_non_dir = true;
            x.same_owner = false; // as docker cp: the copy belongs to the caller
            PipedProcess extract(engine::tools::pack_extract(x), PipedProcess::End::stdin_of);
            std::map<std::string, std::string> headers;
            int st = 0;
            try {
                st = c_.stream("GET", q, "", [&](std::string_view d) { write_all(extract.fd(), d, "archive"); }, &err, "", &headers);
            } catch (const std::exception&) {
            }
            ProcessResult p = extract.wait();
            if (st >= 400) throw_api_error(st, err);
            if (!p.ok()) throw Error(engine::last_line(p.err), error_kind_of_exit(p.status));
            if (!into_dir) {
                std::string base = path.substr(path.find_last_not_of('/') == std::string::npos ? 0 : 0);
                while (base.size() > 1 && base.back() == '/') base.pop_back();
                base = base.substr(base.rfind('/') + 1);
                std::string extracted = target_dir + "/" + base;
                if (extracted != dest && ::rename(extracted.c_str(), dest.c_str()) < 0) throw_errno("rename", dest);
            }
            return;
        }
        std::string ctr = dst.substr(0, dc), path = dst.substr(dc + 1);
        std::string source = absolute(src);
        std::string name = source;
        while (name.size() > 1 && name.back() == '/') name.pop_back();
        name = name.substr(name.rfind('/') + 1);
        // Copy into a directory of the container, or as a new name beside it.
        std::string dest_dir = path;
        ClientResponse head = c_.request("HEAD", container_path(ctr) + "/archive?path=" + url_encode(path));
        if (head.status == 404) {
            while (dest_dir.size() > 1 && dest_dir.back() == '/') dest_dir.pop_back();
            std::string newname = dest_dir.substr(dest_dir.rfind('/') + 1);
            dest_dir = dest_dir.substr(0, dest_dir.rfind('/'));
            if (dest_dir.empty()) dest_dir = "/";
            name = newname;
        } else if (head.status >= 400) {
            throw_api_error(head.status, head.body);
        }
        PipedProcess tar(engine::tools::pack_archive("/", source, name), PipedProcess::End::stdout_of);
        ClientResponse r = c_.upload("PUT", container_path(ctr) + "/archive?path=" + url_encode(dest_dir) + "&noOverwriteDirNonDir=true",
                                     pieces_of(tar.fd()), "application/x-tar");
        ProcessResult p = tar.wait();
        if (!p.ok() && p.status != 128 + SIGPIPE) throw Error(engine::last_line(p.err), error_kind_of_exit(p.status));
        if (r.status >= 400) throw_api_error(r.status, r.body);
    }

    // `docker network|volume inspect`: the documents at /<collection>/<name>.
    void inspect_each(const std::string& collection, const std::vector<std::string>& names, const std::string& format) {
        std::vector<Json> objects;
        for (const auto& n : names) objects.push_back(c_.get("/" + collection + "/" + url_encode(n)));
        print_inspect(objects, format);
    }

    void print_inspect(const std::vector<Json>& objects, const std::string& format) {
        print(engine::render_inspect(objects, format));
    }

    void inspect(const std::vector<std::string>& refs, const std::string& format, const std::string& type) override {
        std::vector<Json> found;
        std::string missing;
        for (const auto& r : refs) {
            std::optional<Json> hit;
            for (const auto& [kind, path] : std::vector<std::pair<std::string, std::string>>{
                     {"container", container_path(r) + "/json"}, {"image", "/images/" + r + "/json"},
                     {"network", "/networks/" + url_encode(r)}, {"volume", "/volumes/" + url_encode(r)}}) {
                if (!type.empty() && type != kind) continue;
                ClientResponse res = c_.request("GET", path);
                if (res.status == 200) {
                    hit = parse_json_text(res.body, "daemon response");
                    break;
                }
                if (res.status != 404) throw_api_error(res.status, res.body);
            }
            if (hit) found.push_back(*hit);
            else missing = r;
        }
        print_inspect(found, format);
        if (!missing.empty()) throw_not_found("No such object: " + missing);
    }

    // ---- networks and volumes
    void network_create(const engine::NetworkCreateRequest& n) override {
        Json body = {{"Name", n.name}, {"CheckDuplicate", true}, {"Driver", n.driver.empty() ? "bridge" : n.driver},
                     {"Internal", n.internal}, {"Attachable", n.attachable},
                     {"Labels", labels_json(n.labels)}, {"Options", labels_json(n.options)}};
        Json ipam = {{"Driver", "default"}, {"Config", Json::array()}};
        if (!n.subnet.empty()) {
            Json cfg = {{"Subnet", n.subnet}};
            if (!n.gateway.empty()) cfg["Gateway"] = n.gateway;
            ipam["Config"].push_back(cfg);
        }
        body["IPAM"] = ipam;
        print(c_.post("/networks/create", body).value("Id", "") + "\n");
    }

    void network_inspect(const std::vector<std::string>& names, const std::string& format) override {
        inspect_each("networks", names, format);
    }

    void network_rm(const std::vector<std::string>& names) override {
        each(names, true, [&](const std::string& n) { c_.del("/networks/" + url_encode(n)); });
    }

    void network_connect(const std::string& network, const std::string& container, const std::vector<std::string>& aliases,
                         const std::string& ip) override {
        Json ep = {{"Aliases", aliases}};
        if (!ip.empty()) ep["IPAMConfig"] = {{"IPv4Address", ip}};
        c_.post("/networks/" + url_encode(network) + "/connect", Json{{"Container", container}, {"EndpointConfig", ep}});
    }

    void network_disconnect(const std::string& network, const std::string& container, bool force) override {
        c_.post("/networks/" + url_encode(network) + "/disconnect", Json{{"Container", container}, {"Force", force}});
    }

    void network_prune(bool) override {
        Json j = c_.post("/networks/prune");
        if (j.contains("NetworksDeleted") && j["NetworksDeleted"].is_array() && !j["NetworksDeleted"].empty()) {
            print("Deleted Networks:\n");
            for (const auto& n : j["NetworksDeleted"]) print(n.get<std::string>() + "\n");
        }
    }

    void volume_create(const engine::VolumeCreateRequest& v) override {
        Json body = {{"Name", v.name}, {"Driver", v.driver.empty() ? "local" : v.driver},
                     {"Labels", labels_json(v.labels)}, {"DriverOpts", labels_json(v.options)}};
        print(c_.post("/volumes/create", body).value("Name", "") + "\n");
    }

    void volume_inspect(const std::vector<std::string>& names, const std::string& format) override {
        inspect_each("volumes", names, format);
    }

    void volume_rm(const std::vector<std::string>& names, bool force) override {
        each(names, true, [&](const std::string& n) { c_.del("/volumes/" + url_encode(n) + (force ? "?force=1" : "")); });
    }

    void volume_prune(bool, bool all) override {
        Json j = c_.post(all ? "/volumes/prune?filters=" + url_encode("{\"all\":[\"true\"]}") : "/volumes/prune");
        if (j.contains("VolumesDeleted") && j["VolumesDeleted"].is_array() && !j["VolumesDeleted"].empty()) {
            print("Deleted Volumes:\n");
            for (const auto& n : j["VolumesDeleted"]) print(n.get<std::string>() + "\n");
            print("\n");
        }
        print("Total reclaimed space: " + engine::human_size_decimal(j.value("SpaceReclaimed", 0)) + "\n");
    }

    void network_ls(const engine::ListOptions& o) override {
        Json list = c_.get("/networks" + (o.filters.empty() ? "" : "?filters=" + url_encode(filters_json(o.filters))));
        std::vector<Json> entries;
        for (const auto& n : list) entries.push_back(n);
        print(engine::render_networks(entries, o));
    }

    void volume_ls(const engine::ListOptions& o) override {
        Json list = c_.get("/volumes" + (o.filters.empty() ? "" : "?filters=" + url_encode(filters_json(o.filters))));
        std::vector<Json> entries;
        for (const auto& v : list.value("Volumes", Json::array())) entries.push_back(v);
        print(engine::render_volumes(entries, o));
    }

    Client c_;
};

} // namespace

std::unique_ptr<engine::Backend> remote_backend(const RemoteTarget& target) { return std::make_unique<Remote>(target); }

} // namespace ctk::api
