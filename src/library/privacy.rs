//! The library is private by default (README.md, "Who may open the data dir"): the data
//! dir is made `2770` — its group (the admins' OS users and the service user) shares it, the
//! setgid bit hands that group to everything made inside, others get nothing — and the
//! process creates files `0660` (`PROCESS_UMASK`). A data dir others can read is warned about,
//! naming the command that fixes it. Access checks are here too, so a data dir this user may
//! not write is called read-only, not damaged.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Mode of a data dir smartimage creates: owner and group, setgid so the group is inherited.
pub const DATA_DIR_MODE: u32 = 0o2770;
/// What the process takes away from every file and folder it creates: all access for others.
pub const PROCESS_UMASK: u32 = 0o007;
/// Permission bits for "others".
const OTHERS: u32 = 0o007;

/// Sets the process umask (call once at start): files `0660`, folders `0770`.
pub fn restrict_process_umask() {
    // SAFETY: umask only swaps the process's creation mask; it cannot fail.
    unsafe {
        libc::umask(PROCESS_UMASK as libc::mode_t);
    }
}

/// Creates `dir` (and its parents) if missing; a data dir this call made gets [`DATA_DIR_MODE`].
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(DATA_DIR_MODE))
}

/// Mode of a file the admins' group shares (the database): owner and group read and write.
pub const SHARED_FILE_MODE: u32 = 0o660;

/// Gives a file this process made [`SHARED_FILE_MODE`].
pub fn share_with_group(file: &Path) -> io::Result<()> {
    fs::set_permissions(file, fs::Permissions::from_mode(SHARED_FILE_MODE))
}

/// Can this process write `path` (a file, or entries in a folder)?
pub fn writable(path: &Path) -> bool {
    let Ok(c_path) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: a valid NUL-terminated path; access only reads it.
    unsafe { libc::access(c_path.as_ptr(), libc::W_OK) == 0 }
}

/// Warnings for a data dir others can get into: what is exposed and the command that fixes it.
pub fn exposure_warnings(data_dir: &Path) -> Vec<String> {
    let Ok(meta) = fs::metadata(data_dir) else {
        return Vec::new();
    };
    let mode = meta.permissions().mode();
    if mode & OTHERS == 0 {
        // Nothing inside can be reached by others, whatever its own mode.
        return Vec::new();
    }
    let dir = data_dir.display();
    vec![format!(
        "the data dir {dir} is open to every user on this machine (mode {:04o}): its database, \
         blobs and Dropbox tokens may be read by anyone. Fix: chmod -R o-rwx {dir}",
        mode & 0o7777
    )]
}

/// The login name of the effective user ("uid N" when it has none).
pub fn current_user() -> String {
    // SAFETY: geteuid never fails; getpwuid returns a pointer into static storage or null,
    // and the name is copied out before any other call could overwrite it.
    unsafe {
        let uid = libc::geteuid();
        let pw = libc::getpwuid(uid);
        if pw.is_null() || (*pw).pw_name.is_null() {
            return std::env::var("USER").unwrap_or_else(|_| format!("uid {uid}"));
        }
        std::ffi::CStr::from_ptr((*pw).pw_name)
            .to_string_lossy()
            .into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_data_dir_is_shared_with_its_group_only() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("lib");
        create_private_dir(&dir).unwrap();
        let mode = fs::metadata(&dir).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, DATA_DIR_MODE);
        assert!(exposure_warnings(&dir).is_empty());
    }

    #[test]
    fn a_data_dir_others_can_enter_is_warned_about_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let warnings = exposure_warnings(dir.path());
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("mode 0755"), "{}", warnings[0]);
        assert!(
            warnings[0].contains(&format!("chmod -R o-rwx {}", dir.path().display())),
            "{}",
            warnings[0]
        );
    }
}
