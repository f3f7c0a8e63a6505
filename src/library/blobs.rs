//! Content-addressed blob store: `blobs/ab/cd/<sha256>`, written through a temp file, fsync'd,
//! renamed into place, directory fsync'd.
