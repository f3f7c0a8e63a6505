//! Command-line parsing and dispatch. Each verb group lives in its own file; all of them go
//! through `smartimage::library::Library`, which checks permissions and writes the audit trail.

mod console;
mod controlling;
mod demo;
mod demo_assets;
mod exporting;
mod importing;
mod linking;
mod maintenance;
mod notifying;
mod organise;
mod output;
mod people;
mod serve;
mod status;
mod trashing;
mod uploading;

use smartimage::library::ids::{FileId, ItemId};
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use smartimage::config::{self, Config};
use smartimage::library::error::{EXIT_BAD_USAGE, EXIT_RUNTIME_FAILURE};
use smartimage::library::local_source::UploadOptions;
use smartimage::library::permissions::Actor;
use smartimage::library::store::links::LinkState;
use smartimage::library::{Library, LibraryError};

#[derive(Parser, Debug)]
#[command(
    name = "smartimage",
    version,
    about = "Terminal console for Smartimage admins: Dropbox uploads, All Files, collections"
)]
pub struct Cli {
    /// Library data directory [default: $SMARTIMAGE_DATA_DIR, else the platform data dir]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Config file [default: the platform config dir's smartimage/config.toml, if present]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Act as this admin [default: $SMARTIMAGE_ADMIN, else the admin bound to your OS user]
    #[arg(
        long = "as",
        global = true,
        value_name = "EMAIL",
        env = "SMARTIMAGE_ADMIN"
    )]
    pub as_admin: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create the first operator of an empty library
    Init {
        /// Email of the operator to create
        #[arg(long, value_name = "EMAIL")]
        operator: String,
        #[arg(long)]
        name: Option<String>,
        /// OS user bound to the operator [default: the current OS user]
        #[arg(long, value_name = "USER")]
        os_user: Option<String>,
    },
    /// Smartimage accounts and their plans
    #[command(subcommand)]
    Account(people::AccountCommand),
    /// Admins, operators and their roles in accounts
    #[command(subcommand)]
    Admin(people::AdminCommand),
    /// Grant (or revoke) an admin the right to link Dropbox for an account (owners only)
    Delegate {
        email: String,
        #[arg(long, value_name = "NAME")]
        account: String,
        #[arg(long)]
        revoke: bool,
    },
    /// Link an account to Dropbox: a synced folder on this machine, or the Dropbox API
    #[command(group = clap::ArgGroup::new("backend").required(true).args(["local_folder", "api"]))]
    Link {
        #[arg(long, value_name = "NAME")]
        account: String,
        /// A folder the Dropbox desktop client keeps in sync (e.g. ~/Dropbox/Apps/Smartimage)
        #[arg(long, value_name = "DIR")]
        local_folder: Option<PathBuf>,
        /// Link through the Dropbox API (shows a page to open, then asks for the code)
        #[arg(long)]
        api: bool,
        /// The Dropbox app key [default: $SMARTIMAGE_DROPBOX_APP_KEY, else the config file]
        #[arg(long, value_name = "KEY")]
        app_key: Option<String>,
    },
    /// Unlink an account from Dropbox (its imported files stay)
    Unlink {
        #[arg(long, value_name = "NAME")]
        account: String,
    },
    /// Stop importing for an account until it is resumed
    Pause {
        #[arg(long, value_name = "NAME")]
        account: String,
    },
    /// Resume importing for a paused account
    Resume {
        #[arg(long, value_name = "NAME")]
        account: String,
    },
    /// Import what was dropped into the linked Dropbox folders; `import history` lists the
    /// import passes and uploads, `import undo BATCH` moves one's files to the trash
    #[command(
        group = clap::ArgGroup::new("mode").required(true).args(["once", "watch"]),
        args_conflicts_with_subcommands = true,
        subcommand_negates_reqs = true
    )]
    Import {
        #[command(subcommand)]
        action: Option<trashing::ImportAction>,
        /// One pass over every active link, then a summary
        #[arg(long)]
        once: bool,
        /// Keep importing as files arrive, until Ctrl-C, SIGTERM or a hang-up (SIGHUP); while
        /// another engine holds the library, wait in standby and take over when it stops
        #[arg(long)]
        watch: bool,
        /// Only this account (with --once)
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
    },
    /// Run the import engine as a service (systemd or any supervisor): logs to stderr, speaks
    /// the systemd notify protocol, stops cleanly on SIGTERM, reloads the config on SIGHUP, and
    /// waits in standby while another engine holds the library
    Serve {
        /// Print a systemd unit that runs this service, and exit
        #[arg(long)]
        systemd_unit: bool,
        /// The user the unit runs as (with --systemd-unit)
        #[arg(long, value_name = "NAME", requires = "systemd_unit")]
        user: Option<String>,
    },
    /// What runs on this library: each engine (host, pid, mode, heartbeat), its links and files
    /// in flight, today's totals, commands not yet taken. Exit 0 when an engine is healthy, 5
    /// when none runs, 6 when one is stale (hung, or died where this host cannot see it).
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Ask the running engine to look at the linked folders now (all, or one account's); an
    /// engine that starts later takes it if none runs
    Scan {
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
        /// Wait (up to 30 s) until the engine has taken it
        #[arg(long)]
        wait: bool,
    },
    /// Stop the running engine; it finishes the files in flight (operators)
    Stop {
        /// Wait (up to 30 s) until it has let the library go
        #[arg(long)]
        wait: bool,
    },
    /// Files that failed to import and stayed in Dropbox
    #[command(subcommand)]
    Errors(ErrorsCommand),
    /// Try failed imports again (all of the account's, or the given ids)
    Retry {
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
        #[arg(value_name = "ITEM_ID")]
        items: Vec<ItemId>,
    },
    /// Upload files and folders from this machine into an account's All Files (same rules as
    /// Dropbox imports; the source files are only read). Files whose bytes the account already
    /// has are skipped, so running it again adds nothing twice. Exit 4 when some files were
    /// rejected.
    Upload {
        #[arg(long, value_name = "NAME")]
        account: String,
        /// Files and folders (folders are walked; symbolic links, named here or inside a
        /// folder, are skipped and reported)
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Store a file even when the account already has the same bytes (a second copy)
        #[arg(long)]
        allow_duplicates: bool,
        /// Follow symbolic links (never into /proc, /sys or /dev, never round a cycle)
        #[arg(long)]
        follow_symlinks: bool,
        #[arg(long)]
        json: bool,
    },
    /// Send files of an account to its Dropbox, into the downloads folder beside its import
    /// folder ("ACCOUNT (from Smartimage)"), so they are never imported back. Clashing names
    /// get " (1)", nothing is overwritten. Exit 4 when some files could not be sent.
    #[command(group = clap::ArgGroup::new("what").required(true).args(["collection", "files"]))]
    Export {
        #[arg(long, value_name = "NAME")]
        account: String,
        /// Every file of this collection (into a subfolder named after it, unless --to)
        #[arg(long, value_name = "NAME")]
        collection: Option<String>,
        /// These files (ids from `files list`)
        #[arg(value_name = "FILE_ID")]
        files: Vec<FileId>,
        /// A folder inside the downloads folder
        #[arg(long, value_name = "SUBFOLDER")]
        to: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Create a Dropbox shared link (or show the existing one) to something sent to Dropbox;
    /// prints the URL, and a QR code of it on a terminal. Needs a link made with --api.
    #[command(group = clap::ArgGroup::new("target").required(true).args(["path", "file", "collection"]))]
    Share {
        #[arg(long, value_name = "NAME")]
        account: String,
        /// A path in the downloads folder (e.g. "Summer/photo.jpg")
        #[arg(value_name = "PATH")]
        path: Option<String>,
        /// A library file (sent to the downloads folder first if it is not there)
        #[arg(long, value_name = "ID")]
        file: Option<FileId>,
        /// A collection's folder in the downloads folder
        #[arg(long, value_name = "NAME")]
        collection: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The trash: files deleted from All Files, until they are deleted for good
    #[command(subcommand)]
    Trash(trashing::TrashCommand),
    /// Files in All Files
    #[command(subcommand)]
    Files(organise::FilesCommand),
    /// Collections, and adding files to them
    #[command(subcommand)]
    Collection(organise::CollectionCommand),
    /// The audit trail: who did what, when
    Audit {
        #[arg(long)]
        json: bool,
        /// Most recent rows to show
        #[arg(long, default_value_t = smartimage::library::actions::DEFAULT_AUDIT_LIMIT)]
        limit: u32,
    },
    /// The plans and their limits
    Plans {
        #[arg(long)]
        json: bool,
    },
    /// The supported and unsupported file formats
    Formats {
        /// Print the Markdown table used in README.md
        #[arg(long)]
        markdown: bool,
    },
    /// Check the library: the database's integrity, every file's blob, blobs the database does
    /// not know, what a process that died left behind (operators). Exit 5 when it found
    /// problems, each printed with what to do.
    #[command(group = clap::ArgGroup::new("mode").args(["read_data", "adopt"]))]
    Check {
        /// Re-hash every blob (reads every byte; a progress bar shows how long is left)
        #[arg(long)]
        read_data: bool,
        /// Make the blobs the database does not know files of --account again (source
        /// "recovered", in a new collection "Recovered <date>"), and bind the blob store to
        /// this database
        #[arg(long, requires = "account")]
        adopt: bool,
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// A consistent copy of the library database, safe while an engine runs (operators)
    Backup {
        /// The file to write (must not exist yet)
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Email and webhook notifications: what is queued, sent and failing; a test message
    #[command(subcommand)]
    Notify(notifying::NotifyCommand),
    /// Make a demo library (in its own data dir) and show it
    Demo {
        /// Do not open the console; print what was made
        #[arg(long)]
        headless: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ErrorsCommand {
    /// Failed imports, newest first
    List {
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

/// A failed verb: the sentence to print and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: u8,
}

impl From<LibraryError> for Failure {
    fn from(e: LibraryError) -> Self {
        Failure {
            message: e.to_string(),
            code: e.exit_code() as u8,
        }
    }
}

impl From<config::ConfigError> for Failure {
    fn from(e: config::ConfigError) -> Self {
        Failure {
            message: e.to_string(),
            code: EXIT_BAD_USAGE as u8,
        }
    }
}

impl Failure {
    pub fn runtime(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code: EXIT_RUNTIME_FAILURE as u8,
        }
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code: EXIT_BAD_USAGE as u8,
        }
    }
}

pub type Outcome = Result<(), Failure>;

/// What every verb gets: the opened library and who is acting.
pub struct Context {
    pub library: Library,
    pub as_admin: Option<String>,
}

impl Context {
    pub fn actor(&self) -> Result<Actor, Failure> {
        let os_user = current_os_user();
        Ok(self
            .library
            .actor(self.as_admin.as_deref(), os_user.as_deref())?)
    }
}

pub fn run(cli: Cli) -> Outcome {
    let config = Config::load(cli.config.as_deref())?;
    let Some(command) = cli.command else {
        let data_dir = config::resolve_data_dir(cli.data_dir.as_deref())?;
        return console::open(&data_dir, &config, cli.as_admin);
    };
    if let Command::Demo { headless } = command {
        return demo::run(cli.data_dir.as_deref(), &config, headless);
    }
    if let Command::Formats { markdown } = command {
        return output::print_formats(markdown);
    }
    if let Command::Plans { json } = command {
        return output::print_plans(&config.plans(), json);
    }
    let data_dir = config::resolve_data_dir(cli.data_dir.as_deref())?;
    if let Command::Serve { systemd_unit, user } = command {
        // No actor: the service is the engine, as `import --watch` is, and runs as a system
        // user; the data dir's permissions say who may start it.
        if !systemd_unit {
            warn_if_exposed(&data_dir);
        }
        return serve::serve(&data_dir, cli.config.as_deref(), config, systemd_unit, user);
    }
    let library = match command {
        // Only `init` makes a library; every other verb needs one already.
        Command::Init { .. } => {
            let database = data_dir.join(smartimage::library::actions::DATABASE_FILE);
            if std::fs::metadata(&database).is_ok_and(|m| m.len() == 0) {
                // An empty file where a library was is damage to look at, not a place to start.
                return Err(LibraryError::EmptyDatabase { database }.into());
            }
            Library::open(&data_dir, config.plans())?
        }
        _ => open_library(&data_dir, &config)?,
    };
    warn_if_exposed(&data_dir);
    let mut cx = Context {
        library,
        as_admin: cli.as_admin,
    };
    match command {
        Command::Init {
            operator,
            name,
            os_user,
        } => people::init(&mut cx, &operator, name.as_deref(), os_user),
        Command::Account(people::AccountCommand::Rename { name, new_name }) => {
            linking::rename_account(&mut cx, &config, &name, &new_name)
        }
        Command::Account(c) => people::account(&mut cx, c),
        Command::Admin(c) => people::admin(&mut cx, c),
        Command::Delegate {
            email,
            account,
            revoke,
        } => people::delegate(&mut cx, &email, &account, revoke),
        Command::Link {
            account,
            local_folder,
            api: _,
            app_key,
        } => linking::link(&mut cx, &config, &account, local_folder, app_key),
        Command::Unlink { account } => linking::set_state(&mut cx, &account, LinkState::Unlinked),
        Command::Pause { account } => linking::set_state(&mut cx, &account, LinkState::Paused),
        Command::Resume { account } => linking::set_state(&mut cx, &account, LinkState::Active),
        Command::Import {
            action: Some(action),
            ..
        } => trashing::import_action(&mut cx, action),
        Command::Import {
            action: None,
            once: _,
            watch,
            account,
        } => importing::import(cx, &config, watch, account.as_deref()),
        Command::Trash(c) => trashing::trash(&mut cx, c),
        Command::Errors(ErrorsCommand::List { account, json }) => {
            let actor = cx.actor()?;
            importing::errors(&cx.library, &actor, account.as_deref(), json)
        }
        Command::Status { json } => status::status(&cx, json),
        Command::Scan { account, wait } => controlling::scan(&mut cx, account.as_deref(), wait),
        Command::Stop { wait } => controlling::stop(&mut cx, wait),
        Command::Retry { account, items } => importing::retry(&mut cx, account.as_deref(), &items),
        Command::Upload {
            account,
            paths,
            allow_duplicates,
            follow_symlinks,
            json,
        } => {
            let options = UploadOptions {
                allow_duplicates,
                follow_symlinks,
            };
            let notify = config.notify.settings().queueing();
            uploading::upload(&mut cx, &account, &paths, options, json, &notify)
        }
        Command::Export {
            account,
            collection,
            files,
            to,
            json,
        } => exporting::export_files(cx, &config, &account, collection, files, to, json),
        Command::Share {
            account,
            path,
            file,
            collection,
            json,
        } => {
            let target = match (path, file, collection) {
                (Some(path), _, _) => smartimage::export::ShareTarget::Path(path),
                (_, Some(id), _) => smartimage::export::ShareTarget::File(id),
                (_, _, Some(name)) => smartimage::export::ShareTarget::Collection(name),
                (None, None, None) => unreachable!("clap requires one target"),
            };
            exporting::share_link(cx, &config, &account, target, json)
        }
        Command::Files(c) => organise::files(&mut cx, c),
        Command::Collection(c) => organise::collection(&mut cx, c),
        Command::Audit { json, limit } => people::audit(&mut cx, json, limit),
        Command::Check {
            adopt: true,
            account: Some(account),
            json,
            ..
        } => maintenance::adopt(&mut cx, &account, json),
        Command::Check {
            read_data, json, ..
        } => maintenance::check(&mut cx, read_data, json),
        Command::Backup { to, json } => maintenance::backup(&mut cx, &to, json),
        Command::Notify(c) => notifying::notify(&mut cx, &config, c),
        Command::Demo { .. }
        | Command::Formats { .. }
        | Command::Plans { .. }
        | Command::Serve { .. } => {
            unreachable!("handled above")
        }
    }
}

/// The library at `data_dir`, which must exist (only `init` and `demo` make one).
pub fn open_library(data_dir: &Path, config: &Config) -> Result<Library, Failure> {
    Library::open_existing(data_dir, config.plans()).map_err(Failure::from)
}

/// A data dir open to every user gets a warning on stderr naming the fix (every verb).
pub fn warn_if_exposed(data_dir: &Path) {
    for warning in smartimage::library::privacy::exposure_warnings(data_dir) {
        eprintln!("smartimage: warning: {warning}");
    }
}

/// The login name of the effective user, for binding admins to OS accounts.
pub fn current_os_user() -> Option<String> {
    // SAFETY: geteuid never fails; getpwuid returns a pointer into static storage or null,
    // and we copy the name out before any other call could overwrite it.
    unsafe {
        let pw = libc::getpwuid(libc::geteuid());
        if pw.is_null() || (*pw).pw_name.is_null() {
            return std::env::var("USER").ok();
        }
        Some(
            std::ffi::CStr::from_ptr((*pw).pw_name)
                .to_string_lossy()
                .into_owned(),
        )
    }
}
