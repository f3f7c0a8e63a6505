//! All Files end to end: the real binary in tmux on the demo library. Filter to Dropbox
//! uploads, mark them all, batch-add them to a new collection, put one file into a second
//! collection with the pencil, quit — then `smartimage files list --json` must agree.

#[path = "support/prerequisite.rs"]
mod prerequisite;
#[path = "support/tmux.rs"]
mod tmux;

use std::path::Path;
use std::process::Command;
use tmux::{SHELL_MARKER, Tmux, shell_quote, tmux_available};

const OPERATOR: &str = "operator@demo.smartimage.test";

#[test]
fn filter_mark_all_batch_add_then_edit_one_file_and_the_cli_agrees() {
    if !tmux_available() {
        prerequisite::cannot_run("tmux is not installed");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_smartimage");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let made = Command::new(bin)
        .args(["demo", "--headless", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let tmux = Tmux {
        socket: format!("smartimage-files-{}", std::process::id()),
    };
    tmux.start_shell();
    let command = format!(
        "{} --data-dir {} --as {OPERATOR}; echo {SHELL_MARKER}",
        shell_quote(Path::new(bin)),
        shell_quote(&data)
    );
    tmux.keys(&[&command, "Enter"]);
    tmux.wait_for("the accounts", |s| s.contains("Acme Marketing"));

    // Acme Marketing in the Accounts pane: collections belong to one account.
    tmux.keys(&["1", "Down"]);
    tmux.wait_for("Acme Marketing in scope", |s| {
        s.lines()
            .next()
            .is_some_and(|l| l.contains("Acme Marketing"))
    });
    tmux.keys(&["3", "d"]);
    let screen = tmux.wait_for("the Dropbox filter with its count", |s| {
        s.contains("Dropbox uploads") && s.contains(" files ·")
    });
    let shown = screen
        .lines()
        .filter(|l| l.contains("│") && l.contains("Dropbox "))
        .count();
    assert!(shown > 1, "{screen}");

    tmux.keys(&["*"]);
    tmux.wait_for("all of them marked", |s| {
        s.lines()
            .any(|l| l.contains("marked · c add to a collection"))
    });
    // The operator organises but may not send: X says so in the CLI's words, sends nothing.
    tmux.keys(&["X"]);
    tmux.wait_for("the send refused", |s| {
        s.contains("Not allowed") && s.contains("may not send files")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("the notice closed, the marks kept", |s| {
        !s.contains("Not allowed") && s.contains("marked · c add to a collection")
    });
    tmux.keys(&["c"]);
    tmux.wait_for("the batch dialog", |s| s.contains("New collection…"));
    tmux.keys(&["Enter"]);
    tmux.type_text("Dropbox picks");
    tmux.keys(&["Enter"]);
    let confirm = tmux.wait_for("the confirmation", |s| {
        s.contains("to “Dropbox picks” in Acme Marketing?") && s.contains("Enter/y add")
    });
    assert!(confirm.contains("is new: it will be created"), "{confirm}");
    tmux.keys(&["y"]);
    let done = tmux.wait_for("the batch added", |s| s.contains("to Dropbox picks (new)"));
    let added: u64 = done
        .split("added ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in:\n{done}"));

    // The pencil on the selected file: a second, new collection.
    tmux.keys(&["e"]);
    let edit = tmux.wait_for("the edit dialog", |s| {
        s.contains("Edit ") && s.contains("[x] Dropbox picks")
    });
    let edited = edit
        .lines()
        .find_map(|l| l.split("Edit ").nth(1))
        .and_then(|rest| rest.split(" ─").next())
        .map(|name| name.trim().to_owned())
        .unwrap();
    tmux.keys(&["End", "Enter"]);
    tmux.type_text("Hero shots");
    // Enter on the typed name adds the file to the new collection and saves (issue 18).
    tmux.keys(&["Enter"]);
    tmux.wait_for("the edit saved", |s| s.contains("added to Hero shots"));
    tmux.keys(&["q"]);
    tmux.wait_for("the shell again", |s| s.contains(SHELL_MARKER));

    let listed = Command::new(bin)
        .args([
            "files",
            "list",
            "--json",
            "--account",
            "Acme Marketing",
            "--as",
            OPERATOR,
        ])
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(listed.status.success(), "{listed:?}");
    let files: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let files = files.as_array().unwrap();
    let in_collection = |f: &serde_json::Value, name: &str| {
        f["collections"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == name)
    };
    let dropbox: Vec<_> = files.iter().filter(|f| f["source"] == "dropbox").collect();
    assert_eq!(dropbox.len() as u64, added);
    assert!(dropbox.iter().all(|f| in_collection(f, "Dropbox picks")));
    assert!(
        files
            .iter()
            .filter(|f| f["source"] != "dropbox")
            .all(|f| !in_collection(f, "Dropbox picks"))
    );
    let heroes: Vec<&str> = files
        .iter()
        .filter(|f| in_collection(f, "Hero shots"))
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(heroes, [edited.as_str()]);
}

const OWNER: &str = "olivia@acme.test";

/// Issue #22 end to end, as Acme Marketing's owner: delete a file with its confirmation, find it
/// in the Trash view, restore it, then undo the whole import batch from the Dropbox queue — and
/// `trash list` and `import history` agree.
#[test]
fn delete_with_the_confirmation_restore_from_the_trash_then_undo_the_import_batch() {
    if !tmux_available() {
        prerequisite::cannot_run("tmux is not installed");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_smartimage");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let made = Command::new(bin)
        .args(["demo", "--headless", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let tmux = Tmux {
        socket: format!("smartimage-trash-{}", std::process::id()),
    };
    tmux.start_shell();
    let command = format!(
        "{} --data-dir {} --as {OWNER}; echo {SHELL_MARKER}",
        shell_quote(Path::new(bin)),
        shell_quote(&data)
    );
    tmux.keys(&[&command, "Enter"]);
    tmux.wait_for("All Files", |s| s.contains("3 All Files · 6 files"));

    // Delete hero.jpg: the confirmation says how many, how big, and that it still counts.
    tmux.keys(&["3", "/"]);
    tmux.type_text("hero");
    tmux.keys(&["Enter"]);
    tmux.wait_for("hero.jpg alone", |s| s.contains("3 All Files · 1 file"));
    tmux.keys(&["D"]);
    let confirm = tmux.wait_for("the delete confirmation", |s| {
        s.contains("Delete: move to the trash") && s.contains("Enter/y confirm")
    });
    assert!(
        confirm.contains("Move 1 file (9.9 KiB) to the trash?"),
        "{confirm}"
    );
    assert!(confirm.contains("still count against storage"), "{confirm}");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the file trashed", |s| {
        s.contains("moved 1 file (9.9 KiB) to the trash") && s.contains("3 All Files · 0 files")
    });

    // The Trash view shows it, with when; R restores it after its confirmation.
    // Esc clears the name filter (alone: Esc then T at once would read as Alt-T).
    tmux.keys(&["Escape"]);
    tmux.wait_for("the filter cleared", |s| {
        s.contains("3 All Files · 5 files")
    });
    tmux.keys(&["T"]);
    let trash = tmux.wait_for("the Trash view", |s| {
        s.contains("All Files · Trash · 1 file") && s.contains("hero.jpg")
    });
    assert!(trash.contains("Trashed (UTC)"), "{trash}");
    tmux.keys(&["R"]);
    tmux.wait_for("the restore confirmation", |s| {
        s.contains("Restore from the trash") && s.contains("Bring 1 file (9.9 KiB) back")
    });
    tmux.keys(&["Enter"]);
    tmux.wait_for("the file restored", |s| {
        s.contains("restored 1 file") && s.contains("Trash · 0 files")
    });
    tmux.keys(&["T"]);
    tmux.wait_for("the library again", |s| s.contains("3 All Files · 6 files"));

    // The queue, zoomed so the batch column fits: U on an imported row undoes its batch.
    tmux.keys(&["2", "z"]);
    let queue = tmux.wait_for("the queue with batches", |s| s.contains(" batch 1 "));
    let rows: Vec<&str> = queue
        .lines()
        .skip_while(|l| !l.contains("in queue"))
        .skip(1)
        .collect();
    let at = rows
        .iter()
        .position(|l| l.contains(" batch 1 "))
        .unwrap_or_else(|| panic!("no row of batch 1:\n{queue}"));
    for _ in 0..at {
        tmux.keys(&["Down"]);
    }
    tmux.keys(&["U"]);
    let undo = tmux.wait_for("the undo confirmation", |s| {
        s.contains("Undo import batch 1") && s.contains("Enter/y confirm")
    });
    assert!(
        undo.contains("Move the 6 files (32.8 KiB) of import batch 1"),
        "{undo}"
    );
    assert!(undo.contains("Nothing is put back into Dropbox"), "{undo}");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the batch undone", |s| s.contains("import batch 1 undone"));
    tmux.keys(&["q"]);
    tmux.wait_for("the shell again", |s| s.contains(SHELL_MARKER));

    let cli = |args: &[&str]| -> serde_json::Value {
        let out = Command::new(bin)
            .args(args)
            .args(["--json", "--as", OWNER, "--data-dir"])
            .arg(&data)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let trashed = cli(&["trash", "list"]);
    assert_eq!(trashed.as_array().unwrap().len(), 6, "{trashed}");
    let history = cli(&["import", "history", "--account", "Acme Marketing"]);
    let batch = &history.as_array().unwrap()[0];
    assert_eq!(
        (batch["batch"].as_i64(), batch["trashed"].as_u64()),
        (Some(1), Some(6))
    );
}
