#include "store/config.hpp"

#include <cstdlib>

#include "core/fs.hpp"

namespace ctk::store {

std::string config_path() {
    const char* p = std::getenv("CTK_CONFIG");
    return (p && *p) ? p : default_config_path;
}

Json load_config() {
    std::string path = config_path();
    auto text = read_file_if_exists(path, 1u << 20);
    if (!text) return Json::object();
    Json j = parse_json(*text, path);
    if (!j.is_object()) throw_invalid(path + ": expected a JSON object");
    return j;
}

Json config_section(const Json& config, const char* name) {
    auto it = config.find(name);
    if (it == config.end() || it->is_null()) return Json::object();
    if (!it->is_object())
        throw_invalid(config_path() + ": section " + quote(name) + " is not an object");
    return *it;
}

} // namespace ctk::store
