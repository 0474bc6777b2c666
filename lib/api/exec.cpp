// Exec instances: POST /containers/{id}/exec, /exec/{id}/start|resize|json.
//
// `ns-run exec` runs the process in the container's namespaces and cgroup and
// waits for it; ctld is its parent, so its exit status is ctld's to report.
// Without a TTY ctld gives it pipes and frames its output; with a TTY ctld
// gives it a pty of its own (ns-run puts that terminal in raw mode and copies
// between it and the container's pty, resizing on SIGWINCH).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <thread>

#include "api/daemon.hpp"
#include "api/spawn.hpp"
#include "api/streams.hpp"
#include "api/util.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "engine/tools.hpp"

namespace ctk::api {

namespace {

std::vector<std::string> runtime_args(Daemon& d, const ExecInstance& x, const engine::ContainerRecord& r) {
    std::vector<std::string> a = {"exec"};
    if (x.tty) a.push_back("--tty");
    for (const auto& e : x.env) a.insert(a.end(), {"--env", e});
    if (!x.workdir.empty()) a.insert(a.end(), {"--cwd", x.workdir});
    if (!x.user.empty()) {
        std::string bundle = json_str(r.ctk(), "Bundle", d.paths().container(r.id) + "/bundle");
        a.insert(a.end(), {"--user", engine::container_user(bundle + "/rootfs", x.user)});
    }
    a.push_back(r.id);
    a.push_back("--");
    a.insert(a.end(), x.cmd.begin(), x.cmd.end());
    return engine::tools::runtime(d.paths(), a);
}

void set_winsize(int fd, int rows, int cols) {
    if (fd < 0 || rows <= 0 || cols <= 0) return;
    winsize ws{};
    ws.ws_row = static_cast<unsigned short>(rows);
    ws.ws_col = static_cast<unsigned short>(cols);
    ::ioctl(fd, TIOCSWINSZ, &ws);
}

std::string command_line(const ExecInstance& x) { return join(x.cmd, " "); }

void finished(Daemon& d, ExecInstance& x, int code, const engine::ContainerRecord& r) {
    {
        std::lock_guard<std::mutex> l(x.m);
        x.running = false;
        x.exit_code = code;
        x.master = -1;
    }
    d.container_event(r, "exec_die", {{"execID", x.id}, {"exitCode", std::to_string(code)}});
}

// An attached exec's end: its status recorded, then the client's stream
// closed (when the client is still there).
void finish_attached(Daemon& d, ExecInstance& x, pid_t pid, const engine::ContainerRecord& r, Transport& t,
                     bool client) {
    finished(d, x, wait_child(pid), r);
    if (!client) return;
    try {
        t.close_write();
    } catch (const std::exception&) {
    }
}

void check_running(Daemon& d, const engine::ContainerRecord& r) {
    engine::ContainerState st = d.engine().state(r);
    if (st.status == "paused") throw HttpError(409, "Container " + r.name + " is paused, unpause the container before exec");
    if (st.status != "running") throw HttpError(409, "Container " + r.id + " is not running");
}

void start(Daemon& d, Request& req, Response& res) {
    auto x = d.exec(req.params["id"]);
    Json body = json_body(req, d.options().json_body_limit);
    bool detach = json_get(body, "Detach", false) == true;
    engine::Engine e = d.engine();
    auto rec = e.containers().try_load(x->container);
    if (!rec) throw HttpError(404, "No such container: " + x->container);
    {
        std::lock_guard<std::mutex> l(x->m);
        if (x->started) throw HttpError(409, "Error: Exec command " + x->id + " has already run");
        x->started = true;
    }
    check_running(d, *rec);
    std::vector<std::string> argv = runtime_args(d, *x, *rec);
    d.container_event(*rec, "exec_start: " + command_line(*x), {{"execID", x->id}});

    if (detach) {
        SpawnOptions so;
        Spawned sp = spawn(argv, so);
        {
            std::lock_guard<std::mutex> l(x->m);
            x->running = true;
            x->runtime_pid = sp.pid;
        }
        std::thread([&d, x, r = *rec, pid = sp.pid] {
            try {
                finished(d, *x, wait_child(pid), r);
            } catch (const std::exception& e) {
                d.log(std::string("exec: ") + e.what());
            }
        }).detach();
        res.send(200, "", "");
        return;
    }

    if (x->tty) {
        UniqueFd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
        if (!master || ::grantpt(master.get()) < 0 || ::unlockpt(master.get()) < 0) throw_errno("open a pty");
        char name[128];
        if (::ptsname_r(master.get(), name, sizeof name) != 0) throw_errno("ptsname");
        UniqueFd slave(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
        if (!slave) throw_errno("open", name);
        set_winsize(master.get(), x->rows, x->cols);
        SpawnOptions so;
        so.stdin_fd = so.stdout_fd = so.stderr_fd = slave.get();
        so.new_session = true;
        Spawned sp = spawn(argv, so);
        slave.reset();
        {
            std::lock_guard<std::mutex> l(x->m);
            x->running = true;
            x->runtime_pid = sp.pid;
            x->master = master.get();
        }
        Transport& t = res.hijack(StdHeaders::all_but_date);
        bool client = true, in_open = true;
        for (;;) {
            pollfd p[2] = {{master.get(), POLLIN, 0},
                           {t.fd(), static_cast<short>(client && in_open ? (POLLIN | POLLRDHUP) : 0), 0}};
            int n = t.buffered() ? 1 : ::poll(p, 2, -1);
            if (n < 0 && errno != EINTR) break;
            if (p[0].revents) {
                char buf[65536];
                ssize_t got = ::read(master.get(), buf, sizeof buf);
                if (got <= 0 && errno != EINTR && errno != EAGAIN) break; // EIO: ns-run is gone
                if (got > 0 && client) {
                    try {
                        t.write_all(std::string_view(buf, static_cast<size_t>(got)));
                    } catch (const std::exception&) {
                        client = false;
                    }
                }
            }
            if (client && in_open && (t.buffered() || (p[1].revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR)))) {
                char buf[65536];
                size_t got = 0;
                try {
                    got = t.read_some(buf, sizeof buf);
                } catch (const std::exception&) {
                    client = false;
                }
                if (got == 0) in_open = false;
                else {
                    try {
                        write_all(master.get(), std::string_view(buf, got), "pty");
                    } catch (const std::exception&) {
                    }
                }
            }
        }
        {
            std::lock_guard<std::mutex> l(x->m);
            x->master = -1;
        }
        finish_attached(d, *x, sp.pid, *rec, t, client);
        return;
    }

    SpawnOptions so;
    so.pipe_stdin = x->attach_stdin;
    so.pipe_stdout = true;
    so.pipe_stderr = true;
    Spawned sp = spawn(argv, so);
    {
        std::lock_guard<std::mutex> l(x->m);
        x->running = true;
        x->runtime_pid = sp.pid;
    }
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, sp.pid, 0)));
    Transport& t = res.hijack(StdHeaders::all_but_date);
    bool client = true, in_open = true, exited = false;
    auto send = [&](int stream, std::string_view data) {
        if (!client) return;
        if (stream == 1 ? !x->attach_stdout : !x->attach_stderr) return;
        try {
            t.write_all(mux_frame(stream, data));
        } catch (const std::exception&) {
            client = false;
        }
    };
    while (sp.out || sp.err) {
        pollfd p[4];
        int n = 0, oi = -1, ei = -1, si = -1, pi = -1;
        if (sp.out) p[oi = n++] = {sp.out.get(), POLLIN, 0};
        if (sp.err) p[ei = n++] = {sp.err.get(), POLLIN, 0};
        p[si = n++] = {t.fd(), static_cast<short>(client && in_open ? (POLLIN | POLLRDHUP) : 0), 0};
        if (pidfd && !exited) p[pi = n++] = {pidfd.get(), POLLIN, 0};
        // once the process is gone, drain what is buffered without waiting
        // for a stray descendant that still holds the pipes
        int r = ::poll(p, static_cast<nfds_t>(n), exited ? 200 : -1);
        if (r < 0 && errno != EINTR) break;
        if (r == 0 && exited) break;
        if (pi >= 0 && p[pi].revents) exited = true;
        char buf[65536];
        if (oi >= 0 && p[oi].revents) {
            ssize_t got = ::read(sp.out.get(), buf, sizeof buf);
            if (got > 0) send(1, std::string_view(buf, static_cast<size_t>(got)));
            else if (got == 0 || errno != EINTR) sp.out.reset();
        }
        if (ei >= 0 && p[ei].revents) {
            ssize_t got = ::read(sp.err.get(), buf, sizeof buf);
            if (got > 0) send(2, std::string_view(buf, static_cast<size_t>(got)));
            else if (got == 0 || errno != EINTR) sp.err.reset();
        }
        if (client && in_open && (p[si].revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR))) {
            size_t got = 0;
            try {
                got = t.read_some(buf, sizeof buf);
            } catch (const std::exception&) {
                client = false;
            }
            if (got == 0) {
                in_open = false;
                sp.in.reset(); // CloseWrite: the end of the process's stdin
            } else if (sp.in) {
                try {
                    write_all(sp.in.get(), std::string_view(buf, got), "stdin");
                } catch (const std::exception&) {
                    sp.in.reset();
                }
            }
        }
    }
    sp.in.reset();
    finish_attached(d, *x, sp.pid, *rec, t, client);
}

} // namespace

void add_exec_routes(Router& r, Daemon& d) {
    r.add("POST", "/containers/{id}/exec", [&d](Request& req, Response& res) {
        engine::Engine e = d.engine();
        engine::ContainerRecord rec = e.containers().lookup(req.params["id"]);
        Json body = json_body(req, d.options().json_body_limit, true);
        auto x = std::make_shared<ExecInstance>();
        x->container = rec.id;
        x->cmd = json_strings(json_get(body, "Cmd", Json::array()));
        if (x->cmd.empty()) throw HttpError(400, "No exec command specified");
        x->env = json_strings(json_get(body, "Env", Json::array()));
        x->user = json_str(body, "User");
        x->workdir = json_str(body, "WorkingDir");
        x->tty = json_get(body, "Tty", false) == true;
        x->attach_stdin = json_get(body, "AttachStdin", false) == true;
        x->attach_stdout = json_get(body, "AttachStdout", false) == true;
        x->attach_stderr = json_get(body, "AttachStderr", false) == true;
        x->privileged = json_get(body, "Privileged", false) == true;
        Json size = json_get(body, "ConsoleSize", Json());
        if (size.is_array() && size.size() == 2 && size[0].is_number() && size[1].is_number()) {
            x->rows = size[0].get<int>();
            x->cols = size[1].get<int>();
        }
        if (x->privileged) throw HttpError(400, "privileged exec is not supported by ctk");
        check_running(d, rec);
        d.new_exec(x);
        d.container_event(rec, "exec_create: " + command_line(*x), {{"execID", x->id}});
        res.json(201, Json{{"Id", x->id}});
    });

    r.add("POST", "/exec/{id}/start", [&d](Request& req, Response& res) { start(d, req, res); });

    r.add("POST", "/exec/{id}/resize", [&d](Request& req, Response& res) {
        auto x = d.exec(req.params["id"]);
        int h = static_cast<int>(req.query().integer("h").value_or(0)), w = static_cast<int>(req.query().integer("w").value_or(0));
        std::lock_guard<std::mutex> l(x->m);
        x->rows = h;
        x->cols = w;
        if (x->master >= 0) {
            set_winsize(x->master, h, w);
            // ns-run reads the new size of its terminal on SIGWINCH
            if (x->runtime_pid > 0) ::kill(x->runtime_pid, SIGWINCH);
        }
        res.send(200, "text/plain; charset=utf-8", "");
    });

    r.add("GET", "/exec/{id}/json", [&d](Request& req, Response& res) {
        auto x = d.exec(req.params["id"]);
        std::lock_guard<std::mutex> l(x->m);
        Json args = Json::array();
        for (size_t i = 1; i < x->cmd.size(); i++) args.push_back(x->cmd[i]);
        res.json(200, Json{{"ID", x->id},
                           {"Running", x->running},
                           {"ExitCode", x->exit_code ? Json(*x->exit_code) : Json(nullptr)},
                           {"ProcessConfig", {{"tty", x->tty}, {"entrypoint", x->cmd.empty() ? "" : x->cmd[0]},
                                              {"arguments", args}, {"privileged", x->privileged}, {"user", x->user}}},
                           {"OpenStdin", x->attach_stdin},
                           {"OpenStderr", x->attach_stderr},
                           {"OpenStdout", x->attach_stdout},
                           {"CanRemove", false},
                           {"ContainerID", x->container},
                           {"DetachKeys", ""},
                           {"Pid", x->runtime_pid}});
    });
}

} // namespace ctk::api
