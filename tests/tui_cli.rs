//! How the binary reaches the console: without a subcommand, and from `demo`.

use assert_cmd::Command;
use predicates::str::contains;

#[test]
fn no_subcommand_without_a_terminal_says_the_console_needs_one() {
    let dir = tempfile::tempdir().unwrap();
    Command::cargo_bin("smartimage")
        .unwrap()
        .env_remove("SMARTIMAGE_ADMIN")
        .arg("--data-dir")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(contains("the console needs a terminal"));
}

#[test]
fn demo_without_headless_and_without_a_terminal_makes_the_demo_and_says_how_to_open_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    Command::cargo_bin("smartimage")
        .unwrap()
        .env_remove("SMARTIMAGE_ADMIN")
        .arg("--data-dir")
        .arg(&data)
        .arg("demo")
        .assert()
        .success()
        .stdout(contains("Acme Marketing"))
        .stdout(contains("the console was not opened"));
}
