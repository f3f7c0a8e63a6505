//! The blob store's half of the library identity (`store::identity` holds the other): a small
//! `IDENTITY` file in the root naming the library it belongs to and the newest epoch it has
//! seen. Written whole to a temp file, synced and renamed, under a lock so two processes
//! moving the epoch keep the larger one.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::io::AsRawFd;

use super::{BlobStore, IoContext, sync_dir};

const IDENTITY_FILE: &str = "IDENTITY";
const IDENTITY_LOCK: &str = "IDENTITY.lock";
const IDENTITY_TEMP: &str = "IDENTITY.tmp";

/// What the blob store says of itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobStoreIdentity {
    pub library_id: String,
    pub epoch: u64,
}

pub(super) fn is_its_file(name: &OsStr) -> bool {
    name == IDENTITY_FILE || name == IDENTITY_LOCK || name == IDENTITY_TEMP
}

impl BlobStore {
    /// The identity recorded in the blob store, or `None` for a store no library has bound yet.
    pub fn identity(&self) -> io::Result<Option<BlobStoreIdentity>> {
        let path = self.root().join(IDENTITY_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).context("reading", &path),
        };
        parse(&text).map(Some).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is not a blob store identity file", path.display()),
            )
        })
    }

    /// Records `identity`; an epoch never goes back (another process may have moved it further).
    pub fn record_identity(&self, identity: &BlobStoreIdentity) -> io::Result<BlobStoreIdentity> {
        let lock_path = self.root().join(IDENTITY_LOCK);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .context("opening", &lock_path)?;
        lock_exclusive(&lock).context("locking", &lock_path)?;
        let mut recorded = identity.clone();
        if let Some(current) = self.identity()?
            && current.library_id == identity.library_id
        {
            recorded.epoch = recorded.epoch.max(current.epoch);
        }
        let temp = self.root().join(IDENTITY_TEMP);
        let mut file = File::create(&temp).context("writing", &temp)?;
        file.write_all(render(&recorded).as_bytes())
            .and_then(|()| file.sync_all())
            .context("writing", &temp)?;
        fs::rename(&temp, self.root().join(IDENTITY_FILE)).context("renaming", &temp)?;
        sync_dir(self.root())?;
        Ok(recorded)
    }
}

fn render(identity: &BlobStoreIdentity) -> String {
    format!(
        "smartimage blob store\nlibrary {}\nepoch {}\n",
        identity.library_id, identity.epoch
    )
}

fn parse(text: &str) -> Option<BlobStoreIdentity> {
    let mut lines = text.lines();
    if lines.next()? != "smartimage blob store" {
        return None;
    }
    let library_id = lines.next()?.strip_prefix("library ")?.to_owned();
    let epoch = lines.next()?.strip_prefix("epoch ")?.parse().ok()?;
    Some(BlobStoreIdentity { library_id, epoch })
}

/// The lock goes with the file descriptor, when `record_identity` returns.
fn lock_exclusive(file: &File) -> io::Result<()> {
    // SAFETY: flock on a descriptor we own; it only blocks until the lock is ours.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identity_reads_back_and_its_epoch_never_goes_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        assert_eq!(store.identity().unwrap(), None);
        let five = BlobStoreIdentity {
            library_id: "abc".into(),
            epoch: 5,
        };
        store.record_identity(&five).unwrap();
        assert_eq!(store.identity().unwrap(), Some(five.clone()));
        let three = BlobStoreIdentity {
            epoch: 3,
            ..five.clone()
        };
        assert_eq!(store.record_identity(&three).unwrap().epoch, 5);
        let other = BlobStoreIdentity {
            library_id: "def".into(),
            epoch: 1,
        };
        assert_eq!(
            store.record_identity(&other).unwrap(),
            other,
            "rebinding replaces"
        );
        assert_eq!(
            store.inventory(|_| {}).unwrap().foreign,
            Vec::<std::path::PathBuf>::new()
        );
    }
}
