//! File-system calls relative to an open directory (`openat` and friends), never following a
//! symbolic link. Every path the local backend touches is reached this way, one component at a
//! time from the root's descriptor, so no symlink, `..` or rename race can lead outside the root.

use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// Mode of the files we create; the umask still applies.
const NEW_FILE_MODE: libc::c_uint = 0o644;
/// Mode of the folders we create; the umask still applies.
const NEW_DIR_MODE: libc::mode_t = 0o755;

fn c_name(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a name contains a NUL byte"))
}

fn check(result: libc::c_int) -> io::Result<libc::c_int> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

fn owned(fd: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: `check` guarantees a fresh, valid descriptor that nothing else owns.
    check(fd).map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Opens a directory by absolute path (the root, once).
pub fn open_dir_path(path: &Path) -> io::Result<OwnedFd> {
    let c_path = c_name(path.as_os_str())?;
    // SAFETY: a valid C string; the result is checked.
    owned(unsafe {
        libc::open(
            c_path.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC | libc::O_NOFOLLOW,
        )
    })
}

/// Opens the sub-directory `name` of `dir`; fails (ELOOP/ENOTDIR) on a symlink or a non-directory.
pub fn open_dir_at(dir: &OwnedFd, name: &OsStr) -> io::Result<OwnedFd> {
    let c_name = c_name(name)?;
    // SAFETY: a valid descriptor and C string; the result is checked.
    owned(unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c_name.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC | libc::O_NOFOLLOW,
        )
    })
}

/// Opens `name` in `dir` for reading without following a symlink and without blocking on a
/// FIFO; the caller checks with `fstat` that it is a regular file.
pub fn open_file_at(dir: &OwnedFd, name: &OsStr) -> io::Result<File> {
    let c_name = c_name(name)?;
    // SAFETY: a valid descriptor and C string; the result is checked.
    let fd = owned(unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c_name.as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY,
        )
    })?;
    Ok(File::from(fd))
}

/// Creates a new file `name` in `dir` for writing; fails if anything has that name.
pub fn create_new_file_at(dir: &OwnedFd, name: &OsStr) -> io::Result<File> {
    let c_name = c_name(name)?;
    // SAFETY: a valid descriptor and C string; the result is checked.
    let fd = owned(unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c_name.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC | libc::O_NOFOLLOW,
            NEW_FILE_MODE,
        )
    })?;
    Ok(File::from(fd))
}

/// `lstat` of `name` in `dir`.
pub fn stat_at(dir: &OwnedFd, name: &OsStr) -> io::Result<libc::stat> {
    let c_name = c_name(name)?;
    // SAFETY: zeroed `stat` is a valid out-parameter.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid descriptor, C string and out-pointer; the result is checked.
    check(unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            c_name.as_ptr(),
            &mut stat,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })?;
    Ok(stat)
}

/// `fstat` of an open descriptor.
pub fn stat_fd(fd: RawFd) -> io::Result<libc::stat> {
    // SAFETY: zeroed `stat` is a valid out-parameter.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: the caller's descriptor and a valid out-pointer; the result is checked.
    check(unsafe { libc::fstat(fd, &mut stat) })?;
    Ok(stat)
}

/// The names in `dir` (without `.` and `..`), in no particular order.
pub fn read_dir_at(dir: &OwnedFd) -> io::Result<Vec<OsString>> {
    // `fdopendir` takes ownership of its descriptor, so give it a duplicate.
    // SAFETY: a valid descriptor; the result is checked.
    let dup = check(unsafe { libc::fcntl(dir.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) })?;
    // SAFETY: `dup` is ours; on failure we close it ourselves.
    let stream = unsafe { libc::fdopendir(dup) };
    if stream.is_null() {
        let error = io::Error::last_os_error();
        // SAFETY: `dup` is still ours when fdopendir failed.
        unsafe { libc::close(dup) };
        return Err(error);
    }
    // A duplicate shares the file offset: start from the beginning even if read before.
    // SAFETY: `stream` is a valid DIR*.
    unsafe { libc::rewinddir(stream) };
    let mut names = Vec::new();
    let result = loop {
        // errno distinguishes the end (unchanged) from an error.
        // SAFETY: writing errno of this thread.
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: `stream` is a valid DIR*.
        let entry = unsafe { libc::readdir(stream) };
        if entry.is_null() {
            let errno = io::Error::last_os_error();
            break if errno.raw_os_error() == Some(0) {
                Ok(())
            } else {
                Err(errno)
            };
        }
        // SAFETY: readdir returned a valid entry whose name is NUL-terminated.
        let name = unsafe { std::ffi::CStr::from_ptr((*entry).d_name.as_ptr()) }.to_bytes();
        if name != b"." && name != b".." {
            names.push(OsString::from_vec(name.to_vec()));
        }
    };
    // SAFETY: `stream` is valid and closed exactly once (this also closes `dup`).
    unsafe { libc::closedir(stream) };
    result.map(|()| names)
}

pub fn mkdir_at(dir: &OwnedFd, name: &OsStr) -> io::Result<()> {
    let c_name = c_name(name)?;
    // SAFETY: valid descriptor and C string; the result is checked.
    check(unsafe { libc::mkdirat(dir.as_raw_fd(), c_name.as_ptr(), NEW_DIR_MODE) }).map(drop)
}

/// Removes the file `name` (never a directory) from `dir`.
pub fn unlink_at(dir: &OwnedFd, name: &OsStr) -> io::Result<()> {
    let c_name = c_name(name)?;
    // SAFETY: valid descriptor and C string; the result is checked.
    check(unsafe { libc::unlinkat(dir.as_raw_fd(), c_name.as_ptr(), 0) }).map(drop)
}

/// Removes the folder `name` from `dir` if it is empty (`rmdir`: the kernel refuses a folder
/// with anything in it, ENOTEMPTY, and a symlink, ENOTDIR — nothing is followed).
pub fn rmdir_at(dir: &OwnedFd, name: &OsStr) -> io::Result<()> {
    let c_name = c_name(name)?;
    // SAFETY: valid descriptor and C string; the result is checked.
    check(unsafe { libc::unlinkat(dir.as_raw_fd(), c_name.as_ptr(), libc::AT_REMOVEDIR) }).map(drop)
}

/// Renames within `dir`. With `replace = false` an existing target makes it fail (EEXIST).
pub fn rename_at(dir: &OwnedFd, from: &OsStr, to: &OsStr, replace: bool) -> io::Result<()> {
    let c_from = c_name(from)?;
    let c_to = c_name(to)?;
    let fd = dir.as_raw_fd();
    if replace {
        // SAFETY: valid descriptor and C strings; the result is checked.
        return check(unsafe { libc::renameat(fd, c_from.as_ptr(), fd, c_to.as_ptr()) }).map(drop);
    }
    // SAFETY: valid descriptor and C strings; the result is checked.
    match check(unsafe {
        libc::renameat2(
            fd,
            c_from.as_ptr(),
            fd,
            c_to.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    }) {
        Ok(_) => Ok(()),
        // File systems without RENAME_NOREPLACE: a hard link fails on an existing target too.
        Err(error) if error.raw_os_error() == Some(libc::EINVAL) => {
            // SAFETY: valid descriptor and C strings; the result is checked.
            check(unsafe { libc::linkat(fd, c_from.as_ptr(), fd, c_to.as_ptr(), 0) })?;
            // SAFETY: as above.
            check(unsafe { libc::unlinkat(fd, c_from.as_ptr(), 0) }).map(drop)
        }
        Err(error) => Err(error),
    }
}

/// Flushes a directory so a rename in it survives a crash.
pub fn sync_dir(dir: &OwnedFd) -> io::Result<()> {
    // SAFETY: valid descriptor; the result is checked.
    check(unsafe { libc::fsync(dir.as_raw_fd()) }).map(drop)
}

/// Where the kernel says an open descriptor is, if `/proc` can tell (Linux).
pub fn path_of(fd: RawFd) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()
}

pub fn is_dir(stat: &libc::stat) -> bool {
    stat.st_mode & libc::S_IFMT == libc::S_IFDIR
}

pub fn is_regular(stat: &libc::stat) -> bool {
    stat.st_mode & libc::S_IFMT == libc::S_IFREG
}
