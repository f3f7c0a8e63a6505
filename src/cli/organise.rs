//! Verbs about files and collections: `files list|show|delete|restore`, `collection list|add`.

use clap::{Subcommand, ValueEnum};
use serde::Serialize;
use smartimage::library::file_info::FileDetails;
use smartimage::library::ids::{BatchId, CollectionId, FileId};
use smartimage::library::model::{FileRecord, Source};
use smartimage::library::organise::{FileFilter, FileSelection, ListScope};
use smartimage::library::store::TrashFilter;
use smartimage::library::store::files::SortKey;

use super::output::{bytes, json, table, timestamp};
use super::trashing::{self, DeleteArgs};
use super::{Context, Failure, Outcome};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SourceArg {
    Dropbox,
    Upload,
    Recovered,
}

impl From<SourceArg> for Source {
    fn from(s: SourceArg) -> Source {
        match s {
            SourceArg::Dropbox => Source::Dropbox,
            SourceArg::Upload => Source::Upload,
            SourceArg::Recovered => Source::Recovered,
        }
    }
}

/// The order of `files list`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SortArg {
    /// Newest import first (the default)
    Imported,
    /// Newest capture time first (a file without one by its import time)
    Taken,
    Name,
    /// Biggest first
    Size,
    Kind,
}

impl From<SortArg> for SortKey {
    fn from(s: SortArg) -> SortKey {
        match s {
            SortArg::Imported => SortKey::Imported,
            SortArg::Taken => SortKey::Taken,
            SortArg::Name => SortKey::Name,
            SortArg::Size => SortKey::Size,
            SortArg::Kind => SortKey::Kind,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum FilesCommand {
    /// Files in All Files, newest first
    List {
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
        /// Only files from this source ("dropbox" = Dropbox uploads)
        #[arg(long, value_enum)]
        source: Option<SourceArg>,
        #[arg(long, value_name = "NAME")]
        collection: Option<String>,
        /// The files in the trash instead of those in the library
        #[arg(long)]
        trashed: bool,
        /// Only duplicates: files whose bytes an older file of their account has
        #[arg(long)]
        duplicates: bool,
        /// Only files from this camera: make and model as `files show` prints it, any case
        #[arg(long, value_name = "CAMERA")]
        camera: Option<String>,
        /// Only files taken on or after this day (YYYY-MM-DD, the camera's clock)
        #[arg(long, value_name = "DAY")]
        taken_from: Option<String>,
        /// Only files taken on or before this day (YYYY-MM-DD, the camera's clock)
        #[arg(long, value_name = "DAY")]
        taken_to: Option<String>,
        #[arg(long, value_enum, default_value = "imported")]
        sort: SortArg,
        #[arg(long)]
        json: bool,
    },
    /// Move files to the trash (by id, or every file matching --account/--source/--collection);
    /// they still count against storage until the trash is emptied
    Delete {
        /// File ids (see `smartimage files list`)
        #[arg(value_name = "FILE_ID")]
        ids: Vec<FileId>,
        /// Every file of this account (with --source or --collection: those of it)
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
        #[arg(long, value_enum)]
        source: Option<SourceArg>,
        #[arg(long, value_name = "NAME")]
        collection: Option<String>,
        /// Say what would move; move nothing
        #[arg(long)]
        dry_run: bool,
        /// Do not ask (required when standard input is not a terminal)
        #[arg(long)]
        yes: bool,
        #[arg(long)]
        json: bool,
    },
    /// Bring files back from the trash, with their collections
    Restore {
        #[arg(value_name = "FILE_ID")]
        ids: Vec<FileId>,
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// One file: every column and its metadata (camera, capture time, size, duration, pages)
    Show {
        /// File id (see `smartimage files list`)
        #[arg(value_name = "FILE_ID")]
        id: FileId,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum CollectionCommand {
    /// Collections you may see, with their file counts
    List {
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Add files (by id, or every file from a source) to a collection, in one transaction
    Add {
        #[arg(long, value_name = "NAME")]
        account: String,
        #[arg(long, value_name = "NAME")]
        collection: String,
        /// Create the collection (it must not exist yet)
        #[arg(long)]
        create: bool,
        /// Every file of the account from this source, e.g. `--source dropbox`
        #[arg(long, value_enum, conflicts_with = "file_ids")]
        source: Option<SourceArg>,
        /// File ids (see `smartimage files list`)
        #[arg(value_name = "FILE_ID")]
        file_ids: Vec<FileId>,
        #[arg(long)]
        json: bool,
    },
}

/// The stable JSON shape of a file (README "JSON output").
#[derive(Serialize)]
pub struct FileJson<'a> {
    pub id: FileId,
    pub account: &'a str,
    pub name: &'a str,
    pub size: u64,
    pub kind: &'a str,
    pub format: &'a str,
    pub mime: &'a str,
    pub sha256: &'a str,
    pub source: &'a str,
    pub uploaded_by: Option<&'a str>,
    pub collections: &'a [String],
    pub dropbox_path: Option<&'a str>,
    pub imported_at: String,
    /// When it went to the trash; `null` for a file in the library.
    pub trashed_at: Option<String>,
    /// The id of the account's older file with the same bytes (outside the trash), or `null`.
    pub duplicate_of: Option<FileId>,
    /// The import batch that brought it in (`import history`), or `null`.
    pub batch: Option<BatchId>,
    /// When it was taken (`YYYY-MM-DDTHH:MM:SS`, the camera's clock), or `null`.
    pub taken_at: Option<&'a str>,
    /// Camera make and model, or `null`.
    pub camera: Option<&'a str>,
}

impl<'a> From<&'a FileRecord> for FileJson<'a> {
    fn from(f: &'a FileRecord) -> Self {
        FileJson {
            id: f.id,
            account: &f.account_name,
            name: &f.name,
            size: f.size,
            kind: &f.kind,
            format: &f.format,
            mime: &f.mime,
            sha256: &f.sha256,
            source: f.source.as_str(),
            uploaded_by: f.uploaded_by.as_deref(),
            collections: &f.collections,
            dropbox_path: f.dropbox_path.as_deref(),
            imported_at: timestamp(f.imported_at),
            trashed_at: f.trashed_at.map(timestamp),
            duplicate_of: f.duplicate_of,
            batch: f.batch,
            taken_at: f.taken.as_deref(),
            camera: f.camera.as_deref(),
        }
    }
}

/// A file's metadata in `files show --json` (README "File metadata"): every key always there,
/// `null` where the file does not say or was not read yet.
#[derive(Serialize)]
struct MetadataJson<'a> {
    width: Option<u32>,
    height: Option<u32>,
    orientation: Option<&'static str>,
    exif_orientation: Option<u8>,
    taken_at: Option<&'a str>,
    camera_make: Option<&'a str>,
    camera_model: Option<&'a str>,
    lens: Option<&'a str>,
    has_gps: Option<bool>,
    /// Owners of the account and operators only; `null` for others.
    gps: Option<GpsJson>,
    duration_secs: Option<f64>,
    video_codec: Option<&'a str>,
    pages: Option<u32>,
    /// `pending` (not read yet), `read`, `nothing`, `unreadable`, `too_large`, `timed_out`,
    /// `missing`.
    status: &'static str,
}

#[derive(Serialize)]
struct GpsJson {
    latitude: f64,
    longitude: f64,
}

#[derive(Serialize)]
struct FileShowJson<'a> {
    #[serde(flatten)]
    file: FileJson<'a>,
    metadata: MetadataJson<'a>,
}

impl<'a> From<&'a FileDetails> for MetadataJson<'a> {
    fn from(d: &'a FileDetails) -> Self {
        let Some(read) = &d.metadata else {
            return MetadataJson {
                width: None,
                height: None,
                orientation: None,
                exif_orientation: None,
                taken_at: None,
                camera_make: None,
                camera_model: None,
                lens: None,
                has_gps: None,
                gps: None,
                duration_secs: None,
                video_codec: None,
                pages: None,
                status: "pending",
            };
        };
        let m = &read.metadata;
        MetadataJson {
            width: m.width,
            height: m.height,
            orientation: m.shape(),
            exif_orientation: m.orientation,
            taken_at: m.taken_at.as_deref(),
            camera_make: m.camera_make.as_deref(),
            camera_model: m.camera_model.as_deref(),
            lens: m.lens.as_deref(),
            has_gps: m.has_gps,
            gps: m
                .gps
                .filter(|_| d.location_shown)
                .map(|(latitude, longitude)| GpsJson {
                    latitude,
                    longitude,
                }),
            duration_secs: m.duration_ms.map(|ms| ms as f64 / 1000.0),
            video_codec: m.video_codec.as_deref(),
            pages: m.pages,
            status: read.outcome.as_str(),
        }
    }
}

fn show_file(cx: &mut Context, id: FileId, as_json: bool) -> Outcome {
    let actor = cx.actor()?;
    let details = cx.library.file_details(&actor, id)?;
    let metadata = MetadataJson::from(&details);
    if as_json {
        return json(&FileShowJson {
            file: FileJson::from(&details.record),
            metadata,
        });
    }
    let f = &details.record;
    let text = |v: Option<&str>| v.unwrap_or("-").to_owned();
    let number = |v: Option<u32>| v.map_or("-".into(), |n| n.to_string());
    let mut rows = vec![
        ("id", f.id.to_string()),
        ("account", f.account_name.clone()),
        ("name", f.name.clone()),
        ("kind", f.kind.clone()),
        ("format", f.format.clone()),
        ("size", bytes(f.size)),
        ("source", f.source.label().to_owned()),
        ("imported (UTC)", timestamp(f.imported_at)),
        ("dropbox path", text(f.dropbox_path.as_deref())),
        ("collections", f.collections.join(", ")),
        ("sha256", f.sha256.clone()),
        ("metadata", metadata.status.to_owned()),
    ];
    let dims = match (metadata.width, metadata.height) {
        (Some(w), Some(h)) => format!("{w} x {h} ({})", metadata.orientation.unwrap_or("-")),
        _ => "-".into(),
    };
    rows.extend([
        ("dimensions", dims),
        ("taken", text(metadata.taken_at)),
        ("camera make", text(metadata.camera_make)),
        ("camera model", text(metadata.camera_model)),
        ("lens", text(metadata.lens)),
        (
            "gps",
            match (metadata.has_gps, &metadata.gps) {
                (_, Some(g)) => format!("{:.6}, {:.6}", g.latitude, g.longitude),
                (Some(true), None) if details.location_shown => "yes".into(),
                (Some(true), None) => "yes (the position is shown to owners)".into(),
                (Some(false), None) => "no".into(),
                (None, None) => "-".into(),
            },
        ),
        (
            "duration",
            metadata
                .duration_secs
                .map_or("-".into(), |s| format!("{s:.1} s")),
        ),
        ("video codec", text(metadata.video_codec)),
        ("pages", number(metadata.pages)),
    ]);
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|(k, v)| vec![k.to_owned(), v])
        .collect();
    table(&["FIELD", "VALUE"], &rows);
    Ok(())
}

pub fn files(cx: &mut Context, command: FilesCommand) -> Outcome {
    let (filter, scope, as_json) = match command {
        FilesCommand::List {
            account,
            source,
            collection,
            trashed,
            duplicates,
            camera,
            taken_from,
            taken_to,
            sort,
            json,
        } => (
            FileFilter {
                account,
                source: source.map(Source::from),
                collection,
                camera,
                taken_from,
                taken_to,
                ..FileFilter::default()
            },
            ListScope {
                trash: if trashed {
                    TrashFilter::Trashed
                } else {
                    TrashFilter::Live
                },
                duplicates_only: duplicates,
                sort: sort.into(),
            },
            json,
        ),
        FilesCommand::Show { id, json } => return show_file(cx, id, json),
        FilesCommand::Delete {
            ids,
            account,
            source,
            collection,
            dry_run,
            yes,
            json,
        } => {
            let args = DeleteArgs {
                ids,
                account,
                source,
                collection,
                dry_run,
                yes,
                json,
            };
            return trashing::delete(cx, args);
        }
        FilesCommand::Restore { ids, dry_run, json } => {
            return trashing::restore(cx, &ids, dry_run, json);
        }
    };
    let actor = cx.actor()?;
    let files = cx.library.list_files_in(&actor, &filter, scope)?;
    if as_json {
        return json(&files.iter().map(FileJson::from).collect::<Vec<_>>());
    }
    let taken = scope.sort == SortKey::Taken
        || filter.camera.is_some()
        || filter.taken_from.is_some()
        || filter.taken_to.is_some();
    print_files_with(&files, scope.trash == TrashFilter::Trashed, taken);
    Ok(())
}

/// The table of `files list` (and `trash list`, with the time each went to the trash).
pub fn print_files(files: &[FileRecord], trashed: bool) {
    print_files_with(files, trashed, false);
}

/// `taken`: with the capture time and camera (when sorting or filtering by them).
fn print_files_with(files: &[FileRecord], trashed: bool, taken: bool) {
    let rows: Vec<Vec<String>> = files
        .iter()
        .map(|f| {
            let mut name = f.name.clone();
            if let Some(original) = f.duplicate_of {
                name.push_str(&format!(" (duplicate of #{original})"));
            }
            let mut row = vec![
                f.id.to_string(),
                f.account_name.clone(),
                name,
                f.kind.clone(),
                bytes(f.size),
                f.source.label().to_owned(),
                f.collections.join(", "),
                timestamp(f.imported_at),
            ];
            if trashed {
                row.push(f.trashed_at.map(timestamp).unwrap_or_default());
            }
            if taken {
                row.push(f.taken.as_deref().unwrap_or("—").replacen('T', " ", 1));
                row.push(f.camera.clone().unwrap_or_default());
            }
            row
        })
        .collect();
    let mut headers = vec![
        "ID",
        "ACCOUNT",
        "NAME",
        "KIND",
        "SIZE",
        "SOURCE",
        "COLLECTIONS",
        "IMPORTED (UTC)",
    ];
    if trashed {
        headers.push("TRASHED (UTC)");
    }
    if taken {
        headers.push("TAKEN");
        headers.push("CAMERA");
    }
    table(&headers, &rows);
}

#[derive(Serialize)]
struct CollectionJson<'a> {
    id: CollectionId,
    account: &'a str,
    name: &'a str,
    files: u64,
    created_at: String,
}

pub fn collection(cx: &mut Context, command: CollectionCommand) -> Outcome {
    let actor = cx.actor()?;
    match command {
        CollectionCommand::List {
            account,
            json: as_json,
        } => {
            let list = cx.library.list_collections(&actor, account.as_deref())?;
            let shaped: Vec<CollectionJson<'_>> = list
                .iter()
                .map(|(account, c)| CollectionJson {
                    id: c.id,
                    account,
                    name: &c.name,
                    files: c.file_count,
                    created_at: timestamp(c.created_at),
                })
                .collect();
            if as_json {
                return json(&shaped);
            }
            let rows: Vec<Vec<String>> = shaped
                .iter()
                .map(|c| vec![c.account.to_owned(), c.name.to_owned(), c.files.to_string()])
                .collect();
            table(&["ACCOUNT", "COLLECTION", "FILES"], &rows);
        }
        CollectionCommand::Add {
            account,
            collection,
            create,
            source,
            file_ids,
            json: as_json,
        } => {
            let selection = match (source, file_ids.is_empty()) {
                (Some(source), _) => FileSelection::Source(source.into()),
                (None, false) => FileSelection::Ids(file_ids),
                (None, true) => {
                    return Err(Failure::usage(
                        "name the files to add: FILE_ID... or --source dropbox",
                    ));
                }
            };
            let outcome =
                cx.library
                    .add_to_collection(&actor, &account, &collection, create, &selection)?;
            if as_json {
                return json(&outcome);
            }
            let created = if outcome.created {
                " (new collection)"
            } else {
                ""
            };
            println!(
                "Added {} file(s) to {:?}{created} in {:?}; {} already there",
                outcome.added, outcome.collection, outcome.account, outcome.already_in_collection
            );
        }
    }
    Ok(())
}
