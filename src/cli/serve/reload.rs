//! SIGHUP: which config keys a running `serve` takes up, and which of them changed. Every key
//! the import engine uses reloads (the engine restarts with them); the data dir is not a config
//! key (`--data-dir`, `SMARTIMAGE_DATA_DIR`) and needs a restart of the service, and `[export]`
//! and `[keys]` are not used by `serve` at all.

use smartimage::config::Config;

/// The keys that reload, as README.md lists them.
pub const RELOADED_KEYS: &[&str] = &[
    "import.download_workers",
    "import.synced_folder_stable_secs",
    "import.remove_emptied_folders",
    "import.transient_attempts",
    "import.transient_spread_secs",
    "dropbox.app_key",
    "dropbox.endpoint",
    "plans.*",
];

/// The reloaded keys whose values differ between `old` and `new`.
pub fn changed_keys(old: &Config, new: &Config) -> Vec<&'static str> {
    let (o, n) = (&old.import, &new.import);
    let changes = [
        o.download_workers != n.download_workers,
        o.synced_folder_stable_secs != n.synced_folder_stable_secs,
        o.remove_emptied_folders != n.remove_emptied_folders,
        o.transient_attempts != n.transient_attempts,
        o.transient_spread_secs != n.transient_spread_secs,
        old.dropbox.app_key != new.dropbox.app_key,
        old.dropbox.endpoint != new.dropbox.endpoint,
        old.plans != new.plans,
    ];
    RELOADED_KEYS
        .iter()
        .zip(changes)
        .filter_map(|(key, changed)| changed.then_some(*key))
        .collect()
}

/// The log line once the engine runs again with `new`.
pub fn reloaded_line(old: &Config, new: &Config) -> String {
    let changed = changed_keys(old, new);
    format!(
        "reloaded the configuration: {} (changed: {})",
        RELOADED_KEYS.join(", "),
        if changed.is_empty() {
            "none".to_owned()
        } else {
            changed.join(", ")
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse(text: &str) -> Config {
        Config::parse(text, Path::new("config.toml")).unwrap()
    }

    #[test]
    fn names_the_reloaded_keys_that_changed() {
        let old = parse("[import]\ndownload_workers = 2\n");
        let new = parse(
            "[import]\ndownload_workers = 3\n[plans.team]\nstorage_limit_bytes = 1000\n[export]\nparallel_sends = 2\n",
        );
        assert_eq!(
            changed_keys(&old, &new),
            ["import.download_workers", "plans.*"]
        );
        let line = reloaded_line(&old, &new);
        assert!(
            line.starts_with("reloaded the configuration: import.download_workers, "),
            "{line}"
        );
        assert!(
            line.ends_with("(changed: import.download_workers, plans.*)"),
            "{line}"
        );
        assert!(reloaded_line(&old, &old).ends_with("(changed: none)"));
    }
}
