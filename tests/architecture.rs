//! The layering of ARCHITECTURE.md, enforced: every `.rs` file under `src/` is read, and a module
//! that names a module of its own rank or above (other than itself) fails the test with the
//! file, the line and the path. Paths are found in code only (comments and string literals are
//! blanked first): `use crate::x…`, `crate::x::…` anywhere in code, `crate::{x, y}` groups,
//! `smartimage::x…`, and `super::` chains that climb out of a layer's directory.
//!
//! The layer table below is the one in ARCHITECTURE.md (between `<!-- layers:start -->` and
//! `<!-- layers:end -->`); a test checks the two are the same.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Top to bottom: (rank, layer, modules). A module may use modules of a lower rank only.
/// Modules of one rank never use each other (except `ALLOWED`). `main.rs`, `cli/` and `bin/`
/// are the binaries: they reach the library crate only as `smartimage::…`.
const LAYERS: &[(u8, &str, &[&str])] = &[
    (6, "binary", &["main", "cli", "bin"]),
    (5, "console", &["tui"]),
    (4, "settings", &["config"]),
    (3, "engines", &["import", "export", "notify"]),
    (2, "domain", &["library", "dropbox"]),
    (
        1,
        "helpers",
        &["pipelined_hash", "terminal_text", "qr_text"],
    ),
];

/// Known exceptions: (module, path it may use despite the table, why). Every entry must still
/// be needed (a test fails when one matches nothing) and be listed in ARCHITECTURE.md.
const ALLOWED: &[(&str, &str, &str)] = &[(
    "export",
    "import::backends",
    "`AnyBackend`/`BackendSettings` turn a link's `LinkRecord` into its Dropbox backend for both \
     engines; they need `library` and `dropbox`, so they cannot move down into `dropbox`",
)];

/// The binaries: separate crates, where `crate::` means the binary itself.
const BINARY_MODULES: &[&str] = &["main", "cli", "bin"];

#[derive(Debug, PartialEq)]
struct Violation {
    file: String,
    line: usize,
    path: String,
    why: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: `{}` — {}",
            self.file, self.line, self.path, self.why
        )
    }
}

fn rank_of(module: &str) -> Option<(u8, &'static str)> {
    LAYERS
        .iter()
        .find(|(_, _, modules)| modules.contains(&module))
        .map(|(rank, layer, _)| (*rank, *layer))
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file relative to `src/`: `library/store/blob_table.rs` is
/// `[library, store, blob_table]`, `library/mod.rs` is `[library]`, `config.rs` is `[config]`.
fn module_path(relative: &str) -> Vec<String> {
    let without_ext = relative.strip_suffix(".rs").expect("a .rs file");
    let mut segments: Vec<String> = without_ext.split('/').map(str::to_owned).collect();
    if segments.len() > 1 && segments.last().is_some_and(|s| s == "mod") {
        segments.pop();
    }
    segments
}

/// The source with comments, string and char literals replaced by spaces (newlines kept), so
/// positions still map to lines and only code is searched.
fn code_only(source: &str) -> Vec<char> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = chars.clone();
    let blank = |out: &mut Vec<char>, from: usize, to: usize| {
        for c in out.iter_mut().take(to.min(chars.len())).skip(from) {
            if *c != '\n' {
                *c = ' ';
            }
        }
    };
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            let end = chars[i..]
                .iter()
                .position(|&c| c == '\n')
                .map_or(chars.len(), |p| i + p);
            blank(&mut out, i, end);
            i = end;
        } else if c == '/' && next == Some('*') {
            let (mut depth, mut j) = (1, i + 2);
            while j < chars.len() && depth > 0 {
                if chars[j] == '/' && chars.get(j + 1) == Some(&'*') {
                    depth += 1;
                    j += 2;
                } else if chars[j] == '*' && chars.get(j + 1) == Some(&'/') {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            blank(&mut out, i, j);
            i = j;
        } else if c == 'r'
            && (i == 0
                || !is_ident(chars[i - 1])
                || (chars[i - 1] == 'b' && (i == 1 || !is_ident(chars[i - 2]))))
            && matches!(next, Some('"') | Some('#'))
            && {
                let hashes = chars[i + 1..].iter().take_while(|&&c| c == '#').count();
                chars.get(i + 1 + hashes) == Some(&'"')
            }
        {
            let hashes = chars[i + 1..].iter().take_while(|&&c| c == '#').count();
            let mut j = i + 2 + hashes;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"'
                    && chars[j + 1..].iter().take_while(|&&c| c == '#').count() >= hashes
                {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            blank(&mut out, i, j);
            i = j;
        } else if c == '"' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '"' {
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            blank(&mut out, i, j + 1);
            i = j + 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{1b}'), or a lifetime ('a), which stays.
            if next == Some('\\') {
                let end = chars[i + 2..]
                    .iter()
                    .position(|&c| c == '\'')
                    .map_or(chars.len(), |p| i + 2 + p);
                blank(&mut out, i, end + 1);
                i = end + 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                blank(&mut out, i, i + 3);
                i += 3;
            } else {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    out
}

/// A path in code, relative to the crate root, with where it starts.
struct Reference {
    at: usize,
    /// The path as written, for the message (`crate::tui::app::App`).
    written: String,
    /// Resolved from the crate root (`tui::app::App`); `None` for `self::` and for a binary's
    /// own `crate::`/`super::` paths.
    absolute: Option<String>,
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Reads `a::b::{c, d::e}` from `at`: the paths it names, each as a list of segments. A group
/// gives one path per item (nested groups flattened).
fn read_paths(code: &[char], mut at: usize) -> (Vec<Vec<String>>, usize) {
    let skip_ws = |at: &mut usize| {
        while *at < code.len() && code[*at].is_whitespace() {
            *at += 1;
        }
    };
    let mut prefix: Vec<String> = Vec::new();
    loop {
        skip_ws(&mut at);
        if at < code.len() && code[at] == '{' {
            let mut paths = Vec::new();
            at += 1;
            loop {
                skip_ws(&mut at);
                if at >= code.len() || code[at] == '}' {
                    return (paths, at + 1);
                }
                if code[at] == ',' {
                    at += 1;
                    continue;
                }
                let (inner, next) = read_paths(code, at);
                for tail in inner {
                    let mut path = prefix.clone();
                    path.extend(tail);
                    paths.push(path);
                }
                if next == at {
                    at += 1; // not a path (`*`, `self as x`): skip a character
                } else {
                    at = next;
                }
            }
        }
        let start = at;
        while at < code.len() && is_ident_char(code[at]) {
            at += 1;
        }
        if at == start {
            return (vec![prefix], at);
        }
        prefix.push(code[start..at].iter().collect());
        let mut after = at;
        skip_ws(&mut after);
        if code.get(after) == Some(&':') && code.get(after + 1) == Some(&':') {
            at = after + 2;
        } else {
            return (vec![prefix], at);
        }
    }
}

/// Every path that starts with `crate::`, `smartimage::`, `self::` or `super::` in `code`, for a
/// file whose module path is `module` (inline `mod x { … }` blocks are followed, so a
/// `super::` inside one climbs from there).
fn references(code: &[char], module: &[String], in_binary: bool) -> Vec<Reference> {
    let mut found = Vec::new();
    let mut inline: Vec<(String, usize)> = Vec::new(); // (name, brace depth it opened at)
    let mut depth = 0usize;
    let mut i = 0;
    while i < code.len() {
        let c = code[i];
        if c == '{' {
            depth += 1;
            i += 1;
            continue;
        }
        if c == '}' {
            depth = depth.saturating_sub(1);
            if inline.last().is_some_and(|(_, d)| *d == depth) {
                inline.pop();
            }
            i += 1;
            continue;
        }
        if !is_ident_char(c) || (i > 0 && (is_ident_char(code[i - 1]) || code[i - 1] == '$')) {
            i += 1;
            continue;
        }
        let end = i + code[i..].iter().take_while(|&&c| is_ident_char(c)).count();
        let word: String = code[i..end].iter().collect();
        if word == "mod" {
            // `mod name {` opens an inline module.
            let (paths, after) = read_paths(code, end);
            let mut brace = after;
            while brace < code.len() && code[brace].is_whitespace() {
                brace += 1;
            }
            if code.get(brace) == Some(&'{')
                && let Some(name) = paths.first().and_then(|p| p.first())
            {
                inline.push((name.clone(), depth));
            }
            i = end;
            continue;
        }
        let starts_path = matches!(word.as_str(), "crate" | "smartimage" | "super" | "self")
            && code.get(end) == Some(&':')
            && code.get(end + 1) == Some(&':');
        if !starts_path {
            i = end;
            continue;
        }
        let (paths, after) = read_paths(code, i);
        let mut here: Vec<String> = module.to_vec();
        here.extend(inline.iter().map(|(name, _)| name.clone()));
        for segments in paths {
            let written = segments.join("::");
            let absolute = match segments[0].as_str() {
                "crate" if in_binary => None,
                "crate" | "smartimage" => Some(segments[1..].join("::")),
                "self" => None,
                _ => {
                    // `super::…`: climb from this module (and its inline modules).
                    let climbs = segments.iter().take_while(|s| *s == "super").count();
                    if in_binary || climbs > here.len() {
                        None
                    } else {
                        let mut resolved = here[..here.len() - climbs].to_vec();
                        resolved.extend(segments[climbs..].iter().cloned());
                        Some(resolved.join("::"))
                    }
                }
            };
            found.push(Reference {
                at: i,
                written,
                absolute,
            });
        }
        i = after.max(end);
    }
    found
}

/// The violations in one file. `relative` is its path under `src/`; `used` collects the
/// `ALLOWED` entries that matched.
fn check_file(relative: &str, source: &str, used: &mut BTreeSet<usize>) -> Vec<Violation> {
    if relative == "lib.rs" {
        return Vec::new(); // the crate root only declares the modules
    }
    let module = module_path(relative);
    let top = module[0].as_str();
    let in_binary = BINARY_MODULES.contains(&top);
    let Some((rank, layer)) = rank_of(top) else {
        return vec![Violation {
            file: format!("src/{relative}"),
            line: 1,
            path: top.to_owned(),
            why: "this module is in no layer: add it to LAYERS in tests/architecture.rs and \
                  to the layer table in ARCHITECTURE.md"
                .to_owned(),
        }];
    };
    let code = code_only(source);
    let mut violations = Vec::new();
    for reference in references(&code, &module, in_binary) {
        let Some(absolute) = reference.absolute else {
            continue;
        };
        let target = absolute.split("::").next().unwrap_or("");
        if target.is_empty() || target == top {
            continue;
        }
        let line = 1 + code[..reference.at].iter().filter(|&&c| c == '\n').count();
        let Some((target_rank, target_layer)) = rank_of(target) else {
            continue; // a dependency's item, a re-export at the root, or the binary's own
        };
        if target_rank < rank {
            continue;
        }
        let why = if target_rank == rank {
            format!(
                "`{top}` and `{target}` are both in the {layer} layer (rank {rank}) and never use \
                 each other (ARCHITECTURE.md)"
            )
        } else {
            format!(
                "`{top}` ({layer}, rank {rank}) must not use `{target}` ({target_layer}, rank \
                 {target_rank}): dependencies point down (ARCHITECTURE.md)"
            )
        };
        if let Some(index) = ALLOWED
            .iter()
            .position(|(from, to, _)| *from == top && is_under(&absolute, to))
        {
            used.insert(index);
            continue;
        }
        violations.push(Violation {
            file: format!("src/{relative}"),
            line,
            path: reference.written,
            why,
        });
    }
    violations
}

/// `import::backends::AnyBackend` is under `import::backends`; `import::backends_x` is not.
fn is_under(path: &str, prefix: &str) -> bool {
    path == prefix || path.starts_with(&format!("{prefix}::"))
}

#[test]
fn no_module_uses_one_of_its_own_rank_or_above() {
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(
        files.len() > 50,
        "found only {} files under src/",
        files.len()
    );
    let mut used = BTreeSet::new();
    let mut violations = Vec::new();
    for path in &files {
        let relative = path
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let source = fs::read_to_string(path).unwrap();
        violations.extend(check_file(&relative, &source, &mut used));
    }
    let listing: Vec<String> = violations.iter().map(ToString::to_string).collect();
    assert!(
        violations.is_empty(),
        "{} import(s) break the layering of ARCHITECTURE.md (a module may use only modules of \
         a lower rank):\n  {}\n",
        violations.len(),
        listing.join("\n  ")
    );
    for (index, (from, to, why)) in ALLOWED.iter().enumerate() {
        assert!(
            used.contains(&index),
            "the exception `{from}` → `{to}` ({why}) is no longer used: remove it from ALLOWED \
             in tests/architecture.rs and from ARCHITECTURE.md"
        );
    }
}

#[test]
fn every_module_under_src_has_a_layer() {
    let mut missing = Vec::new();
    for entry in fs::read_dir(src_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let module = name.strip_suffix(".rs").unwrap_or(&name);
        if module != "lib" && rank_of(module).is_none() {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "src/ entries in no layer (add them to LAYERS here and to ARCHITECTURE.md): {missing:?}"
    );
}

/// The rows of ARCHITECTURE.md's layer table: `| 5 | console | `tui/` |`.
fn documented_layers() -> Vec<(u8, String, Vec<String>)> {
    let doc = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md"))
        .expect("ARCHITECTURE.md at the repository root");
    let start = doc
        .find("<!-- layers:start -->")
        .expect("a <!-- layers:start --> marker in ARCHITECTURE.md");
    let end = doc
        .find("<!-- layers:end -->")
        .expect("a <!-- layers:end --> marker in ARCHITECTURE.md");
    doc[start..end]
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let rank = cells.get(1)?.parse::<u8>().ok()?;
            let modules = cells
                .get(3)?
                .split('`')
                .skip(1)
                .step_by(2)
                .map(|m| {
                    m.trim_end_matches('/')
                        .trim_end_matches(".rs")
                        .rsplit('/')
                        .next()
                        .unwrap()
                        .to_owned()
                })
                .collect();
            Some((rank, cells[2].to_owned(), modules))
        })
        .collect()
}

#[test]
fn the_layer_table_is_the_one_in_architecture_md() {
    let documented = documented_layers();
    let here: Vec<(u8, String, Vec<String>)> = LAYERS
        .iter()
        .map(|(rank, layer, modules)| {
            (
                *rank,
                (*layer).to_owned(),
                modules.iter().map(|m| (*m).to_owned()).collect(),
            )
        })
        .collect();
    assert_eq!(
        documented, here,
        "ARCHITECTURE.md's layer table and LAYERS in tests/architecture.rs differ"
    );
    let doc =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md")).unwrap();
    for (from, to, _) in ALLOWED {
        assert!(
            doc.contains(&format!("`{from}` → `{to}`")),
            "ARCHITECTURE.md does not list the exception `{from}` → `{to}`"
        );
    }
}

/// The checker itself, on made-up files: it catches each way of naming a higher layer, and
/// nothing in comments, strings or within a layer.
#[test]
fn the_checker_catches_each_form_and_only_code() {
    let check = |relative: &str, source: &str| -> Vec<String> {
        check_file(relative, source, &mut BTreeSet::new())
            .iter()
            .map(|v| format!("{}:{}", v.line, v.path))
            .collect()
    };
    let lib = "library/store/x.rs";
    assert_eq!(
        check(lib, "use crate::tui::app::App;\n"),
        ["1:crate::tui::app::App"]
    );
    assert_eq!(
        check(lib, "fn f() {\n    crate::import::engine::recover();\n}\n"),
        ["2:crate::import::engine::recover"]
    );
    assert_eq!(
        check(
            lib,
            "use crate::{\n    library::Library,\n    dropbox::wire,\n};\n"
        ),
        ["1:crate::dropbox::wire"]
    );
    assert_eq!(
        check(lib, "use super::super::super::tui;\n"),
        ["1:super::super::super::tui"]
    );
    assert_eq!(
        check(lib, "use super::super::blobs::BlobStore;\n"),
        Vec::<String>::new()
    );
    assert_eq!(
        check("library/mod.rs", "use super::config;\n"),
        ["1:super::config"]
    );
    assert_eq!(
        check("library/mod.rs", "mod tests {\n    use super::*;\n}\n"),
        Vec::<String>::new()
    );
    assert_eq!(
        check(
            lib,
            "// crate::tui::x\n/* crate::import */ const S: &str = \"crate::tui\";\n\
             const R: &str = r#\"crate::export\"#; const C: char = '{';\n\
             const B: &[u8] = br#\"crate::tui \" }\"#; const E: char = '\\'';\n\
             fn f<'a>(x: &'a str) {}\nuse crate::library::Library;\n"
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        check("dropbox/api/mod.rs", "use crate::library::Library;\n"),
        ["1:crate::library::Library"]
    );
    assert_eq!(
        check("terminal_text.rs", "use crate::pipelined_hash::x;\n"),
        ["1:crate::pipelined_hash::x"]
    );
    assert_eq!(
        check("export/x.rs", "use crate::import::backends::AnyBackend;\n"),
        Vec::<String>::new()
    );
    assert_eq!(
        check("export/x.rs", "use crate::import::engine::X;\n"),
        ["1:crate::import::engine::X"]
    );
    assert_eq!(
        check("import/x.rs", "use crate::export::X;\n"),
        ["1:crate::export::X"]
    );
    assert_eq!(
        check("tui/x.rs", "use crate::import::X; use crate::config::Y;\n"),
        Vec::<String>::new()
    );
    assert_eq!(
        check("cli/x.rs", "use smartimage::tui; use crate::cli::output;\n"),
        Vec::<String>::new()
    );
    assert_eq!(check("newthing.rs", "")[0], "1:newthing");
}

/// Console modules (the files and folders right under `src/tui/`) that still use each other
/// in a circle. Each list is one cycle, sorted; this test fails when a cycle forms, a module
/// joins one, or one shrinks (then shrink the list). Issue 18 emptied it.
const KNOWN_CONSOLE_CYCLES: &[&[&str]] = &[];

#[test]
fn the_console_modules_use_each_other_in_no_new_circle() {
    use std::collections::{BTreeMap, BTreeSet};
    let tui = src_dir().join("tui");
    let mut files = Vec::new();
    rust_files(&tui, &mut files);
    let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let submodule_exists =
        |name: &str| tui.join(format!("{name}.rs")).exists() || tui.join(name).is_dir();
    for path in &files {
        let relative = path
            .strip_prefix(src_dir())
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let module = module_path(&relative);
        let Some(own) = module.get(1).cloned() else {
            continue; // tui/mod.rs declares the modules
        };
        let code = code_only(&fs::read_to_string(path).unwrap());
        for reference in references(&code, &module, false) {
            let Some(absolute) = reference.absolute else {
                continue;
            };
            let mut segments = absolute.split("::");
            if segments.next() != Some("tui") {
                continue;
            }
            if let Some(other) = segments.next()
                && other != own
                && submodule_exists(other)
            {
                uses.entry(own.clone())
                    .or_default()
                    .insert(other.to_owned());
            }
        }
    }
    // Strongly connected components (Tarjan), each of two or more modules. The state: next
    // index, (index, low link) per module, the stack and what is on it.
    type Tarjan = (
        usize,
        BTreeMap<String, (usize, usize)>,
        Vec<String>,
        BTreeSet<String>,
    );
    fn visit(
        v: &str,
        uses: &BTreeMap<String, BTreeSet<String>>,
        state: &mut Tarjan,
        cycles: &mut Vec<Vec<String>>,
    ) {
        let index = state.0;
        state.0 += 1;
        state.1.insert(v.to_owned(), (index, index));
        state.2.push(v.to_owned());
        state.3.insert(v.to_owned());
        for w in uses.get(v).into_iter().flatten() {
            if !state.1.contains_key(w) {
                visit(w, uses, state, cycles);
                let low_w = state.1[w].1;
                let entry = state.1.get_mut(v).unwrap();
                entry.1 = entry.1.min(low_w);
            } else if state.3.contains(w) {
                let index_w = state.1[w].0;
                let entry = state.1.get_mut(v).unwrap();
                entry.1 = entry.1.min(index_w);
            }
        }
        let (index, low) = state.1[v];
        if index == low {
            let mut component = Vec::new();
            while let Some(w) = state.2.pop() {
                state.3.remove(&w);
                let done = w == v;
                component.push(w);
                if done {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                cycles.push(component);
            }
        }
    }
    let mut state = (0, BTreeMap::new(), Vec::new(), BTreeSet::new());
    let mut cycles = Vec::new();
    for v in uses.keys() {
        if !state.1.contains_key(v) {
            visit(v, &uses, &mut state, &mut cycles);
        }
    }
    cycles.sort();
    // `App` is one type in one module: no `impl App` outside `tui/app/`.
    for path in &files {
        let relative = path
            .strip_prefix(&tui)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if relative.starts_with("app/") {
            continue;
        }
        let code: String = code_only(&fs::read_to_string(path).unwrap())
            .into_iter()
            .collect();
        assert!(
            !code.contains("impl App {") && !code.contains("impl App{"),
            "src/tui/{relative} has an impl App: move it into src/tui/app/"
        );
    }
    // Panes draw from their own state (components) and a little context, never from App.
    let panes_use = uses.get("panes").cloned().unwrap_or_default();
    assert!(
        !panes_use.contains("app"),
        "a pane uses tui::app; draw it from its component instead: {panes_use:?}"
    );
    let known: Vec<Vec<String>> = KNOWN_CONSOLE_CYCLES
        .iter()
        .map(|c| c.iter().map(|m| m.to_string()).collect())
        .collect();
    assert_eq!(
        cycles, known,
        "console modules that use each other in a circle (found, then KNOWN_CONSOLE_CYCLES); \
         uses: {uses:#?}"
    );
}
