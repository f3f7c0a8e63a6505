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

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;

    #[test]
    fn an_id_binds_and_reads_as_its_integer() {
        let c = Connection::open_in_memory().unwrap();
        let (back, kind): (FileId, String) = c
            .query_row("SELECT ?1, typeof(?1)", [FileId(5)], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((back, kind.as_str()), (FileId(5), "integer"));
        let none: Option<AccountId> = c.query_row("SELECT NULL", [], |r| r.get(0)).unwrap();
        assert_eq!(none, None);
        assert!(
            c.query_row("SELECT 'x'", [], |r| r.get::<_, LinkId>(0))
                .is_err(),
            "text is not an id"
        );
    }
}
