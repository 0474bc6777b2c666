// sd-notify MESSAGE [PROGRAM ARGS...]: sends MESSAGE (\n-separated
// assignments, as sd_notify(3)) to $NOTIFY_SOCKET, then executes PROGRAM.
// Linked statically, so that a test can put it into any rootfs (busybox has
// no systemd-notify).
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: sd-notify MESSAGE [PROGRAM ARGS...]\n");
        return 2;
    }
    const char* path = std::getenv("NOTIFY_SOCKET");
    if (!path || !*path) {
        std::fprintf(stderr, "sd-notify: NOTIFY_SOCKET is not set\n");
        return 1;
    }
    sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    size_t len = std::strlen(path);
    if (len >= sizeof addr.sun_path) return 1;
    std::memcpy(addr.sun_path, path, len);
    if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';
    int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::sendto(fd, argv[1], std::strlen(argv[1]), 0, reinterpret_cast<sockaddr*>(&addr),
                           static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len)) < 0) {
        std::perror("sd-notify: send to NOTIFY_SOCKET");
        return 1;
    }
    ::close(fd);
    if (argc > 2) {
        ::execvp(argv[2], argv + 2);
        std::perror("sd-notify: exec");
        return 127;
    }
    return 0;
}
