//! A reader that checks a download while it streams: it counts the bytes and computes the
//! Dropbox content hash, and turns the end of the stream into an error when either does not
//! match what Dropbox said it was sending.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

use crate::dropbox::content_hash::ContentHasher;
use crate::pipelined_hash::PipelinedHasher;

pub struct VerifiedBody<R> {
    inner: R,
    expected_size: u64,
    expected_hash: Option<String>,
    received: u64,
    /// Only when there is a hash to compare with: hashing costs a full pass over the bytes, so
    /// large downloads hash on a second thread. Feeding it may wait briefly when that thread
    /// lags (bounded backpressure); the engine reads bodies on blocking threads.
    hasher: Option<PipelinedHasher<ContentHasher>>,
    /// The end-of-stream checks ran (they run once).
    finished: bool,
}

impl<R> VerifiedBody<R> {
    /// `expected_hash = None` checks the size only (Dropbox marks the hash optional).
    pub fn new(inner: R, expected_size: u64, expected_hash: Option<String>) -> Self {
        VerifiedBody {
            inner,
            expected_size,
            received: 0,
            hasher: expected_hash
                .as_ref()
                .map(|_| PipelinedHasher::new(ContentHasher::new())),
            expected_hash,
            finished: false,
        }
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

impl<R: AsyncRead + Unpin> AsyncRead for VerifiedBody<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {}
            other => return other,
        }
        let fresh_len = buf.filled().len() - before;
        if fresh_len > 0 {
            this.received += fresh_len as u64;
            if this.received > this.expected_size {
                // An error must not come with bytes (AsyncRead contract): take them back.
                buf.set_filled(before);
                return Poll::Ready(Err(invalid(format!(
                    "download is longer than the {} bytes Dropbox announced",
                    this.expected_size
                ))));
            }
            if let Some(hasher) = this.hasher.as_mut() {
                hasher.update(&buf.filled()[before..]);
            }
            return Poll::Ready(Ok(()));
        }
        // End of stream: only now is the download known to be whole and intact.
        if std::mem::replace(&mut this.finished, true) {
            return Poll::Ready(Ok(()));
        }
        if this.received != this.expected_size {
            return Poll::Ready(Err(invalid(format!(
                "download ended after {} of {} bytes",
                this.received, this.expected_size
            ))));
        }
        let actual = match this.hasher.take().map(PipelinedHasher::finish).transpose() {
            Ok(hasher) => hasher.map(ContentHasher::finalize),
            Err(e) => return Poll::Ready(Err(e)),
        };
        match (&this.expected_hash, actual) {
            (Some(expected), Some(actual)) if !expected.eq_ignore_ascii_case(&actual) => {
                Poll::Ready(Err(invalid(format!(
                    "content hash mismatch: Dropbox said {expected}, the bytes hash to {actual}"
                ))))
            }
            _ => Poll::Ready(Ok(())),
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;
    use crate::dropbox::content_hash::content_hash;

    async fn read_all(data: &[u8], size: u64, hash: Option<String>) -> io::Result<Vec<u8>> {
        let mut body = VerifiedBody::new(data, size, hash);
        let mut out = Vec::new();
        body.read_to_end(&mut out).await?;
        Ok(out)
    }

    #[tokio::test]
    async fn passes_a_whole_and_correct_body() {
        let data = b"hello dropbox".to_vec();
        let out = read_all(&data, data.len() as u64, Some(content_hash(&data)))
            .await
            .unwrap();
        assert_eq!(out, data);
    }

    #[tokio::test]
    async fn fails_a_short_body_at_its_end() {
        let data = b"hello".to_vec();
        let err = read_all(&data, 10, Some(content_hash(b"hello world")))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("5 of 10"), "{err}");
    }

    #[tokio::test]
    async fn fails_a_body_longer_than_announced() {
        let err = read_all(b"hello world", 5, None).await.unwrap_err();
        assert!(err.to_string().contains("longer"), "{err}");
    }

    #[tokio::test]
    async fn fails_a_body_whose_hash_differs() {
        let data = b"hello".to_vec();
        let err = read_all(&data, 5, Some(content_hash(b"jello")))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("content hash mismatch"), "{err}");
    }
}
