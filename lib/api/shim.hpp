// The keeper of a container's stdin and terminal (Docker's containerd-shim,
// cut down to that one job).
//
// ns-run's monitor writes a container's stdout and stderr to its json-file
// log, so output needs nobody in between: attach and logs read the log. What
// the monitor does not hold is the other end of the container's stdin
// (docker run -i) and the master of its pty (docker run -t). If ctld held
// them, restarting ctld would close the stdin and hang up the terminal, and
// the container would end. So ctld starts a small process per such container,
// in its own session, that outlives ctld:
//   - it holds the write end of the stdin pipe, or the pty master (received
//     from ns-run over the console socket, as runc's --console-socket);
//   - with a pty it copies the terminal's output into the json-file log
//     (stream "stdout", as Docker logs a TTY), chunk by chunk so a prompt
//     shows at once;
//   - it listens on a control socket where ctld connects per attach:
//       "stdin\n" then raw bytes      → the container's stdin
//       "stdin-once\n" then raw bytes → the same, and stdin closes at the end
//       "resize H W\n"                → the pty's window size
//   - it exits when the container's side is gone (pty EIO, stdin pipe broken).
#pragma once

#include <sys/types.h>

#include <string>

#include "core/fd.hpp"

namespace ctk::api {

struct ShimSpec {
    std::string id;
    std::string log_path;  // TTY: the json-file log the shim writes
    std::string control;   // control socket path
    std::string console;   // TTY: console socket path (ns-run --console-socket)
    bool tty = false;
    int rows = 0, cols = 0; // TTY: initial window size
};

// The socket paths for a container (short, under $CTK_RUN/shim/: sun_path is 108 bytes).
ShimSpec shim_paths(const std::string& run_dir, const std::string& id);

// Starts the shim (ctld's own binary, re-executed), waits until its sockets
// listen. `stdin_write` (non-TTY) is the write end of the container's stdin
// pipe, handed over. Returns its pid.
pid_t start_shim(const ShimSpec& spec, int stdin_write);

// The shim's main(): argv = {"ctld", "--shim", ID, LOG, CONTROL, CONSOLE|-, TTY(0/1), ROWS, COLS}.
int shim_main(int argc, char** argv);

// ctld's side: a connection that carries stdin to the container. Throws when
// the shim is gone.
UniqueFd shim_stdin(const std::string& control, bool once);
// Sets the pty's window size. Throws when the shim is gone.
void shim_resize(const std::string& control, int rows, int cols);

} // namespace ctk::api
