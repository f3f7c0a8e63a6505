//! README.md promises: the quick-start commands, and a formats table generated from the code.

use smartimage::library::formats::support_table_markdown;

const README: &str = include_str!("../README.md");
const START: &str = "<!-- formats:start -->\n";
const END: &str = "<!-- formats:end -->";

#[test]
fn readme_starts_with_the_two_quick_start_commands() {
    let quick_start = README
        .split("## Quick start")
        .nth(1)
        .expect("a Quick start section");
    let first_block = quick_start.split("```").nth(1).expect("a code block");
    assert!(
        first_block.contains("cargo run --release -- demo"),
        "{first_block}"
    );
    assert!(first_block.contains("cargo test"), "{first_block}");
}

#[test]
fn readme_formats_table_matches_the_code() {
    let start = README.find(START).expect("formats start marker") + START.len();
    let end = README.find(END).expect("formats end marker");
    assert_eq!(
        &README[start..end],
        support_table_markdown(),
        "README.md is stale: run `cargo run -- formats --markdown` and paste it between the markers"
    );
}
