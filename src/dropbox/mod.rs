//! Everything that speaks Dropbox. Knows nothing about the Smartimage library.
