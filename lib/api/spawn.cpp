#include "api/spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/process.hpp"

extern char** environ;

namespace ctk::api {

Spawned spawn(const std::vector<std::string>& argv, const SpawnOptions& o) {
    if (argv.empty()) throw Error("spawn: empty command", ErrorKind::usage);
    Spawned s;
    UniqueFd in_r, out_w, err_w;
    if (o.pipe_stdin) make_pipe(in_r, s.in);
    if (o.pipe_stdout) make_pipe(s.out, out_w);
    if (o.pipe_stderr) make_pipe(s.err, err_w);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    ScopeGuard fa_done([&] { posix_spawn_file_actions_destroy(&fa); });
    auto give = [&](int child, int mine, bool read) {
        if (mine >= 0) posix_spawn_file_actions_adddup2(&fa, mine, child);
        else posix_spawn_file_actions_addopen(&fa, child, "/dev/null", read ? O_RDONLY : O_WRONLY, 0);
    };
    give(0, o.pipe_stdin ? in_r.get() : o.stdin_fd, true);
    give(1, o.pipe_stdout ? out_w.get() : o.stdout_fd, false);
    give(2, o.pipe_stderr ? err_w.get() : o.stderr_fd, false);
    for (const auto& [child, mine] : o.extra_fds) posix_spawn_file_actions_adddup2(&fa, mine, child);

    SpawnAttr attr(o.new_session ? POSIX_SPAWN_SETSID : 0);

    std::vector<std::string> env = environment_with(o.extra_env);
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = argv;
    std::vector<char*> cargv;
    for (auto& a : args) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    int rc = posix_spawnp(&s.pid, cargv[0], &fa, attr.get(), cargv.data(), envp.data());
    if (rc != 0) throw_errno("execute", argv[0], rc);
    return s;
}

int wait_child(pid_t pid) {
    int ws = 0;
    while (::waitpid(pid, &ws, 0) < 0) {
        if (errno == EINTR) continue;
        return 255;
    }
    return exit_status(ws);
}

std::string read_all(int fd) {
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

} // namespace ctk::api
