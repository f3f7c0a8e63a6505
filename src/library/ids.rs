//! The ids of the library's rows, one type each, so an account id can never be passed where a
//! file id is expected. Each is the row's SQLite integer: `Display` and JSON (`serde`
//! transparent) show the bare number, `FromStr` reads one from the command line, and the store
//! binds and reads them as integers (`library::store::ids`).
//!
//! ```compile_fail
//! use smartimage::library::ids::{AccountId, FileId};
//! fn account_name(_account: AccountId) {}
//! account_name(FileId(7)); // a file id is not an account id
//! ```
//!
//! ```compile_fail
//! use smartimage::library::ids::{LinkId, ItemId};
//! let item: ItemId = LinkId(3);
//! ```
//!
//! ```
//! use smartimage::library::ids::FileId;
//! let id: FileId = "42".parse().unwrap();
//! assert_eq!(id, FileId(42));
//! assert_eq!(id.to_string(), "42");
//! assert_eq!(serde_json::to_string(&id).unwrap(), "42");
//! ```

use std::fmt;
use std::num::ParseIntError;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Declares one id newtype over `i64` with its conversions (the store's are in
/// `library::store::ids`).
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The row's integer, for arithmetic and the edges that speak numbers.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.trim().parse().map($name)
            }
        }
    };
}

id_type!(
    /// A customer account (`accounts.id`).
    AccountId
);
id_type!(
    /// An admin (`admins.id`).
    AdminId
);
id_type!(
    /// A file in the library (`files.id`).
    FileId
);
id_type!(
    /// A collection (`collections.id`).
    CollectionId
);
id_type!(
    /// One Dropbox file revision in the import journal (`import_items.id`).
    ItemId
);
id_type!(
    /// An account's Dropbox folder on one connection (`links.id`).
    LinkId
);
id_type!(
    /// Who we reach Dropbox as (`dropbox_connections.id`).
    ConnectionId
);
id_type!(
    /// A registered live process (`processes.id`).
    ProcessId
);
id_type!(
    /// A quota reservation in flight (`reservations.id`).
    ReservationId
);
id_type!(
    /// An import pass or upload (`import_batches.id`).
    BatchId
);
id_type!(
    /// A command given to whichever engine runs (`engine_commands.id`).
    CommandId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_its_bare_number_in_json_text_and_arguments() {
        assert_eq!(serde_json::to_string(&FileId(42)).unwrap(), "42");
        assert_eq!(
            serde_json::to_string(&Some(LinkId(-3))).unwrap(),
            "-3",
            "upload rows use negative ids"
        );
        assert_eq!(
            serde_json::from_str::<AccountId>("7").unwrap(),
            AccountId(7)
        );
        assert_eq!(format!("file {}", FileId(9)), "file 9");
        assert_eq!(" 12 ".parse::<BatchId>().unwrap(), BatchId(12));
        assert!("12a".parse::<ItemId>().is_err());
        assert!("".parse::<CommandId>().is_err());
    }
}
