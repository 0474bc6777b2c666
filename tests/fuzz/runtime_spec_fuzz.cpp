// config.json of a bundle (ns-run create/run): the whole runtime-spec parse
// with its range checks. What it accepts, written back as ctk writes it
// (Spec::save), must be accepted again.
#include <cstdlib>

#include "fuzz.hpp"
#include "oci/runtime_spec.hpp"

using namespace ctk;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string written;
    try {
        oci::Spec spec = oci::Spec::parse(fuzz::text(data, size), "config.json");
        Json j;
        to_json(j, spec);
        written = j.dump();
    } catch (const Error&) {
        return 0;
    }
    try {
        (void)oci::Spec::parse(written, "config.json written back");
    } catch (const Error&) {
        std::abort(); // accepted once, refused after a write: a spec ctk itself cannot read back
    }
    return 0;
}
