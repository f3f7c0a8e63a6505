//! The body of a local download: the open file, checked at its end against the inode's state at
//! open. A local file has no content hash to verify against, so a write during the read (same
//! size or not) must be caught this way, or a mix of two versions could be committed.

use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

use super::fs_at;

/// What must not change while a file is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    dev: u64,
    ino: u64,
    size: i64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Fingerprint {
    pub fn of(stat: &libc::stat) -> Fingerprint {
        Fingerprint {
            dev: stat.st_dev,
            ino: stat.st_ino,
            size: stat.st_size,
            mtime: (stat.st_mtime, stat.st_mtime_nsec),
            ctime: (stat.st_ctime, stat.st_ctime_nsec),
        }
    }
}

/// Reads `inner`; at its end, fails with `InvalidData` if the file changed since `opened`.
///
/// Reads are plain blocking reads, not `tokio::fs` ones: the importer consumes this body on a
/// blocking thread already (through `SyncIoBridge`), where `tokio::fs` would hand every read to
/// yet another blocking thread and back — two thread wake-ups per read, per small file.
pub struct ChangeGuardedFile {
    inner: std::fs::File,
    fd: RawFd,
    opened: Fingerprint,
    display_path: String,
}

impl ChangeGuardedFile {
    pub fn new(file: std::fs::File, opened: Fingerprint, display_path: String) -> Self {
        let fd = file.as_raw_fd();
        ChangeGuardedFile {
            inner: file,
            fd,
            opened,
            display_path,
        }
    }

    fn check_unchanged(&self) -> io::Result<()> {
        let now = Fingerprint::of(&fs_at::stat_fd(self.fd)?);
        if now == self.opened {
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} changed while it was read (was {:?}, now {:?})",
                self.display_path, self.opened, now
            ),
        ))
    }
}

impl AsyncRead for ChangeGuardedFile {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let read = loop {
            match self.inner.read(buf.initialize_unfilled()) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        match read {
            // End of file: the bytes handed out are one version only if nothing changed.
            Ok(0) => Poll::Ready(self.check_unchanged()),
            Ok(n) => {
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}
