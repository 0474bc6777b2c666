// The image documents a registry or a layout hands over (reg-fetch,
// img-unpack, ctl load): manifests, indexes, image configs, and the platform
// strings matched against an index. The first byte picks the document, the
// rest is its text.
#include "fuzz.hpp"
#include "oci/image.hpp"

using namespace ctk;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    std::string_view s = fuzz::text(data + 1, size - 1);
    fuzz::expect_ok_or_rejected([&] {
        switch (data[0] % 4) {
        case 0: {
            oci::Manifest m = oci::Manifest::parse(s, "manifest");
            for (const auto& l : m.layers) (void)l.digest;
            break;
        }
        case 1: (void)oci::Index::parse(s, "index"); break;
        case 2: (void)oci::ImageConfig::parse(s, "image config"); break;
        default: (void)oci::Platform::parse(s); break;
        }
    });
    return 0;
}
