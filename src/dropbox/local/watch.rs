//! File-system notifications for the root (inotify on Linux, watched recursively, symlinks not
//! followed). They only say "look again": what changed is always decided by a scan, so a lost
//! or spurious event costs a rescan at worst, and the slow periodic rescan covers the rest.

use std::path::Path;
use std::sync::Arc;

use notify::{Config, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::watch;

pub struct ChangeWatcher {
    /// Kept alive for its inotify thread; `None` if notifications could not be set up.
    watcher: Option<RecommendedWatcher>,
    /// Bumped on every event (and on watcher errors, such as an overflowed queue).
    generation: Arc<watch::Sender<u64>>,
}

impl ChangeWatcher {
    /// Never fails: without notifications the backend still works, on its periodic rescan.
    pub fn start(root: &Path) -> ChangeWatcher {
        let generation = Arc::new(watch::Sender::new(0_u64));
        let sender = Arc::clone(&generation);
        let handler = move |_event: notify::Result<notify::Event>| {
            sender.send_modify(|count| *count = count.wrapping_add(1));
        };
        let watcher =
            RecommendedWatcher::new(handler, Config::default().with_follow_symlinks(false))
                .and_then(|mut watcher| {
                    watcher
                        .watch(root, RecursiveMode::Recursive)
                        .map(|()| watcher)
                });
        let watcher = match watcher {
            Ok(watcher) => Some(watcher),
            Err(error) => {
                tracing::warn!(root = %root.display(), "no file notifications, relying on rescans: {error}");
                None
            }
        };
        ChangeWatcher {
            watcher,
            generation,
        }
    }

    /// A receiver that sees the events from now on; `None` without notifications.
    pub fn subscribe(&self) -> Option<watch::Receiver<u64>> {
        self.watcher.as_ref().map(|_| self.generation.subscribe())
    }
}
