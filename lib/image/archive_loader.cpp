// libarchive, loaded when first used. Only import, save, load, cp, commit and
// build need it, and linking it (with libxml2, ICU, nettle, lzma, zstd, lz4,
// bz2, acl) would cost every ctl start milliseconds of dynamic loading, ctl run
// included, and keep megabytes of their pages resident in ctld. These
// definitions stand in for every libarchive function ctk calls: each resolves
// the real one with dlsym on its first call. A call not listed here shows up
// as an undefined archive_* symbol at link time (the library is not linked).
#include <archive.h>
#include <archive_entry.h>
#include <dlfcn.h>

#include <mutex>
#include <string>

#include "core/error.hpp"

namespace {

void* libarchive() {
    static void* handle = nullptr;
    static std::once_flag once;
    std::call_once(once, [] {
        for (const char* name : {"libarchive.so.13", "libarchive.so"}) {
            handle = ::dlopen(name, RTLD_NOW | RTLD_LOCAL);
            if (handle) break;
        }
    });
    if (!handle) {
        const char* e = ::dlerror();
        throw ctk::Error(std::string("cannot load libarchive: ") + (e ? e : "not found"));
    }
    return handle;
}

void* symbol(const char* name) {
    void* s = ::dlsym(libarchive(), name);
    if (!s) throw ctk::Error(std::string("libarchive: no symbol ") + name);
    return s;
}

} // namespace

#define CTK_ARCHIVE_FWD(ret, name, params, args)                                                   \
    extern "C" ret name params {                                                                   \
        using F = ret(*) params;                                                                   \
        static F f = reinterpret_cast<F>(symbol(#name));                                           \
        return f args;                                                                             \
    }

CTK_ARCHIVE_FWD(time_t, archive_entry_atime, (struct archive_entry *a0), (a0))
CTK_ARCHIVE_FWD(int, archive_entry_atime_is_set, (struct archive_entry *a0), (a0))
CTK_ARCHIVE_FWD(void, archive_entry_copy_stat, (struct archive_entry *a0, const struct stat *a1), (a0, a1))
CTK_ARCHIVE_FWD(mode_t, archive_entry_filetype, (struct archive_entry *a0), (a0))
CTK_ARCHIVE_FWD(void, archive_entry_free, (struct archive_entry *a0), (a0))
CTK_ARCHIVE_FWD(la_int64_t, archive_entry_gid, (struct archive_entry *a0), (a0))
CTK_ARCHIVE_FWD(const char *, archive_entry_hardlink, (struct archive_entry *a0), (a0))
CTK_ARCHIVE_FWD(void, archive_entry_linkify, (struct archive_entry_linkresolver *a0, struct archive_entry **a1, struct archive_entry **a2), (a0, a1, a2))
CTK_ARCHIVE_FWD(void, archive_entry_linkresolver_free, (struct archive_entry_linkresolver *a0), (a0))
CTK_ARCHIVE_FWD(struct archive_entry_linkresolver *, archive_entry_linkresolver_new, (), ())
CTK_ARCHIVE_FWD(void, archive_entry_linkresolver_set_strategy, (struct archive_entry_linkresolver *a0, int a1), (a0, a1))
CTK_ARCHIVE_FWD(time_t, archive_entry_mtime, (struct archive_entry *a0), (a0))
CTK_ARCHIVE_FWD(long, archive_entry_mtime_nsec, (struct archive_entry *a0), (a0))
CTK_ARCHIVE_FWD(struct archive_entry *, archive_entry_new, (), ())
CTK_ARCHIVE_FWD(const char *, archive_entry_pathname, (struct archive_entry *a0), (a0))
CTK_ARCHIVE_FWD(mode_t, archive_entry_perm, (struct archive_entry *a0), (a0))
CTK_ARCHIVE_FWD(dev_t, archive_entry_rdev, (struct archive_entry *a0), (a0))
CTK_ARCHIVE_FWD(void, archive_entry_set_filetype, (struct archive_entry *a0, unsigned int a1), (a0, a1))
CTK_ARCHIVE_FWD(void, archive_entry_set_gid, (struct archive_entry *a0, la_int64_t a1), (a0, a1))
CTK_ARCHIVE_FWD(void, archive_entry_set_hardlink, (struct archive_entry *a0, const char *a1), (a0, a1))
CTK_ARCHIVE_FWD(void, archive_entry_set_mode, (struct archive_entry *a0, mode_t a1), (a0, a1))
CTK_ARCHIVE_FWD(void, archive_entry_set_mtime, (struct archive_entry *a0, time_t a1, long a2), (a0, a1, a2))
CTK_ARCHIVE_FWD(void, archive_entry_set_pathname, (struct archive_entry *a0, const char *a1), (a0, a1))
CTK_ARCHIVE_FWD(void, archive_entry_set_perm, (struct archive_entry *a0, mode_t a1), (a0, a1))
CTK_ARCHIVE_FWD(void, archive_entry_set_rdevmajor, (struct archive_entry *a0, dev_t a1), (a0, a1))
CTK_ARCHIVE_FWD(void, archive_entry_set_rdevminor, (struct archive_entry *a0, dev_t a1), (a0, a1))
CTK_ARCHIVE_FWD(void, archive_entry_set_size, (struct archive_entry *a0, la_int64_t a1), (a0, a1))
CTK_ARCHIVE_FWD(void, archive_entry_set_symlink, (struct archive_entry *a0, const char *a1), (a0, a1))
CTK_ARCHIVE_FWD(void, archive_entry_set_uid, (struct archive_entry *a0, la_int64_t a1), (a0, a1))
CTK_ARCHIVE_FWD(la_int64_t, archive_entry_size, (struct archive_entry *a0), (a0))
CTK_ARCHIVE_FWD(const char *, archive_entry_symlink, (struct archive_entry *a0), (a0))
CTK_ARCHIVE_FWD(la_int64_t, archive_entry_uid, (struct archive_entry *a0), (a0))
CTK_ARCHIVE_FWD(void, archive_entry_xattr_add_entry, (struct archive_entry *a0, const char *a1, const void *a2, size_t a3), (a0, a1, a2, a3))
CTK_ARCHIVE_FWD(int, archive_entry_xattr_next, (struct archive_entry *a0, const char **a1, const void **a2, size_t *a3), (a0, a1, a2, a3))
CTK_ARCHIVE_FWD(int, archive_entry_xattr_reset, (struct archive_entry *a0), (a0))
CTK_ARCHIVE_FWD(const char *, archive_error_string, (struct archive *a0), (a0))
CTK_ARCHIVE_FWD(int, archive_format, (struct archive *a0), (a0))
CTK_ARCHIVE_FWD(la_ssize_t, archive_read_data, (struct archive *a0, void *a1, size_t a2), (a0, a1, a2))
CTK_ARCHIVE_FWD(int, archive_read_data_block, (struct archive *a0, const void **a1, size_t *a2, la_int64_t *a3), (a0, a1, a2, a3))
CTK_ARCHIVE_FWD(int, archive_read_disk_descend, (struct archive *a0), (a0))
CTK_ARCHIVE_FWD(struct archive *, archive_read_disk_new, (), ())
CTK_ARCHIVE_FWD(int, archive_read_disk_open, (struct archive *a0, const char *a1), (a0, a1))
CTK_ARCHIVE_FWD(int, archive_read_disk_set_standard_lookup, (struct archive *a0), (a0))
CTK_ARCHIVE_FWD(int, archive_read_disk_set_symlink_physical, (struct archive *a0), (a0))
CTK_ARCHIVE_FWD(int, archive_read_free, (struct archive *a0), (a0))
CTK_ARCHIVE_FWD(struct archive *, archive_read_new, (), ())
CTK_ARCHIVE_FWD(int, archive_read_next_header, (struct archive *a0, struct archive_entry **a1), (a0, a1))
CTK_ARCHIVE_FWD(int, archive_read_next_header2, (struct archive *a0, struct archive_entry *a1), (a0, a1))
CTK_ARCHIVE_FWD(int, archive_read_open_fd, (struct archive *a0, int a1, size_t a2), (a0, a1, a2))
CTK_ARCHIVE_FWD(int, archive_read_open_filename, (struct archive *a0, const char *a1, size_t a2), (a0, a1, a2))
CTK_ARCHIVE_FWD(la_int64_t, archive_read_header_position, (struct archive *a0), (a0))
CTK_ARCHIVE_FWD(int, archive_read_support_filter_all, (struct archive *a0), (a0))
CTK_ARCHIVE_FWD(int, archive_read_support_filter_gzip, (struct archive *a0), (a0))
CTK_ARCHIVE_FWD(int, archive_read_support_filter_bzip2, (struct archive *a0), (a0))
CTK_ARCHIVE_FWD(int, archive_read_support_filter_lzma, (struct archive *a0), (a0))
CTK_ARCHIVE_FWD(int, archive_read_support_filter_xz, (struct archive *a0), (a0))
CTK_ARCHIVE_FWD(int, archive_read_support_filter_zstd, (struct archive *a0), (a0))
CTK_ARCHIVE_FWD(int, archive_read_support_format_gnutar, (struct archive *a0), (a0))
CTK_ARCHIVE_FWD(int, archive_read_support_format_raw, (struct archive *a0), (a0))
CTK_ARCHIVE_FWD(int, archive_read_support_format_tar, (struct archive *a0), (a0))
CTK_ARCHIVE_FWD(int, archive_write_close, (struct archive *a0), (a0))
CTK_ARCHIVE_FWD(la_ssize_t, archive_write_data, (struct archive *a0, const void *a1, size_t a2), (a0, a1, a2))
CTK_ARCHIVE_FWD(la_ssize_t, archive_write_data_block, (struct archive *a0, const void *a1, size_t a2, la_int64_t a3), (a0, a1, a2, a3))
CTK_ARCHIVE_FWD(struct archive *, archive_write_disk_new, (), ())
CTK_ARCHIVE_FWD(int, archive_write_disk_set_options, (struct archive *a0, int a1), (a0, a1))
CTK_ARCHIVE_FWD(int, archive_write_finish_entry, (struct archive *a0), (a0))
CTK_ARCHIVE_FWD(int, archive_write_free, (struct archive *a0), (a0))
CTK_ARCHIVE_FWD(int, archive_write_header, (struct archive *a0, struct archive_entry *a1), (a0, a1))
CTK_ARCHIVE_FWD(struct archive *, archive_write_new, (), ())
CTK_ARCHIVE_FWD(int, archive_write_open2, (struct archive *a0, void *a1, archive_open_callback *a2, archive_write_callback *a3, archive_close_callback *a4, archive_free_callback *a5), (a0, a1, a2, a3, a4, a5))
CTK_ARCHIVE_FWD(int, archive_write_open_fd, (struct archive *a0, int a1), (a0, a1))
CTK_ARCHIVE_FWD(int, archive_write_set_bytes_in_last_block, (struct archive *a0, int a1), (a0, a1))
CTK_ARCHIVE_FWD(int, archive_write_set_format_pax_restricted, (struct archive *a0), (a0))
