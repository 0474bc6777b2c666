#include "engine/container_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/file_cache.hpp"
#include "core/fs.hpp"
#include "core/parallel.hpp"
#include "engine/names.hpp"

namespace ctk::engine {

std::string ContainerRecord::setup_phase() const {
    const Json& c = ctk();
    auto it = c.find("Setup");
    return it != c.end() && it->is_string() ? it->get<std::string>() : std::string(setup::ready);
}

const Json& ContainerRecord::ctk() const {
    static const Json empty = Json::object();
    auto it = doc.find("Ctk");
    return it != doc.end() && it->is_object() ? *it : empty;
}

ContainerStore::ContainerStore(store::Paths paths) : paths_(std::move(paths)) {}

FileLock ContainerStore::lock_store() const {
    make_dirs(paths_.containers(), 0700);
    return FileLock(paths_.containers() + "/.lock");
}

FileLock ContainerStore::lock(const std::string& id) const {
    make_dirs(paths_.locks(), 0700);
    return FileLock(paths_.locks() + "/container-" + id + ".lock");
}

std::vector<std::string> ContainerStore::ids() const {
    std::vector<std::string> out;
    DIR* d = ::opendir(paths_.containers().c_str());
    if (!d) return out;
    while (dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (is_full_id(n)) out.push_back(n);
    }
    ::closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

std::optional<ContainerRecord> ContainerStore::try_load(const std::string& id) const {
    auto text = read_file_if_exists(record_path(id), 16u << 20);
    if (!text) return std::nullopt;
    ContainerRecord r;
    r.id = id;
    r.doc = parse_json(*text, record_path(id));
    std::string name = r.doc.value("Name", "");
    r.name = !name.empty() && name[0] == '/' ? name.substr(1) : name;
    return r;
}

ContainerRecord ContainerStore::load(const std::string& id) const {
    auto r = try_load(id);
    if (!r) throw_not_found("No such container: " + id);
    return std::move(*r);
}

void ContainerStore::save(const ContainerRecord& record) const {
    Json doc = record.doc;
    doc["Id"] = record.id;
    doc["Name"] = "/" + record.name;
    write_json_file(record_path(record.id), doc);
}

namespace {

// What ps and GET /containers/json read of a record (Engine::list_entry and
// the state it shows): top-level keys, and the members kept of Config and HostConfig.
bool listed_top(std::string_view k) {
    for (std::string_view f : {"Id", "Name", "Created", "Path", "Args", "Image", "Config", "HostConfig", "Ctk"})
        if (k == f) return true;
    return false;
}
bool listed_member(std::string_view parent, std::string_view k) {
    if (parent == "Config") return k == "Image" || k == "Labels" || k == "ExposedPorts";
    if (parent == "HostConfig")
        return k == "NetworkMode" || k == "PortBindings" || k == "Binds" || k == "Mounts" || k == "Tmpfs";
    return true;
}

// container.json parsed into the fields a listing reads: every other member
// is read past without being built, which is most of the cost of a record
// (HostConfig alone is two thirds of it).
Json parse_listed_fields(const std::string& text, const std::string& what) {
    return parse_json_selected(text, what, [](const std::vector<std::string>& parents, const std::string& key) {
        if (parents.empty()) return listed_top(key);
        return parents.size() != 1 || listed_member(parents[0], key);
    });
}

// ctld lists the same records again and again: an unchanged one is not parsed again.
FileCache<ContainerRecord>& brief_records() {
    static FileCache<ContainerRecord> cache;
    return cache;
}

// The listed fields of one record, or null when there is none.
std::shared_ptr<const ContainerRecord> load_brief_record(const std::string& id, const std::string& path) {
    return brief_records().load(path, 16u << 20, [&](const std::string& text) {
        ContainerRecord r;
        r.id = id;
        r.doc = parse_listed_fields(text, path);
        std::string name = r.doc.value("Name", "");
        r.name = !name.empty() && name[0] == '/' ? name.substr(1) : name;
        return r;
    });
}

} // namespace

namespace {
// Oldest first, by Created (the order of docker ps, newest last); present ones only.
template <typename Record> std::vector<Record> by_created(std::vector<Record>& loaded, auto record_of) {
    std::vector<std::pair<std::string, Record*>> found;
    for (auto& r : loaded)
        if (r) found.emplace_back(record_of(r).doc.value("Created", ""), &r);
    std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<Record> out;
    out.reserve(found.size());
    for (auto& f : found) out.push_back(std::move(*f.second));
    return out;
}
} // namespace

std::vector<ContainerRecord> ContainerStore::list() const {
    std::vector<std::string> all = listed_ids();
    std::vector<std::optional<ContainerRecord>> loaded(all.size());
    for_each_index_in_parallel(all.size(), [&](size_t i) {
        try {
            loaded[i] = try_load(all[i]);
        } catch (const Error&) {
            // a damaged record is skipped here; rm -f ID still finds its directory
        }
    });
    std::vector<ContainerRecord> out;
    for (auto& r : by_created(loaded, [](auto& r) -> const ContainerRecord& { return *r; })) out.push_back(std::move(*r));
    return out;
}

std::vector<std::shared_ptr<const ContainerRecord>> ContainerStore::list_brief() const {
    std::vector<std::string> all = listed_ids();
    std::vector<std::shared_ptr<const ContainerRecord>> loaded(all.size());
    for_each_index_in_parallel(all.size(), [&](size_t i) {
        try {
            loaded[i] = load_brief_record(all[i], record_path(all[i]));
        } catch (const Error&) {
            // as in list()
        }
    });
    std::set<std::string> paths;
    for (const auto& id : all) paths.insert(record_path(id));
    brief_records().keep_only(paths);
    return by_created(loaded, [](auto& r) -> const ContainerRecord& { return *r; });
}

std::vector<std::string> ContainerStore::listed_ids() const {
    // ids() and collect_garbage() in one pass over the directory
    std::vector<std::string> out;
    bool stale = false;
    if (DIR* d = ::opendir(paths_.containers().c_str())) {
        while (dirent* e = ::readdir(d)) {
            std::string n = e->d_name;
            if (is_full_id(n)) out.push_back(n);
            stale = stale || n.rfind(".new-", 0) == 0;
        }
        ::closedir(d);
    }
    std::sort(out.begin(), out.end());
    if (stale) {
        // tidy up after an interrupted create when nobody is writing a record now
        FileLock l = FileLock::try_lock(paths_.containers() + "/.lock");
        if (l.locked()) collect_garbage();
    }
    return out;
}

std::string ContainerStore::name_owner(const std::string& name) const {
    if (::access(paths_.names().c_str(), F_OK) < 0) return scan_name_owner(name);
    std::string id = read_link(paths_.name_link(name));
    if (!is_full_id(id)) return "";
    // A link whose container is gone (a crash, a directory removed by hand) or
    // was renamed since is stale: the name is free. A directory without its
    // record yet is a container being made.
    if (::access(dir(id).c_str(), F_OK) < 0) return "";
    try {
        auto r = try_load(id);
        return !r || r->name == name ? id : "";
    } catch (const Error&) {
        return id;
    }
}

std::string ContainerStore::scan_name_owner(const std::string& name) const {
    // Every record's text is searched for the JSON string "/NAME" (a valid
    // name needs no escapes) and only one holding it is parsed.
    std::string quoted = "\"/" + name + "\"";
    std::vector<std::string> all = ids();
    std::vector<char> mentions(all.size(), 0);
    for_each_index_in_parallel(all.size(), [&](size_t i) {
        try {
            auto text = read_file_if_exists(record_path(all[i]), 16u << 20);
            mentions[i] = text && text->find(quoted) != std::string::npos;
        } catch (const Error&) {
        }
    });
    for (size_t i = 0; i < all.size(); i++) {
        if (!mentions[i]) continue;
        try {
            auto r = try_load(all[i]);
            if (r && r->name == name) return all[i];
        } catch (const Error&) {
        }
    }
    return "";
}

void ContainerStore::ensure_name_index() const {
    if (::access(paths_.names().c_str(), F_OK) == 0) return;
    // A store of an older build: the index is made whole in a hidden directory
    // and renamed into place, so a name is never missing from an index that exists.
    std::string tmp = paths_.containers() + "/.new-names";
    remove_tree(tmp);
    make_dirs(tmp, 0755);
    for (const auto& id : ids()) {
        std::optional<ContainerRecord> r;
        try {
            r = try_load(id);
        } catch (const Error&) {
            continue; // a damaged record holds no name
        }
        if (r && !r->name.empty() && ::symlink(id.c_str(), (tmp + "/" + r->name).c_str()) < 0 && errno != EEXIST)
            throw_errno("symlink", tmp + "/" + r->name);
    }
    if (::rename(tmp.c_str(), paths_.names().c_str()) < 0) throw_errno("rename", tmp);
    sync_parent_dir(paths_.names());
}

std::string ContainerStore::reserve_name(const std::string& name, const std::string& id) const {
    ensure_name_index();
    std::string link = paths_.name_link(name);
    if (::symlink(id.c_str(), link.c_str()) == 0) return "";
    if (errno != EEXIST) throw_errno("symlink", link);
    std::string owner = name_owner(name);
    if (!owner.empty()) return owner;
    // stale: replaced in one step (a new link renamed over it)
    std::string tmp = paths_.names() + "/.new-" + id;
    ::unlink(tmp.c_str());
    if (::symlink(id.c_str(), tmp.c_str()) < 0) throw_errno("symlink", tmp);
    if (::rename(tmp.c_str(), link.c_str()) < 0) throw_errno("rename", tmp);
    return "";
}

void ContainerStore::release_name(const std::string& name, const std::string& id) const {
    std::string link = paths_.name_link(name);
    if (read_link(link) == id) ::unlink(link.c_str());
}

namespace {
[[noreturn]] void throw_name_in_use(const std::string& prefix, const std::string& name, const std::string& owner) {
    throw_conflict(prefix + "Conflict. The container name \"/" + name + "\" is already in use by container \"" + owner +
                   "\". You have to remove (or rename) that container to be able to reuse that name.");
}
} // namespace

ContainerRecord ContainerStore::create(Json doc, const std::string& name_in,
                                       const std::function<void(ContainerRecord&)>& prepare) {
    std::string name;
    if (!name_in.empty()) name = validate_container_name(name_in);
    FileLock guard = lock_store();
    ContainerRecord r;
    r.id = new_container_id();
    if (!name.empty()) {
        std::string owner = reserve_name(name, r.id);
        if (!owner.empty()) throw_name_in_use("", name, owner);
    } else {
        for (int retry = 0;; retry++) {
            name = generate_name(retry);
            if (reserve_name(name, r.id).empty()) break;
            if (retry > 20) throw Error("could not generate a free container name");
        }
    }
    ScopeGuard unreserve([&] { release_name(name, r.id); });
    collect_garbage();
    r.name = name;
    r.doc = std::move(doc);
    if (prepare) prepare(r);
    r.doc["Id"] = r.id;
    r.doc["Name"] = "/" + r.name;
    // Written in a hidden directory and renamed into place: the record appears whole.
    std::string tmp = paths_.containers() + "/.new-" + r.id;
    make_dirs(tmp, 0710);
    ScopeGuard drop([&] {
        try {
            remove_tree(tmp);
        } catch (...) {
        }
    });
    write_json_file(tmp + "/container.json", r.doc);
    if (::rename(tmp.c_str(), dir(r.id).c_str()) < 0) throw_errno("rename", tmp);
    drop.dismiss();
    unreserve.dismiss();
    sync_parent_dir(dir(r.id));
    return r;
}

// A ctl killed while writing a record leaves its hidden directory; under the
// store lock no other writer is half-way, so whatever is there is garbage.
void ContainerStore::collect_garbage() const {
    DIR* d = ::opendir(paths_.containers().c_str());
    if (!d) return;
    std::vector<std::string> stale;
    while (dirent* e = ::readdir(d))
        if (std::string_view(e->d_name).substr(0, 5) == ".new-") stale.push_back(e->d_name);
    ::closedir(d);
    for (const auto& n : stale) {
        try {
            remove_tree(paths_.containers() + "/" + n);
        } catch (const Error&) {
        }
    }
}

std::string ContainerStore::resolve(std::string_view ref_in) const {
    std::string ref(ref_in);
    if (ref.empty()) throw_not_found("No such container: " + ref);
    if (is_full_id(ref) && ::access(dir(ref).c_str(), F_OK) == 0) return ref;
    std::string name = ref[0] == '/' ? ref.substr(1) : ref;
    if (valid_container_name(name)) {
        std::string owner = name_owner(name);
        if (!owner.empty()) return owner;
    }
    if (is_id_prefix(ref)) {
        std::vector<std::string> found;
        for (const auto& id : ids())
            if (id.compare(0, ref.size(), ref) == 0) found.push_back(id);
        if (found.size() == 1) return found[0];
        if (found.size() > 1)
            throw_invalid("multiple IDs found with provided prefix: " + ref);
    }
    throw_not_found("No such container: " + ref);
}

void ContainerStore::rename(const std::string& id, const std::string& new_name_in) {
    std::string new_name = validate_container_name(new_name_in);
    FileLock guard = lock_store();
    ContainerRecord r = load(id);
    if (r.name == new_name) throw_conflict("Renaming a container with the same name as its current name");
    std::string owner = reserve_name(new_name, id);
    if (!owner.empty()) throw_name_in_use("Error when allocating new name: ", new_name, owner);
    ScopeGuard unreserve([&] { release_name(new_name, id); });
    std::string old_name = r.name;
    r.name = new_name;
    save(r);
    unreserve.dismiss();
    release_name(old_name, id);
}

void ContainerStore::remove(const std::string& id) {
    std::string d = dir(id);
    UniqueFd fd(::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) return;
        throw_errno("open", d);
    }
    std::vector<std::string> names;
    if (DIR* dir = ::fdopendir(::dup(fd.get()))) {
        while (dirent* e = ::readdir(dir)) {
            std::string n = e->d_name;
            if (n != "." && n != ".." && n != "container.json") names.push_back(n);
        }
        ::closedir(dir);
    }
    for (const auto& n : names) remove_tree_at(fd.get(), n);
    FileLock guard = lock_store();
    collect_garbage();
    if (::unlinkat(fd.get(), "container.json", 0) < 0 && errno != ENOENT) throw_errno("remove", d + "/container.json");
    if (::rmdir(d.c_str()) < 0 && errno != ENOENT) throw_errno("remove", d);
    ::unlink((paths_.locks() + "/container-" + id + ".lock").c_str());
}

} // namespace ctk::engine
