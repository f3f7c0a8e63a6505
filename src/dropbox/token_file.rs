//! The Dropbox tokens of a link, kept as JSON in a file only its owner may read (mode 0600).
//! Written atomically (temp file, fsync, rename) so a crash never leaves half a token behind;
//! a file other users could read or change is refused rather than trusted.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::dropbox::auth::Tokens;

/// Owner read and write, nobody else anything.
pub const TOKEN_FILE_MODE: u32 = 0o600;
/// Any permission bit for group or others.
const GROUP_OTHER_BITS: u32 = 0o077;

#[derive(Debug, thiserror::Error)]
pub enum TokenFileError {
    #[error(
        "the Dropbox token file {path} can be read or changed by other users (mode {mode:04o}); \
         run `chmod 600 {path}` and try again"
    )]
    InsecurePermissions { path: PathBuf, mode: u32 },
    #[error("the Dropbox token file {path} is damaged ({detail}); link the Dropbox account again")]
    Malformed { path: PathBuf, detail: String },
    #[error("the Dropbox token file {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> TokenFileError + '_ {
    move |source| TokenFileError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Read the tokens, refusing a file group or others could read or write.
pub fn load_tokens(path: &Path) -> Result<Tokens, TokenFileError> {
    let mut file = File::open(path).map_err(io_error(path))?;
    let mode = file
        .metadata()
        .map_err(io_error(path))?
        .permissions()
        .mode()
        & 0o7777;
    if mode & GROUP_OTHER_BITS != 0 {
        return Err(TokenFileError::InsecurePermissions {
            path: path.to_owned(),
            mode,
        });
    }
    let mut text = String::new();
    io::Read::read_to_string(&mut file, &mut text).map_err(io_error(path))?;
    // serde's message names the field, never its value, so no secret leaks into it.
    serde_json::from_str(&text).map_err(|error| TokenFileError::Malformed {
        path: path.to_owned(),
        detail: error.to_string(),
    })
}

/// Replace the file with `tokens`: a fresh 0600 temp file beside it, fsync, rename, fsync dir.
pub fn save_tokens(path: &Path, tokens: &Tokens) -> Result<(), TokenFileError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let json = serde_json::to_vec_pretty(tokens).map_err(|error| TokenFileError::Malformed {
        path: path.to_owned(),
        detail: error.to_string(),
    })?;
    let written = write_private(&temp, &json).and_then(|()| fs::rename(&temp, path));
    if let Err(source) = written {
        let _ = fs::remove_file(&temp);
        return Err(TokenFileError::Io {
            path: path.to_owned(),
            source,
        });
    }
    // Make the rename itself durable.
    File::open(&dir)
        .and_then(|dir| dir.sync_all())
        .map_err(io_error(path))
}

fn write_private(temp: &Path, bytes: &[u8]) -> io::Result<()> {
    // A stale temp file of ours (crash) may exist; it is only ever ours, so replace it.
    let _ = fs::remove_file(temp);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(TOKEN_FILE_MODE)
        .open(temp)?;
    // The umask can only remove bits, but be explicit in case the file system adds some.
    file.set_permissions(fs::Permissions::from_mode(TOKEN_FILE_MODE))?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dropbox::auth::Secret;

    fn sample() -> Tokens {
        let mut tokens = Tokens::fixed("sl.ACCESS-SECRET");
        tokens.refresh_token = Some(Secret::new("REFRESH-SECRET"));
        tokens.account_id = Some("dbid:1".into());
        tokens.expires_at = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        tokens
    }

    #[test]
    fn saves_with_mode_0600_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dropbox-token.json");
        save_tokens(&path, &sample()).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(load_tokens(&path).unwrap(), sample());
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp file left behind");
    }

    #[test]
    fn overwrites_an_existing_file_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        save_tokens(&path, &Tokens::fixed("first")).unwrap();
        save_tokens(&path, &sample()).unwrap();
        assert_eq!(
            load_tokens(&path).unwrap().access_token.expose(),
            "sl.ACCESS-SECRET"
        );
    }

    #[test]
    fn refuses_a_file_others_can_read_and_says_how_to_fix_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        save_tokens(&path, &sample()).unwrap();
        for loose in [0o644, 0o640, 0o602, 0o620] {
            fs::set_permissions(&path, fs::Permissions::from_mode(loose)).unwrap();
            let error = load_tokens(&path).unwrap_err();
            assert!(
                matches!(error, TokenFileError::InsecurePermissions { .. }),
                "{error:?}"
            );
            let message = error.to_string();
            assert!(
                message.contains(&format!("chmod 600 {}", path.display())),
                "{message}"
            );
            assert!(!message.contains("SECRET"), "{message}");
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
        assert!(load_tokens(&path).is_ok(), "owner read-only is fine");
    }

    #[test]
    fn a_damaged_file_names_no_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        write_private(&path, br#"{"access_token":"sl.ACCESS-SECRET"}"#).unwrap();
        let message = load_tokens(&path).unwrap_err().to_string();
        assert!(
            message.contains("damaged") && !message.contains("SECRET"),
            "{message}"
        );
    }
}
