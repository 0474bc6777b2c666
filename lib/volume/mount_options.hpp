// fstab-style mount options ("ro,nosuid,size=64m") as mount(8) and Docker's
// pkg/mount read them: flag words become MS_* bits, everything else is the
// filesystem's data string.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ctk::volume {

struct MountFlag {
    const char* name;
    unsigned long flag;
    bool clear; // "rw", "exec", "suid": clears the bit the other word sets
};

// nullopt when `word` is not a flag word (then it is filesystem data).
std::optional<MountFlag> find_mount_flag(std::string_view word);
bool is_propagation(std::string_view word); // [r]private, [r]shared, [r]slave, [r]unbindable

struct ParsedMountOptions {
    unsigned long flags = 0;       // MS_RDONLY, MS_NOSUID, MS_BIND, MS_REC ...
    unsigned long propagation = 0; // MS_SHARED|MS_REC ... (needs its own mount call)
    std::string data;              // "size=64m,mode=1777"
};
ParsedMountOptions parse_mount_options(std::string_view csv);

// Docker's daemon defaults for a tmpfs mount, then the user's options; later
// words win over earlier ones of the same kind (noexec vs exec, size= vs size=).
// Only size, mode, uid, gid, nr_inodes, nr_blocks and mpol are allowed as data;
// anything else: ErrorKind::invalid `invalid tmpfs option "foo"`.
std::vector<std::string> merge_tmpfs_options(const std::vector<std::string>& user_options);
// Checks one tmpfs data option's value the way the kernel will read it.
void check_tmpfs_option(std::string_view option);

// Docker's ConvertTmpfsOptions: the largest unit that divides evenly ("64m", "1g", "1000").
std::string tmpfs_size_option(uint64_t bytes);

} // namespace ctk::volume
