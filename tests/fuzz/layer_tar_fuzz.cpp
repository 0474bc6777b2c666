// Layer tar streams (an image's layers come from any registry or archive):
// the decompression and the extraction into a rootfs, flat (whiteouts delete)
// or as an overlay diff above a lower layer. Each input is applied to a fresh
// tree on a tmpfs of 64 MiB in a mount namespace of the fuzzer's own (root),
// else under $TMPDIR: a layer may fill it, never more.
// The first byte picks the compression and the mode, the rest is the blob.
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <unistd.h>

#include "core/fs.hpp"
#include "fuzz.hpp"
#include "image/extract.hpp"

using namespace ctk;
using namespace ctk::image;

namespace {

std::string base;  // the scratch directory
bool mounted = false;

void cleanup() {
    if (base.empty()) return;
    if (mounted) ::umount2((base + "/m").c_str(), MNT_DETACH);
    try {
        remove_tree(base);
    } catch (const std::exception&) {
    }
}

void setup() {
    const char* tmp = std::getenv("TMPDIR");
    std::string t = std::string(tmp && *tmp ? tmp : "/tmp") + "/ctk-fuzz-layer.XXXXXX";
    if (!::mkdtemp(t.data())) std::abort();
    base = t;
    make_dirs(base + "/m");
    if (::geteuid() == 0 && ::unshare(CLONE_NEWNS) == 0 &&
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
        ::mount("ctk-fuzz", (base + "/m").c_str(), "tmpfs", MS_NOSUID, "size=64m,mode=0700") == 0)
        mounted = true;
    std::atexit(cleanup);
    // the lower layer of the overlay mode
    make_dirs(base + "/m/lower/etc/sub");
    write_file_atomic(base + "/m/lower/etc/passwd", "root:x:0:0::/root:/bin/sh\n");
    ::symlinkat("/etc", AT_FDCWD, (base + "/m/lower/link").c_str());
}

UniqueFd memfd_with(std::string_view bytes) {
    UniqueFd fd(::memfd_create("layer", MFD_CLOEXEC));
    if (!fd) std::abort();
    write_all(fd.get(), bytes, "memfd");
    return fd;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    setup();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    unsigned mode = data[0] % 6;
    std::string_view blob = fuzz::text(data + 1, size - 1);
    oci::Compression c = mode == 2 ? oci::Compression::gzip : mode == 3 ? oci::Compression::zstd : oci::Compression::none;
    bool overlay = mode >= 4;
    std::string dir = base + "/m/target";
    make_dirs(dir);
    {
        UniqueFd fd = memfd_with(blob);
        UniqueFd target = open_dir(dir);
        ExtractOptions o;
        o.preserve_owners = ::geteuid() == 0;
        fuzz::expect_ok_or_rejected([&] {
            LayerStream stream({fd.get(), 0, blob.size()}, c, "layer fuzz");
            if (overlay) {
                UniqueFd lower = open_dir(base + "/m/lower");
                extract_overlay(stream, target.get(), {lower.get()}, "layer fuzz", o);
            } else {
                extract_flat(stream, target.get(), "layer fuzz", o);
            }
            (void)stream.finish();
        });
    }
    remove_tree(dir);
    return 0;
}
