// docker-archive tars (img-pack load, img-unpack --archive read them from
// anyone): the tar index, manifest.json, the configs, links between members
// and Docker 25+'s index.json. The input is the whole archive, handed over as
// a memfd as the tools open a file.
#include <sys/mman.h>
#include <unistd.h>

#include "core/fd.hpp"
#include "core/fs.hpp"
#include "fuzz.hpp"
#include "image/docker_archive.hpp"

using namespace ctk;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    UniqueFd fd(::memfd_create("archive", MFD_CLOEXEC));
    if (!fd) std::abort();
    write_all(fd.get(), fuzz::text(data, size), "memfd");
    fuzz::expect_ok_or_rejected([&] {
        auto a = image::DockerArchive::open("/proc/self/fd/" + std::to_string(fd.get()));
        for (const auto& img : a.images())
            for (const auto& l : img.layers) if (l.member.size < 4096) (void)a.read(l.member, l.name);
    });
    return 0;
}
