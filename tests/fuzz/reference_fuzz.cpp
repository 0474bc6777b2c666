// Image references (ctl pull/run/tag, ctld's image routes, reg-fetch): the
// strict grammar, Docker's normalisation and the registry settings' variant.
// A reference that parses must print back to one that parses to the same.
#include <cstdlib>

#include "fuzz.hpp"
#include "oci/reference.hpp"
#include "registry/settings.hpp"

using namespace ctk;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view s = fuzz::text(data, size);
    fuzz::expect_ok_or_rejected([&] {
        oci::Reference r = oci::Reference::parse(s);
        oci::Reference again = oci::Reference::parse(r.str());
        if (again.str() != r.str()) std::abort();
    });
    fuzz::expect_ok_or_rejected([&] {
        oci::Reference r = oci::Reference::parse_normalized(s);
        (void)r.with_default_tag().familiar();
        (void)r.registry_host();
        oci::Reference again = oci::Reference::parse_normalized(r.str());
        if (again.str() != r.str()) std::abort();
    });
    fuzz::expect_ok_or_rejected([&] {
        registry::Settings settings;
        settings.default_registry = "127.0.0.1:5000";
        (void)settings.normalize(s).str();
    });
    (void)oci::is_hex_identifier(s);
    (void)registry::is_loopback_host(s);
    return 0;
}
