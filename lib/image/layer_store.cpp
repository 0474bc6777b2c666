#include "image/layer_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/lock.hpp"

namespace ctk::image {

bool LayerStore::has(const Digest& chain_id) const {
    struct stat st;
    return ::stat(diff_dir(chain_id).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Leftovers of an unpack that was killed: only ever removed under the layer's lock.
static void remove_stale(const std::string& dir, const std::string& prefix) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) return;
    std::vector<std::string> stale;
    while (struct dirent* e = ::readdir(d))
        if (std::string_view(e->d_name).starts_with(prefix)) stale.emplace_back(e->d_name);
    ::closedir(d);
    for (const auto& name : stale) remove_tree(dir + "/" + name);
}

bool LayerStore::ensure(const Digest& chain_id, const std::vector<Digest>& lowers,
                        const Unpacker& unpack, bool sync) {
    if (has(chain_id)) return false;
    // 0700: layers hold the images' setuid files, which no host user may reach.
    make_dirs(dir_, 0700);
    make_dirs(dir_ + "/.locks", 0700);
    FileLock lock(dir_ + "/.locks/" + chain_id.encoded());
    if (has(chain_id)) return false; // another process unpacked it meanwhile
    std::string prefix = ".tmp-" + chain_id.encoded() + "-";
    remove_stale(dir_, prefix);
    std::string tmp = dir_ + "/" + prefix + random_hex(4);
    if (::mkdir(tmp.c_str(), 0700) < 0) throw_errno("mkdir", tmp);
    ScopeGuard cleanup([&] {
        try {
            remove_tree(tmp);
        } catch (...) {
        }
    });
    std::string diff = tmp + "/diff";
    if (::mkdir(diff.c_str(), 0755) < 0) throw_errno("mkdir", diff);
    UniqueFd difffd = open_dir(diff);
    std::vector<UniqueFd> lower_fds;
    std::vector<int> lower_raw;
    for (const auto& l : lowers) {
        if (!has(l)) throw_not_found("layer " + l.str() + " below " + chain_id.str() + " is not in the store");
        lower_fds.push_back(open_dir(diff_dir(l)));
        lower_raw.push_back(lower_fds.back().get());
    }
    Json record = unpack(difffd.get(), lower_raw);
    record["chain_id"] = chain_id.str();
    if (!lowers.empty()) record["parent"] = lowers.front().str();
    write_json_file(tmp + "/layer.json", record);
    if (sync && ::syncfs(difffd.get()) < 0) throw_errno("syncfs", diff);
    std::string final_dir = layer_dir(chain_id);
    if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, final_dir.c_str(), RENAME_NOREPLACE) < 0)
        throw_errno("rename layer to", final_dir);
    cleanup.dismiss();
    if (sync) sync_parent_dir(final_dir);
    return true;
}

} // namespace ctk::image
