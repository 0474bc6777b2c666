#include "volume/spec.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <cstdio>
#include <optional>
#include <set>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "volume/mount_options.hpp"

namespace ctk::volume {

const char* to_string(MountType t) {
    switch (t) {
    case MountType::volume: return "volume";
    case MountType::bind: return "bind";
    case MountType::tmpfs: return "tmpfs";
    }
    return "?";
}

std::string clean_path(std::string_view p) {
    if (p.empty()) return ".";
    bool rooted = p.front() == '/';
    std::vector<std::string> parts;
    for (const auto& c : split(p, '/')) {
        if (c.empty() || c == ".") continue;
        if (c == "..") {
            if (!parts.empty() && parts.back() != "..") parts.pop_back();
            else if (!rooted) parts.push_back(c);
            continue;
        }
        parts.push_back(c);
    }
    std::string out = (rooted ? "/" : "") + join(parts, "/");
    return out.empty() ? "." : out;
}

bool valid_volume_name(std::string_view name) {
    auto alnum = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    };
    if (name.size() < 2 || !alnum(name[0])) return false;
    for (char c : name.substr(1))
        if (!alnum(c) && c != '_' && c != '.' && c != '-') return false;
    return true;
}

void check_volume_name(std::string_view name) {
    if (name.size() == 1)
        throw_invalid("volume name is too short, names should be at least two alphanumeric characters");
    if (!valid_volume_name(name))
        throw_invalid(quote(name) +
                      " includes invalid characters for a local volume name, only "
                      "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. "
                      "If you intended to pass a host directory, use absolute path");
}

std::string generate_volume_name() { return random_hex(32); }

namespace {

// An integer field of an API mount as Go's encoding/json reads it into Docker's
// type: a whole number that fits (0 when absent or null); a fraction, a
// boolean or a number out of range is refused (nlohmann would convert a float
// of any size, which is undefined behaviour past the type's range).
template <typename T> T api_integer(const Json& obj, const char* key, const char* field) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return T{0};
    using L = std::numeric_limits<T>;
    bool fits = false;
    if (it->is_number_unsigned()) fits = it->template get<uint64_t>() <= static_cast<uint64_t>(L::max());
    else if (it->is_number_integer()) {
        int64_t x = it->template get<int64_t>();
        fits = x < 0 ? L::is_signed && x >= static_cast<int64_t>(L::min()) : static_cast<uint64_t>(x) <= static_cast<uint64_t>(L::max());
    }
    if (!fits)
        throw_invalid(std::string(field) + ": " + it->dump() + " is not a value of type " + (L::is_signed ? "int" : "uint") +
                      std::to_string(sizeof(T) * 8));
    return it->template get<T>();
}

std::string cwd_absolute(const std::string& p) {
    char buf[4096];
    if (!::getcwd(buf, sizeof buf)) throw_errno("getcwd");
    return clean_path(std::string(buf) + "/" + p);
}

// moby volume/mounts: the words a -v MODE may hold, each kind at most once.
bool valid_mode(std::string_view mode) {
    if (mode.empty()) return true;
    static const std::set<std::string, std::less<>> rw = {"rw", "ro"}, label = {"z", "Z"},
                                                    copy = {"nocopy"},
                                                    consistency = {"consistent", "cached", "delegated"},
                                                    propagation = {"private", "rprivate", "shared",
                                                                   "rshared", "slave", "rslave"};
    int n_rw = 0, n_label = 0, n_copy = 0, n_cons = 0, n_prop = 0;
    for (const auto& w : split(mode, ',')) {
        if (rw.count(w)) n_rw++;
        else if (label.count(w)) n_label++;
        else if (copy.count(w)) n_copy++;
        else if (consistency.count(w)) n_cons++;
        else if (propagation.count(w)) n_prop++;
        else return false;
    }
    return n_rw <= 1 && n_label <= 1 && n_copy <= 1 && n_cons <= 1 && n_prop <= 1;
}

// moby validateMountConfig, for both -v and --mount.
void validate(const MountRequest& m, bool has_bind_options, bool has_volume_options,
              bool has_tmpfs_options) {
    auto fail = [&](const std::string& cause) -> void {
        throw Error("invalid mount config for type \"" + std::string(to_string(m.type)) + "\": " + cause,
                    ErrorKind::invalid);
    };
    if (m.target.empty()) fail("field Target must not be empty");
    if (clean_path(m.target) == "/") throw_invalid("invalid specification: destination can't be '/'");
    if (m.target.front() != '/') fail("invalid mount path: '" + m.target + "' mount path must be absolute");
    switch (m.type) {
    case MountType::bind:
        if (m.source.empty()) fail("field Source must not be empty");
        if (has_volume_options) fail("field VolumeOptions must not be specified");
        if (has_tmpfs_options) fail("field TmpfsOptions must not be specified");
        if (m.source.front() != '/')
            fail("invalid mount path: '" + m.source + "' mount path must be absolute");
        break;
    case MountType::volume:
        if (has_bind_options) fail("field BindOptions must not be specified");
        if (has_tmpfs_options) fail("field TmpfsOptions must not be specified");
        if (m.source.empty() && m.readonly) fail("must not set ReadOnly mode when using anonymous volumes");
        if (!m.source.empty()) check_volume_name(m.source);
        break;
    case MountType::tmpfs:
        if (has_bind_options) fail("field BindOptions must not be specified");
        if (has_volume_options) fail("field VolumeOptions must not be specified");
        if (!m.source.empty()) fail("field Source must not be specified");
        merge_tmpfs_options(m.tmpfs_options);
        break;
    }
}

bool parse_go_bool(std::string_view v, bool& out) {
    static const std::set<std::string, std::less<>> t = {"1", "t", "T", "TRUE", "true", "True"},
                                                    f = {"0", "f", "F", "FALSE", "false", "False"};
    if (t.count(v)) out = true;
    else if (f.count(v)) out = false;
    else return false;
    return true;
}

// go-units RAMInBytes: "64m", "64MB", "64MiB", "1.5g", "100" (binary multiples).
std::optional<uint64_t> ram_in_bytes(std::string_view s) {
    size_t i = 0;
    while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) i++;
    std::string num(s.substr(0, i));
    if (num.empty() || num.front() == '.' || num.back() == '.' ||
        std::count(num.begin(), num.end(), '.') > 1)
        return std::nullopt;
    std::string_view rest = s.substr(i);
    if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    uint64_t mult = 1;
    if (!rest.empty()) {
        switch (std::tolower(static_cast<unsigned char>(rest.front()))) {
        case 'k': mult = 1ull << 10; break;
        case 'm': mult = 1ull << 20; break;
        case 'g': mult = 1ull << 30; break;
        case 't': mult = 1ull << 40; break;
        case 'p': mult = 1ull << 50; break;
        default: mult = 0; break;
        }
        if (mult) rest.remove_prefix(1);
        else mult = 1;
        if (!rest.empty() && (rest.front() == 'i' || rest.front() == 'I')) rest.remove_prefix(1);
        if (!rest.empty() && (rest.front() == 'b' || rest.front() == 'B')) rest.remove_prefix(1);
        if (!rest.empty()) return std::nullopt;
    }
    double v = std::strtod(num.c_str(), nullptr) * static_cast<double>(mult);
    if (!std::isfinite(v) || v >= 9.2e18) return std::nullopt;
    return static_cast<uint64_t>(v);
}

// Go's encoding/csv for one record: fields split at commas, "…" quotes a field
// ("" inside is a quote), a quote inside an unquoted field is an error.
std::vector<std::string> read_csv_record(std::string_view s) {
    std::vector<std::string> fields;
    size_t i = 0;
    for (;;) {
        std::string field;
        if (i < s.size() && s[i] == '"') {
            i++;
            for (;;) {
                if (i >= s.size()) throw_invalid("extraneous or missing \" in quoted-field");
                if (s[i] == '"') {
                    if (i + 1 < s.size() && s[i + 1] == '"') {
                        field += '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                field += s[i++];
            }
            if (i < s.size() && s[i] != ',') throw_invalid("extraneous or missing \" in quoted-field");
        } else {
            while (i < s.size() && s[i] != ',') {
                if (s[i] == '"') throw_invalid("bare \" in non-quoted-field");
                field += s[i++];
            }
        }
        fields.push_back(std::move(field));
        if (i >= s.size()) break;
        i++; // the comma
    }
    return fields;
}

// The frame of every parser of a mount request: `fill` reads it into m, the
// paths are cleaned, and the errors start with `prefix` (once).
template <typename Fill>
MountRequest parse_request(std::string raw, const char* flag, const std::string& prefix, Fill&& fill) {
    MountRequest m;
    m.raw = std::move(raw);
    m.flag = flag;
    try {
        fill(m);
        m.target = clean_path(m.target);
        if (m.type == MountType::bind) m.source = clean_path(m.source);
        return m;
    } catch (const Error& e) {
        if (std::string_view(e.what()).starts_with(prefix)) throw;
        throw e.wrap(prefix);
    }
}

} // namespace

MountRequest parse_volume_flag(std::string_view raw) {
    std::string prefix = "invalid volume specification: '" + std::string(raw) + "'";
    return parse_request(std::string(raw), "-v", prefix, [&](MountRequest& m) {
        auto arr = split(raw, ':');
        if (arr.size() > 3 || arr[0].empty()) throw_invalid(prefix);
        for (const auto& part : arr)
            if (part.empty()) throw_invalid(prefix + ": empty section between colons");
        std::string mode;
        if (arr.size() == 1) {
            m.target = arr[0];
        } else if (arr.size() == 2) {
            // "/foo:ro": a destination with a mode but no source is not a volume.
            if (valid_mode(arr[1])) throw_invalid(prefix);
            m.source = arr[0];
            m.target = arr[1];
        } else {
            m.source = arr[0];
            m.target = arr[1];
            mode = arr[2];
        }
        if (!valid_mode(mode)) throw_invalid(prefix + ": invalid mode: " + mode);
        m.mode = mode;

        // The docker CLI (23+) turns a relative host path ("./data", "../x") into an absolute one.
        if (!m.source.empty() && m.source.front() == '.') m.source = cwd_absolute(m.source);
        m.type = (!m.source.empty() && m.source.front() == '/') ? MountType::bind : MountType::volume;

        bool has_bind = false, has_volume = false;
        for (const auto& w : split(mode, ',')) {
            if (w == "ro") m.readonly = true;
            else if (w == "nocopy") m.nocopy = has_volume = true;
            else if (is_propagation(w)) {
                m.propagation = w;
                has_bind = true;
            }
        }
        m.create_source = true;
        validate(m, has_bind, has_volume, false);
    });
}

MountRequest parse_mount_flag(std::string_view raw) {
    std::string prefix = "--mount '" + std::string(raw) + "'";
    return parse_request(std::string(raw), "--mount", prefix, [&](MountRequest& m) {
        bool has_bind = false, has_volume = false, has_tmpfs = false;
        uint64_t tmpfs_size = 0;
        uint32_t tmpfs_mode = 0;
        std::string type = "volume";
        bool ro_nonrecursive = false;
        for (const auto& field : read_csv_record(raw)) {
            auto kv = split_once(field, '=');
            std::string key = to_lower(kv ? kv->first : field);
            if (!kv) {
                if (key == "readonly" || key == "ro") m.readonly = true;
                else if (key == "volume-nocopy") m.nocopy = has_volume = true;
                else if (key == "bind-nonrecursive") m.nonrecursive = has_bind = true;
                else throw_invalid("invalid field '" + field + "' must be a key=value pair");
                continue;
            }
            const std::string& val = kv->second;
            auto bad_value = [&] { throw_invalid("invalid value for " + key + ": " + val); };
            auto set_map = [](std::map<std::string, std::string>& target, const std::string& v) {
                auto p = split_once(v, '=');
                std::string k = p ? p->first : v;
                if (!k.empty()) target[k] = p ? p->second : "";
            };
            if (key == "type") {
                type = to_lower(val);
            } else if (key == "source" || key == "src") {
                m.source = val;
                if (val == "." || val.rfind("./", 0) == 0) m.source = cwd_absolute(val);
            } else if (key == "target" || key == "dst" || key == "destination") {
                m.target = val;
            } else if (key == "readonly" || key == "ro") {
                if (!parse_go_bool(val, m.readonly)) bad_value();
            } else if (key == "consistency") {
                // macOS only; Docker accepts and ignores it on Linux.
            } else if (key == "bind-propagation") {
                m.propagation = to_lower(val);
                has_bind = true;
                static const std::set<std::string> modes = {"private", "rprivate", "shared",
                                                            "rshared", "slave",   "rslave"};
                if (!modes.count(m.propagation)) throw_invalid("invalid propagation mode: " + val);
            } else if (key == "bind-nonrecursive") {
                if (!parse_go_bool(val, m.nonrecursive)) bad_value();
                has_bind = true;
            } else if (key == "bind-recursive") {
                has_bind = true;
                if (val == "enabled") m.nonrecursive = false;
                else if (val == "disabled") m.nonrecursive = true;
                else if (val == "writable") ro_nonrecursive = true;
                else if (val == "readonly") ro_nonrecursive = false;
                else bad_value();
            } else if (key == "volume-nocopy") {
                if (!parse_go_bool(val, m.nocopy)) bad_value();
                has_volume = true;
            } else if (key == "volume-label") {
                set_map(m.volume_labels, val);
                has_volume = true;
            } else if (key == "volume-driver") {
                if (val != "local")
                    throw_invalid("volume driver " + quote(val) + " is not supported (only \"local\")");
                has_volume = true;
            } else if (key == "volume-opt") {
                set_map(m.volume_options, val);
                has_volume = true;
            } else if (key == "volume-subpath") {
                // Docker 26+. Mounting a path inside a volume that containers can change needs
                // the fd-pinned bind Docker does (safepath); not done here, so refused clearly.
                throw_invalid("volume-subpath is not supported");
            } else if (key == "tmpfs-size") {
                auto v = ram_in_bytes(val);
                if (!v) bad_value();
                tmpfs_size = *v;
                has_tmpfs = true;
            } else if (key == "tmpfs-mode") {
                if (val.empty() || val.size() > 11 ||
                    val.find_first_not_of("01234567") != std::string::npos)
                    bad_value();
                uint64_t mode = std::stoull(val, nullptr, 8);
                if (mode > 0xffffffffull) bad_value();
                tmpfs_mode = static_cast<uint32_t>(mode);
                has_tmpfs = true;
            } else {
                throw_invalid("unexpected key '" + key + "' in '" + field + "'");
            }
        }
        if (type.empty()) throw_invalid("type is required");
        if (m.target.empty()) throw_invalid("target is required");
        if (type == "volume") m.type = MountType::volume;
        else if (type == "bind") m.type = MountType::bind;
        else if (type == "tmpfs") m.type = MountType::tmpfs;
        else throw_invalid("invalid mount config for type \"" + type + "\": mount type unknown");
        if (has_volume && m.type != MountType::volume)
            throw_invalid("cannot mix 'volume-*' options with mount type '" + type + "'");
        if (has_bind && m.type != MountType::bind)
            throw_invalid("cannot mix 'bind-*' options with mount type '" + type + "'");
        if (has_tmpfs && m.type != MountType::tmpfs)
            throw_invalid("cannot mix 'tmpfs-*' options with mount type '" + type + "'");
        if (m.type == MountType::tmpfs) {
            // moby ConvertTmpfsOptions
            if (m.readonly) m.tmpfs_options.push_back("ro");
            if (tmpfs_mode) {
                char buf[32];
                std::snprintf(buf, sizeof buf, "mode=%o", tmpfs_mode);
                m.tmpfs_options.push_back(buf);
            }
            if (tmpfs_size) m.tmpfs_options.push_back(tmpfs_size_option(tmpfs_size));
        }
        validate(m, has_bind, has_volume, has_tmpfs);
        m.readonly_nonrecursive = ro_nonrecursive && m.readonly;
    });
}

MountRequest parse_api_mount(const Json& j) {
    std::string prefix = "mount " + j.dump();
    return parse_request(j.dump(), "Mounts", prefix, [&](MountRequest& m) {
        if (!j.is_object()) throw_invalid("expected an object");
        std::string type;
        bool has_bind = false, has_volume = false, has_tmpfs = false;
        try {
            type = j.value("Type", std::string());
            m.source = j.value("Source", std::string());
            m.target = j.value("Target", std::string());
            m.readonly = j.value("ReadOnly", false);
            if (auto b = j.find("BindOptions"); b != j.end() && !b->is_null()) {
                has_bind = true;
                m.propagation = b->value("Propagation", std::string());
                m.nonrecursive = b->value("NonRecursive", false);
                m.create_source = b->value("CreateMountpoint", false);
                m.readonly_nonrecursive = m.readonly && b->value("ReadOnlyNonRecursive", false);
            }
            if (auto v = j.find("VolumeOptions"); v != j.end() && !v->is_null()) {
                has_volume = true;
                m.nocopy = v->value("NoCopy", false);
                if (auto l = v->find("Labels"); l != v->end() && !l->is_null())
                    m.volume_labels = l->get<std::map<std::string, std::string>>();
                if (auto d = v->find("DriverConfig"); d != v->end() && !d->is_null()) {
                    std::string driver = d->value("Name", std::string());
                    if (!driver.empty() && driver != "local")
                        throw_invalid("volume driver " + quote(driver) + " is not supported (only \"local\")");
                    if (auto o = d->find("Options"); o != d->end() && !o->is_null())
                        m.volume_options = o->get<std::map<std::string, std::string>>();
                }
                if (!v->value("Subpath", std::string()).empty()) throw_invalid("VolumeOptions.Subpath is not supported");
            }
            if (auto t = j.find("TmpfsOptions"); t != j.end() && !t->is_null()) {
                has_tmpfs = true;
                int64_t size = api_integer<int64_t>(*t, "SizeBytes", "TmpfsOptions.SizeBytes");
                uint32_t mode = api_integer<uint32_t>(*t, "Mode", "TmpfsOptions.Mode");
                if (size < 0) throw_invalid("invalid tmpfs size " + std::to_string(size));
                if (m.readonly) m.tmpfs_options.push_back("ro");
                if (mode) {
                    char buf[32];
                    std::snprintf(buf, sizeof buf, "mode=%o", mode & 07777);
                    m.tmpfs_options.push_back(buf);
                }
                if (size) m.tmpfs_options.push_back(tmpfs_size_option(static_cast<uint64_t>(size)));
            } else if (type == "tmpfs" && m.readonly) {
                m.tmpfs_options.push_back("ro");
            }
        } catch (const Json::exception& e) {
            throw_invalid(e.what());
        }
        if (type == "volume") m.type = MountType::volume;
        else if (type == "bind") m.type = MountType::bind;
        else if (type == "tmpfs") m.type = MountType::tmpfs;
        else throw_invalid("invalid mount config for type \"" + type + "\": mount type unknown");
        if (!m.propagation.empty()) {
            static const std::set<std::string> modes = {"private", "rprivate", "shared", "rshared", "slave", "rslave"};
            if (!modes.count(m.propagation)) throw_invalid("invalid propagation mode: " + m.propagation);
        }
        validate(m, has_bind, has_volume, has_tmpfs);
    });
}

MountRequest parse_tmpfs_flag(std::string_view raw) {
    std::string prefix = "--tmpfs '" + std::string(raw) + "'";
    return parse_request(std::string(raw), "--tmpfs", prefix, [&](MountRequest& m) {
        m.type = MountType::tmpfs;
        auto parts = split_once(raw, ':');
        m.target = parts ? parts->first : std::string(raw);
        if (parts && !parts->second.empty()) m.tmpfs_options = split(parts->second, ',');
        for (const auto& o : m.tmpfs_options)
            if (o == "ro") m.readonly = true;
        validate(m, false, false, false);
    });
}

std::vector<MountRequest> parse_spec_args(const std::vector<std::string>& args) {
    std::vector<MountRequest> out;
    for (size_t i = 0; i < args.size(); i++) {
        const std::string& a = args[i];
        auto value_of = [&](const std::string& flag) -> std::string {
            if (i + 1 >= args.size())
                throw Error("flag " + flag + " needs a value", ErrorKind::usage);
            return args[++i];
        };
        auto starts = [&](std::string_view p) { return a.rfind(p, 0) == 0; };
        if (a == "-v" || a == "--volume") out.push_back(parse_volume_flag(value_of(a)));
        else if (a == "--mount") out.push_back(parse_mount_flag(value_of(a)));
        else if (a == "--tmpfs") out.push_back(parse_tmpfs_flag(value_of(a)));
        else if (starts("--volume=")) out.push_back(parse_volume_flag(a.substr(9)));
        else if (starts("--mount=")) out.push_back(parse_mount_flag(a.substr(8)));
        else if (starts("--tmpfs=")) out.push_back(parse_tmpfs_flag(a.substr(8)));
        else if (starts("-v=")) out.push_back(parse_volume_flag(a.substr(3)));
        else if (starts("-v")) out.push_back(parse_volume_flag(a.substr(2)));
        else if (starts("-")) throw Error("unknown flag " + quote(a) + " (expected -v, --mount or --tmpfs)",
                                          ErrorKind::usage);
        else out.push_back(parse_volume_flag(a));
    }
    check_duplicate_targets(out);
    return out;
}

void check_duplicate_targets(const std::vector<MountRequest>& requests) {
    std::set<std::string> seen;
    for (const auto& r : requests)
        if (!seen.insert(r.target).second) throw_invalid("Duplicate mount point: " + r.target);
}

} // namespace ctk::volume
