// Container records: $CTK_ROOT/containers/<id>/container.json.
//
// The record is the container's static description in the shape of Docker's
// inspect output (Id, Name, Created, Path, Args, Config, HostConfig, Image,
// Mounts, LogPath …) plus a "Ctk" section with ctk's own facts (bundle,
// network namespace, setup phase). Its live state (running, exit code, times)
// belongs to the runtime (ns-run state) and is joined in when shown.
//
// Names are unique: creating and renaming check and write under the store's
// lock (containers/.lock), and a record appears whole (written in a hidden
// directory, then renamed into place), so a crash never leaves a half record.
// Containers are found by full ID, by name, or by a unique ID prefix.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"
#include "core/lock.hpp"
#include "store/paths.hpp"

namespace ctk::engine {

// Where a container is in ctk's own life cycle (the runtime knows the rest).
namespace setup {
inline constexpr const char* creating = "creating"; // record reserved, bundle/network being made
inline constexpr const char* ready = "ready";       // can be started
inline constexpr const char* removing = "removing"; // rm in progress
} // namespace setup

struct ContainerRecord {
    std::string id;
    std::string name; // without the leading "/"
    Json doc;         // the whole container.json

    std::string setup_phase() const;
    const Json& ctk() const; // doc["Ctk"] (an empty object when absent)
};

class ContainerStore {
public:
    explicit ContainerStore(store::Paths paths);

    const store::Paths& paths() const { return paths_; }
    std::string dir(const std::string& id) const { return paths_.container(id); }
    std::string record_path(const std::string& id) const { return dir(id) + "/container.json"; }

    // Reserves a new container: a fresh ID, the name (generated when empty;
    // conflict when taken, in Docker's words), the directory and container.json
    // holding `doc` with Id and Name filled in. `prepare` is called under the
    // lock with the chosen id and name, before the record is written, to fill
    // in fields that depend on them (paths, hostname).
    ContainerRecord create(Json doc, const std::string& name,
                           const std::function<void(ContainerRecord&)>& prepare = {});

    ContainerRecord load(const std::string& id) const;
    std::optional<ContainerRecord> try_load(const std::string& id) const;
    // Replaces container.json atomically.
    void save(const ContainerRecord& record) const;
    // Every record, oldest first (by Created).
    std::vector<ContainerRecord> list() const;
    // The same records holding only what a listing reads (listed_fields in
    // container_store.cpp): the rest of each container.json is skipped while
    // it is parsed. Shared with the cache of a long-lived reader (ctld): never
    // save() one of these.
    std::vector<std::shared_ptr<const ContainerRecord>> list_brief() const;
    // The IDs of every container directory, including ones without a record.
    std::vector<std::string> ids() const;

    // Full ID, name ("/name" too) or unique ID prefix -> ID. not_found:
    // "No such container: REF"; an ambiguous prefix is ErrorKind::invalid.
    std::string resolve(std::string_view ref) const;
    ContainerRecord lookup(std::string_view ref) const { return load(resolve(ref)); }

    // Renames under the store lock; conflict when the new name is taken.
    void rename(const std::string& id, const std::string& new_name);
    // Removes the container's directory: every entry, container.json last.
    void remove(const std::string& id);

    // Serialises life-cycle changes of one container (start, stop, rm …).
    FileLock lock(const std::string& id) const;
    // The store-wide lock (names).
    FileLock lock_store() const;

    // Removes what a ctl killed while writing a record left (call under lock_store()).
    void collect_garbage() const;

private:
    std::vector<std::string> listed_ids() const; // ids(), after collect_garbage() when the store is free
    std::string name_owner(const std::string& name) const; // "" when free
    std::string scan_name_owner(const std::string& name) const; // the same, from the records (no index)
    // The index $CTK_ROOT/names (NAME -> ID symlinks), built from the records when
    // a store made by an older build has none; and a name's reservation in it:
    // "" when `name` is now `id`'s, else the container that holds it. Under lock_store().
    void ensure_name_index() const;
    std::string reserve_name(const std::string& name, const std::string& id) const;
    void release_name(const std::string& name, const std::string& id) const;
    store::Paths paths_;
};

} // namespace ctk::engine
