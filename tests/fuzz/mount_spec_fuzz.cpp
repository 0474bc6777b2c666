// The mount and port flags of `ctl run`/`ctl create` and their Engine API
// forms in a create body: -v, --mount, --tmpfs, a command line of them, -p,
// and HostConfig.Mounts entries. The first byte picks the parser, the rest is
// the flag's value (for the API form: a JSON object).
#include "engine/container_spec.hpp"
#include "fuzz.hpp"
#include "volume/spec.hpp"

using namespace ctk;

namespace {

void check_request(const volume::MountRequest& r) {
    // what a parser accepts is an absolute, cleaned target
    if (r.target.empty() || r.target[0] != '/' || volume::clean_path(r.target) != r.target) std::abort();
    (void)r.describe();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    std::string_view s = fuzz::text(data + 1, size - 1);
    fuzz::expect_ok_or_rejected([&] {
        switch (data[0] % 6) {
        case 0: check_request(volume::parse_volume_flag(s)); break;
        case 1: check_request(volume::parse_mount_flag(s)); break;
        case 2: check_request(volume::parse_tmpfs_flag(s)); break;
        case 3: {
            std::vector<std::string> args;
            std::string_view rest = s;
            while (!rest.empty() && args.size() < 16) {
                auto parts = fuzz::split(rest, '\n');
                args.emplace_back(parts.first);
                rest = parts.second;
            }
            for (const auto& r : volume::parse_spec_args(args)) check_request(r);
            break;
        }
        case 4: {
            for (const auto& p : engine::parse_publish(std::string(s))) {
                if (p.container_port.empty()) std::abort();
            }
            break;
        }
        default: {
            Json j = try_parse_json(s);
            if (j.is_discarded()) return;
            check_request(volume::parse_api_mount(j));
            break;
        }
        }
    });
    (void)volume::valid_volume_name(s);
    (void)volume::clean_path(s);
    return 0;
}
