//! `common.DropboxTimestamp`: UTC, whole seconds, `%Y-%m-%dT%H:%M:%SZ`.
//! Use as `#[serde(with = "timestamp")]` on `time::OffsetDateTime` fields.

use serde::{Deserialize, Deserializer, Serializer};
use time::format_description::BorrowedFormatItem;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

const DROPBOX_TIMESTAMP: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// Formats in UTC and drops sub-second precision, which the wire format cannot carry.
pub fn format(instant: OffsetDateTime) -> String {
    instant
        .to_offset(UtcOffset::UTC)
        .format(DROPBOX_TIMESTAMP)
        .expect("the Dropbox timestamp format has only fields every OffsetDateTime has")
}

/// Parses the exact Dropbox form; other RFC 3339 spellings (fractions, offsets) are accepted too,
/// because the emulator also reads timestamps written by other clients.
pub fn parse(text: &str) -> Result<OffsetDateTime, time::error::Parse> {
    PrimitiveDateTime::parse(text, DROPBOX_TIMESTAMP)
        .map(PrimitiveDateTime::assume_utc)
        .or_else(|exact_error| OffsetDateTime::parse(text, &Rfc3339).map_err(|_| exact_error))
}

pub fn serialize<S: Serializer>(
    instant: &OffsetDateTime,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format(*instant))
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<OffsetDateTime, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse(&text).map_err(|error| {
        serde::de::Error::custom(format!("invalid Dropbox timestamp {text:?}: {error}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn formats_exactly_as_dropbox_does() {
        assert_eq!(
            format(datetime!(2026-01-02 03:04:05 UTC)),
            "2026-01-02T03:04:05Z"
        );
    }

    #[test]
    fn formats_other_offsets_in_utc_without_fraction() {
        assert_eq!(
            format(datetime!(2026-01-02 05:04:05.999 +02:00)),
            "2026-01-02T03:04:05Z"
        );
    }

    #[test]
    fn parses_the_dropbox_form() {
        assert_eq!(
            parse("2026-01-02T03:04:05Z").unwrap(),
            datetime!(2026-01-02 03:04:05 UTC)
        );
    }

    #[test]
    fn parses_rfc3339_variants_from_other_clients() {
        assert_eq!(
            parse("2026-01-02T05:04:05.5+02:00").unwrap(),
            datetime!(2026-01-02 03:04:05.5 UTC)
        );
    }

    #[test]
    fn rejects_text_that_is_no_timestamp() {
        assert!(parse("yesterday").is_err());
        assert!(parse("2026-01-02 03:04:05").is_err());
    }

    #[test]
    fn round_trips_through_serde() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct Stamped {
            #[serde(with = "super")]
            at: OffsetDateTime,
        }
        let json = r#"{"at":"2026-01-02T03:04:05Z"}"#;
        let stamped: Stamped = serde_json::from_str(json).unwrap();
        assert_eq!(stamped.at, datetime!(2026-01-02 03:04:05 UTC));
        assert_eq!(serde_json::to_string(&stamped).unwrap(), json);
    }
}
