//! `smartimage demo`: a fresh demo library in its own data dir — three accounts on different
//! plans (one Basic), an operator, owners, admins and one delegated admin — each linked to a
//! synced "Dropbox" folder filled from `assets/demo/`, then one import pass, so a newcomer sees
//! imports succeed and every kind of error appear with its report. It never touches a library
//! that is not a demo.

use std::path::{Path, PathBuf};
use std::time::Duration;

use smartimage::config::{self, Config};
use smartimage::dropbox::local::LocalSettings;
use smartimage::import::linking::link_local_folder;
use smartimage::library::Library;
use smartimage::library::actions::AdminGrant;

use super::demo_assets::DEMO_FILES;
use super::importing::{engine_settings, errors, run_once_printing, summary_line};
use super::linking::runtime;
use super::{Context, Failure, Outcome, open_library, people};

/// Marks a data dir as a disposable demo; only such a dir is ever wiped by `demo`.
const DEMO_MARKER: &str = ".smartimage-demo";
const DEMO_SUBDIR: &str = "demo";
const OPERATOR: &str = "operator@demo.smartimage.test";
/// The demo's stand-in for a Dropbox-synced folder, inside the demo dir.
const DROPBOX_DIR: &str = "Dropbox";
/// A video larger than every plan's 1 GiB per-video cap; sparse, so it costs no disk.
const OVERSIZED_VIDEO: (&str, u64) = ("Trial Studio/launch-film.mp4", 1_200 * 1024 * 1024);
/// The demo's files are fresh copies: a short stability window lets the first pass take them.
const DEMO_STABLE_FOR: Duration = Duration::from_millis(100);

struct DemoAccount {
    name: &'static str,
    plan: &'static str,
    owner: &'static str,
}

const ACCOUNTS: [DemoAccount; 3] = [
    DemoAccount {
        name: "Acme Marketing",
        plan: "team",
        owner: "olivia@acme.test",
    },
    DemoAccount {
        name: "Basic Bakery",
        plan: "basic",
        owner: "ben@bakery.test",
    },
    DemoAccount {
        name: "Trial Studio",
        plan: "trial",
        owner: "tara@studio.test",
    },
];
/// An admin of Acme Marketing whom its owner delegates Dropbox uploads to.
const DELEGATE: &str = "dan@acme.test";
/// An admin of Acme Marketing without delegation.
const PLAIN_ADMIN: &str = "ada@acme.test";

fn demo_dir(flag: Option<&Path>) -> Result<PathBuf, Failure> {
    match flag {
        Some(dir) => Ok(dir.to_path_buf()),
        None => Ok(config::resolve_data_dir(None)?.join(DEMO_SUBDIR)),
    }
}

/// Empty the demo dir if it is one of ours; refuse anything else that is not empty.
fn prepare(dir: &Path) -> Result<(), Failure> {
    let occupied = std::fs::read_dir(dir)
        .map(|mut d| d.next().is_some())
        .unwrap_or(false);
    if occupied {
        if !dir.join(DEMO_MARKER).exists() {
            return Err(Failure::usage(format!(
                "{} is not empty and is not a demo library; give `demo` an empty or new --data-dir",
                dir.display()
            )));
        }
        std::fs::remove_dir_all(dir).map_err(|e| {
            Failure::runtime(format!(
                "cannot clear the old demo in {}: {e}",
                dir.display()
            ))
        })?;
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        Failure::runtime(format!("cannot create the demo dir {}: {e}", dir.display()))
    })?;
    std::fs::write(
        dir.join(DEMO_MARKER),
        "made by `smartimage demo`; safe to delete\n",
    )
    .map_err(|e| Failure::runtime(format!("cannot write to {}: {e}", dir.display())))
}

/// Copy the embedded demo files into the synced folder, plus the sparse oversized video.
fn fill_dropbox(dropbox: &Path) -> Result<(), Failure> {
    let write_failed = |path: &Path, e: std::io::Error| {
        Failure::runtime(format!("cannot write {}: {e}", path.display()))
    };
    for (rel, bytes) in DEMO_FILES {
        let path = dropbox.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| write_failed(parent, e))?;
        }
        std::fs::write(&path, bytes).map_err(|e| write_failed(&path, e))?;
    }
    let (rel, size) = OVERSIZED_VIDEO;
    let path = dropbox.join(rel);
    let teaser = DEMO_FILES
        .iter()
        .find(|(p, _)| p.ends_with(".mp4"))
        .map(|(_, b)| *b)
        .unwrap_or_default();
    std::fs::write(&path, teaser).map_err(|e| write_failed(&path, e))?;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_len(size))
        .map_err(|e| write_failed(&path, e))
}

pub fn run(flag: Option<&Path>, config: &Config, headless: bool) -> Outcome {
    let dir = demo_dir(flag)?;
    prepare(&dir)?;
    // The demo makes its own library (in a dir it made itself).
    let library = Library::open(&dir, config.plans()).map_err(Failure::from)?;
    let mut cx = Context {
        library,
        as_admin: Some(OPERATOR.into()),
    };
    cx.library.init(OPERATOR, Some("Demo Operator"), None)?;
    let operator = cx.actor()?;
    for a in &ACCOUNTS {
        cx.library.add_account(&operator, a.name, a.plan)?;
        let grant = AdminGrant {
            email: a.owner.into(),
            owner_of: vec![a.name.into()],
            ..AdminGrant::default()
        };
        cx.library.add_admin(&operator, &grant)?;
    }
    let acme = &ACCOUNTS[0];
    for email in [DELEGATE, PLAIN_ADMIN] {
        let grant = AdminGrant {
            email: email.into(),
            admin_of: vec![acme.name.into()],
            ..AdminGrant::default()
        };
        cx.library.add_admin(&operator, &grant)?;
    }
    let owner = cx.library.actor(Some(acme.owner), None)?;
    cx.library.delegate(&owner, DELEGATE, acme.name, false)?;

    let dropbox = dir.join(DROPBOX_DIR);
    fill_dropbox(&dropbox)?;
    let local = LocalSettings {
        stable_for: DEMO_STABLE_FOR,
        ..LocalSettings::default()
    };
    let rt = runtime()?;
    for a in &ACCOUNTS {
        // Acme is linked by the admin its owner delegated; the others by their owners.
        let who = if a.name == acme.name {
            DELEGATE
        } else {
            a.owner
        };
        let linker = cx.library.actor(Some(who), None)?;
        rt.block_on(link_local_folder(
            &mut cx.library,
            &linker,
            a.name,
            &dropbox,
            local,
        ))?;
    }
    drop(rt);
    std::thread::sleep(DEMO_STABLE_FOR * 2);

    println!("Demo library made in {}", dir.display());
    println!(
        "Its Dropbox stand-in (a synced folder) is {}\n",
        dropbox.display()
    );
    people::admin(&mut cx, super::people::AdminCommand::List { json: false })?;
    println!("\nImporting what was dropped into the Dropbox folders:\n");
    let mut settings = engine_settings(config);
    settings.backends.local = local;
    let Context { library, as_admin } = cx;
    let (summary, problems) = run_once_printing(library, settings, None)?;
    println!("\n{}", summary_line(&summary));
    for (account, detail) in problems {
        println!("problem with {account}: {detail}");
    }
    let mut cx = Context {
        library: open_library(&dir, config)?,
        as_admin,
    };
    println!();
    people::account(&mut cx, super::people::AccountCommand::List { json: false })?;
    println!("\nFailed files stay in Dropbox, each listed in a report in its account folder:\n");
    errors(&cx.library, &cx.actor()?, None, false)?;
    let data_dir = dir.display();
    println!("\nTry, for example:");
    println!("  smartimage --data-dir {data_dir:?} --as {OPERATOR} files list");
    println!(
        "  smartimage --data-dir {data_dir:?} --as {} collection add --account {:?} --collection Launch --create --source dropbox",
        acme.owner, acme.name
    );
    println!(
        "  cp some-photo.jpg {:?} && smartimage --data-dir {data_dir:?} --as {OPERATOR} import --once",
        dropbox.join(acme.name)
    );
    println!("  smartimage --data-dir {data_dir:?} --as {OPERATOR} audit");
    if !headless && !super::console::on_a_terminal() {
        println!(
            "\n(No terminal here, so the console was not opened; run `smartimage --data-dir {data_dir:?} --as {OPERATOR}` in one.)"
        );
        return Ok(());
    }
    if !headless {
        let mut settings = engine_settings(config);
        settings.backends.local = local;
        let welcome = (
            "The demo library".to_owned(),
            format!(
                "Its Dropbox is a synced folder on this machine: {}. Each account has a folder \
                 in it ({:?}, …); a file copied there is imported within seconds and shows in \
                 the queue (2) and All Files (3). Files that fail stay there, in the error log (4).",
                dropbox.display(),
                dropbox.join(acme.name).display().to_string(),
            ),
        );
        return super::console::open_with(
            &dir,
            config,
            Some(OPERATOR.into()),
            settings,
            Some(welcome),
        );
    }
    Ok(())
}
