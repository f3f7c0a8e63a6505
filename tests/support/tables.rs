//! Every row of every table of a library's database, as text, for tests that claim an action
//! "writes nothing": equal before and after means no table changed (not only the audit trail).

use std::path::Path;

/// Every row of every table of `data`'s `library.sqlite3`, table by table, as text.
pub fn every_table(data: &Path) -> String {
    let conn = rusqlite::Connection::open_with_flags(
        data.join("library.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(!tables.is_empty(), "no tables in {}", data.display());
    let mut out = String::new();
    for table in tables {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM \"{table}\" ORDER BY rowid"))
            .or_else(|_| conn.prepare(&format!("SELECT * FROM \"{table}\"")))
            .unwrap();
        let columns = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                Ok((0..columns)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap();
        out.push_str(&format!("[{table}]\n"));
        for row in rows {
            out.push_str(&row.unwrap());
            out.push('\n');
        }
    }
    out
}
