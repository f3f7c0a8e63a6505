//! What the footer says while a send to Dropbox (or a share that sends first) runs: files
//! done of all, bytes sent (those of files in flight included), and a file being retried.

use std::collections::HashMap;

use crate::export::ExportEvent;

use super::text::bytes;

/// A send (or a share that sends first) under way, for the footer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SendProgress {
    /// "sending" or "sharing".
    pub verb: &'static str,
    pub files: usize,
    pub sent: usize,
    pub failed: usize,
    pub total_bytes: u64,
    /// Bytes of the files finished.
    done_bytes: u64,
    /// Bytes so far of each file in flight, by index.
    in_flight: HashMap<usize, u64>,
    /// The file last being tried again ("retrying a.png (try 2)").
    pub retrying: Option<String>,
}

impl SendProgress {
    pub fn new(verb: &'static str) -> SendProgress {
        SendProgress {
            verb,
            ..SendProgress::default()
        }
    }

    pub fn bytes(&self) -> u64 {
        self.done_bytes + self.in_flight.values().sum::<u64>()
    }

    pub fn apply(&mut self, event: &ExportEvent) {
        match event {
            ExportEvent::Planned {
                files,
                bytes: total,
                ..
            } => {
                self.files = *files;
                self.total_bytes = *total;
            }
            ExportEvent::Progress { index, bytes, .. } => {
                self.in_flight.insert(*index, *bytes);
            }
            ExportEvent::Sent { index, .. } => {
                self.sent += 1;
                self.done_bytes += self.in_flight.remove(index).unwrap_or_default();
            }
            ExportEvent::Failed { index, .. } => {
                self.failed += 1;
                self.in_flight.remove(index);
            }
            ExportEvent::Retrying {
                index,
                name,
                attempt,
                ..
            } => {
                self.in_flight.remove(index);
                self.retrying = Some(format!("retrying {name} (try {})", attempt + 1));
            }
        }
    }

    /// The footer's line: short, it shares the row with the key hints.
    pub fn line(&self) -> String {
        if self.files == 0 {
            return format!("{}…", self.verb);
        }
        let mut line = format!(
            "{} {}/{} files, {} of {}",
            self.verb,
            self.sent + self.failed,
            self.files,
            bytes(self.bytes()),
            bytes(self.total_bytes)
        );
        if let Some(retrying) = &self.retrying {
            line.push_str(", ");
            line.push_str(retrying);
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dropbox::sending::SentVia;

    #[test]
    fn the_footer_counts_files_and_bytes_including_those_in_flight() {
        let mut progress = SendProgress::new("sending");
        assert_eq!(progress.line(), "sending…");
        progress.apply(&ExportEvent::Planned {
            account: "Acme".into(),
            folder: "/Acme (from Smartimage)".into(),
            files: 3,
            bytes: 3 * 1024,
        });
        progress.apply(&ExportEvent::Progress {
            index: 0,
            name: "a.png".into(),
            bytes: 1024,
            total: 1024,
        });
        progress.apply(&ExportEvent::Sent {
            index: 0,
            name: "a.png".into(),
            path: "/Acme (from Smartimage)/a.png".into(),
            via: SentVia::Upload,
        });
        progress.apply(&ExportEvent::Progress {
            index: 1,
            name: "b.png".into(),
            bytes: 512,
            total: 1024,
        });
        assert_eq!(progress.line(), "sending 1/3 files, 1.5 KiB of 3.0 KiB");
        progress.apply(&ExportEvent::Retrying {
            index: 1,
            name: "b.png".into(),
            attempt: 1,
            reason: "too many requests".into(),
        });
        assert_eq!(
            progress.line(),
            "sending 1/3 files, 1.0 KiB of 3.0 KiB, retrying b.png (try 2)"
        );
        progress.apply(&ExportEvent::Failed {
            index: 2,
            name: "c.png".into(),
            reason: "no".into(),
        });
        assert_eq!((progress.sent, progress.failed), (1, 1));
    }
}
