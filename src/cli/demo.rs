//! `smartimage demo`: a fresh demo library in its own data dir — three accounts on different
//! plans (one Basic), an operator, owners, admins and one delegated admin — so a newcomer
//! sees something real at once. It never touches a library that is not a demo.

use std::path::{Path, PathBuf};

use smartimage::config::{self, Config};
use smartimage::library::actions::AdminGrant;

use super::{Context, Failure, Outcome, open_library, people};

/// Marks a data dir as a disposable demo; only such a dir is ever wiped by `demo`.
const DEMO_MARKER: &str = ".smartimage-demo";
const DEMO_SUBDIR: &str = "demo";
const OPERATOR: &str = "operator@demo.smartimage.test";

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

pub fn run(flag: Option<&Path>, config: &Config, headless: bool) -> Outcome {
    let dir = demo_dir(flag)?;
    prepare(&dir)?;
    let library = open_library(&dir, config)?;
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

    println!("Demo library made in {}\n", dir.display());
    people::account(&mut cx, super::people::AccountCommand::List { json: false })?;
    println!();
    people::admin(&mut cx, super::people::AdminCommand::List { json: false })?;
    let data_dir = dir.display();
    println!("\nTry, for example:");
    println!("  smartimage --data-dir {data_dir:?} --as {OPERATOR} audit");
    println!(
        "  smartimage --data-dir {data_dir:?} --as {} delegate {PLAIN_ADMIN} --account {:?}",
        acme.owner, acme.name
    );
    println!("  smartimage --data-dir {data_dir:?} --as {PLAIN_ADMIN} account list");
    if !headless {
        println!(
            "\n(The interactive console is not part of this build yet; the demo library above is ready for the headless verbs.)"
        );
    }
    Ok(())
}
