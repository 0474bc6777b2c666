#include "volume/mount_options.hpp"

#include <sys/mount.h>

#include <algorithm>
#include <set>

#include "core/error.hpp"
#include "core/strings.hpp"

namespace ctk::volume {

namespace {

constexpr unsigned long propagation_bits = MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE;

const MountFlag flag_table[] = {
    {"defaults", 0, false},
    {"ro", MS_RDONLY, false},
    {"rw", MS_RDONLY, true},
    {"suid", MS_NOSUID, true},
    {"nosuid", MS_NOSUID, false},
    {"dev", MS_NODEV, true},
    {"nodev", MS_NODEV, false},
    {"exec", MS_NOEXEC, true},
    {"noexec", MS_NOEXEC, false},
    {"sync", MS_SYNCHRONOUS, false},
    {"async", MS_SYNCHRONOUS, true},
    {"dirsync", MS_DIRSYNC, false},
    {"remount", MS_REMOUNT, false},
    {"mand", MS_MANDLOCK, false},
    {"nomand", MS_MANDLOCK, true},
    {"atime", MS_NOATIME, true},
    {"noatime", MS_NOATIME, false},
    {"diratime", MS_NODIRATIME, true},
    {"nodiratime", MS_NODIRATIME, false},
    {"bind", MS_BIND, false},
    {"rbind", MS_BIND | MS_REC, false},
    {"relatime", MS_RELATIME, false},
    {"norelatime", MS_RELATIME, true},
    {"strictatime", MS_STRICTATIME, false},
    {"nostrictatime", MS_STRICTATIME, true},
    {"private", MS_PRIVATE, false},
    {"rprivate", MS_PRIVATE | MS_REC, false},
    {"shared", MS_SHARED, false},
    {"rshared", MS_SHARED | MS_REC, false},
    {"slave", MS_SLAVE, false},
    {"rslave", MS_SLAVE | MS_REC, false},
    {"unbindable", MS_UNBINDABLE, false},
    {"runbindable", MS_UNBINDABLE | MS_REC, false},
};

const std::set<std::string, std::less<>> tmpfs_data_keys = {"size",      "mode",      "uid", "gid",
                                                            "nr_inodes", "nr_blocks", "mpol"};

// The kernel's memparse: digits and an optional k/m/g/t/p/e suffix.
bool valid_memparse(std::string_view v, bool allow_percent) {
    if (v.empty()) return false;
    if (allow_percent && v.back() == '%') return parse_uint(v.substr(0, v.size() - 1)).has_value();
    char last = static_cast<char>(std::tolower(static_cast<unsigned char>(v.back())));
    if (std::string_view("kmgtpe").find(last) != std::string_view::npos) v.remove_suffix(1);
    return parse_uint(v).has_value();
}

bool valid_octal(std::string_view v) {
    if (v.empty() || v.size() > 5) return false;
    return std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '7'; });
}

} // namespace

std::optional<MountFlag> find_mount_flag(std::string_view word) {
    for (const auto& f : flag_table)
        if (word == f.name) return f;
    return std::nullopt;
}

bool is_propagation(std::string_view word) {
    auto f = find_mount_flag(word);
    return f && (f->flag & propagation_bits);
}

ParsedMountOptions parse_mount_options(std::string_view csv) {
    ParsedMountOptions out;
    std::vector<std::string> data;
    for (const auto& word : split(csv, ',')) {
        if (word.empty()) continue;
        auto f = find_mount_flag(word);
        if (!f) {
            data.push_back(word);
        } else if (f->flag & propagation_bits) {
            out.propagation = f->flag;
        } else if (f->clear) {
            out.flags &= ~f->flag;
        } else {
            out.flags |= f->flag;
        }
    }
    out.data = join(data, ",");
    return out;
}

void check_tmpfs_option(std::string_view option) {
    auto kv = split_once(option, '=');
    if (!kv || !tmpfs_data_keys.count(kv->first))
        throw_invalid("invalid tmpfs option " + quote(option));
    const auto& [key, value] = *kv;
    bool ok = true;
    if (key == "size" || key == "nr_blocks") ok = valid_memparse(value, key == "size");
    else if (key == "nr_inodes") ok = valid_memparse(value, false);
    else if (key == "mode") ok = valid_octal(value);
    else if (key == "uid" || key == "gid") ok = parse_uint(value).has_value();
    if (!ok) throw_invalid("invalid tmpfs option " + quote(option) + ": bad value");
}

std::vector<std::string> merge_tmpfs_options(const std::vector<std::string>& user_options) {
    // moby daemon/oci_linux.go: tmpfs mounts start from noexec,nosuid,nodev and the default
    // propagation; the user's options follow and override.
    std::vector<std::string> all = {"noexec", "nosuid", "nodev", "rprivate"};
    for (const auto& o : user_options)
        for (const auto& w : split(o, ','))
            if (!w.empty()) all.push_back(w);

    std::set<unsigned long> flags_seen;
    std::set<std::string> data_seen;
    std::vector<std::string> merged;
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
        const std::string& w = *it;
        if (w == "defaults") continue;
        if (auto f = find_mount_flag(w); f && f->flag != 0) {
            if (f->flag == MS_BIND || (f->flag & MS_BIND) || f->flag == MS_REMOUNT)
                throw_invalid("invalid tmpfs option " + quote(w));
            unsigned long key = (f->flag & propagation_bits) ? ~0ul : f->flag;
            if (!flags_seen.insert(key).second) continue;
            merged.push_back(w);
            continue;
        }
        check_tmpfs_option(w);
        std::string key = w.substr(0, w.find('='));
        if (!data_seen.insert(key).second) continue;
        merged.push_back(w);
    }
    std::reverse(merged.begin(), merged.end());
    return merged;
}

std::string tmpfs_size_option(uint64_t bytes) {
    static const std::pair<const char*, uint64_t> units[] = {
        {"g", 1ull << 30}, {"m", 1ull << 20}, {"k", 1ull << 10}};
    for (const auto& [suffix, div] : units)
        if (bytes % div == 0) return "size=" + std::to_string(bytes / div) + suffix;
    return "size=" + std::to_string(bytes);
}

} // namespace ctk::volume
