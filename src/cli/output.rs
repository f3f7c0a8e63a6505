//! Printing results: aligned plain-text tables for people, stable JSON for scripts.
//! Untrusted text is escaped before it reaches the terminal.

use serde::Serialize;
use smartimage::library::formats;
use smartimage::library::policy::PlanCatalog;
use smartimage::terminal_text::escape_for_terminal;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Failure, Outcome};

/// Bytes in binary units ("1.5 GiB").
pub fn bytes(n: u64) -> String {
    bytesize::ByteSize::b(n).display().iec().to_string()
}

/// Unix seconds as RFC 3339 UTC ("2026-11-27T14:00:00Z").
pub fn timestamp(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

pub fn json<T: Serialize>(value: &T) -> Outcome {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::runtime(format!("cannot encode JSON: {e}")))?;
    println!("{text}");
    Ok(())
}

/// A plain table: a header row and data rows, columns padded to their widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| escape_for_terminal(c).into_owned())
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &cells {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |row: &[String]| {
        let padded: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = widths[i]))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(&headers.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    for row in &cells {
        line(row);
    }
}

pub fn print_formats(markdown: bool) -> Outcome {
    if markdown {
        print!("{}", formats::support_table_markdown());
        return Ok(());
    }
    let rows: Vec<Vec<String>> = formats::FORMAT_TABLE
        .iter()
        .map(|row| {
            let verdict = match row.support {
                formats::Support::Supported(kind) => kind.as_str().to_owned(),
                formats::Support::Unsupported(category) => format!("not supported ({category})"),
            };
            let extensions: Vec<String> = row.extensions.iter().map(|e| format!(".{e}")).collect();
            vec![verdict, row.name.to_owned(), extensions.join(" ")]
        })
        .collect();
    table(&["KIND", "FORMAT", "EXTENSIONS"], &rows);
    Ok(())
}

#[derive(Serialize)]
struct PlanJson<'a> {
    name: &'a str,
    storage_limit_bytes: u64,
    video_bytes_per_month: u64,
    max_video_bytes: u64,
}

pub fn print_plans(plans: &PlanCatalog, as_json: bool) -> Outcome {
    let list: Vec<PlanJson<'_>> = plans
        .names()
        .filter_map(|n| plans.get(n))
        .map(|p| PlanJson {
            name: &p.name,
            storage_limit_bytes: p.storage_limit_bytes,
            video_bytes_per_month: p.video_bytes_per_month,
            max_video_bytes: p.max_video_bytes,
        })
        .collect();
    if as_json {
        return json(&list);
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|p| {
            let video = if p.video_bytes_per_month == 0 {
                "no video".to_owned()
            } else {
                format!("{} a month", bytes(p.video_bytes_per_month))
            };
            vec![
                p.name.to_owned(),
                bytes(p.storage_limit_bytes),
                video,
                bytes(p.max_video_bytes),
            ]
        })
        .collect();
    table(&["PLAN", "STORAGE", "VIDEO", "MAX VIDEO"], &rows);
    Ok(())
}
