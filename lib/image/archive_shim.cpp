// libarchive's pax writer calls one helper that lives in
// archive_write_set_format.o, the file that also holds the by-code format
// table, so a static link of the tar writer would pull in every writer format
// (xar with libxml2, 7zip, iso9660 …). This definition of that helper (the
// same message, libarchive 3.x archive_write_set_format.c) is found first and
// keeps the table out. (EILSEQ: libarchive's ARCHIVE_ERRNO_FILE_FORMAT on Linux.)
#include <archive.h>
#include <archive_entry.h>

#include <cerrno>

extern "C" void __archive_write_entry_filetype_unsupported(struct archive* a, struct archive_entry* entry,
                                                           const char* format) {
    const char* name = nullptr;
    switch (archive_entry_filetype(entry)) {
    case AE_IFSOCK: name = "socket"; break;
    case AE_IFLNK: name = "symlink"; break;
    case AE_IFCHR: name = "character device"; break;
    case AE_IFBLK: name = "block device"; break;
    case AE_IFIFO: name = "named pipe"; break;
    case AE_IFDIR: name = "directory"; break;
    case AE_IFREG: name = "regular file"; break;
    default: break;
    }
    if (name)
        archive_set_error(a, EILSEQ, "%s: %s format cannot archive %s",
                          archive_entry_pathname(entry), format, name);
    else
        archive_set_error(a, EILSEQ, "%s: %s format cannot archive files with mode 0%lo",
                          archive_entry_pathname(entry), format, static_cast<unsigned long>(archive_entry_mode(entry)));
}
