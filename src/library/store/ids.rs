//! The library's ids ([`crate::library::ids`]) bound and read as SQLite integers.

use rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use crate::library::ids::{
    AccountId, AdminId, BatchId, CollectionId, CommandId, ConnectionId, FileId, ItemId, LinkId,
    ProcessId, ReservationId,
};

macro_rules! sql_id {
    ($($name:ident),* $(,)?) => {$(
        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.0))
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                i64::column_result(value).map($name)
            }
        }
    )*};
}

sql_id!(
    AccountId,
    AdminId,
    FileId,
    CollectionId,
    ItemId,
    LinkId,
    ConnectionId,
    ProcessId,
    ReservationId,
    BatchId,
    CommandId,
);
