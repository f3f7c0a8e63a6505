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
    lex(source).0
}

/// `code_only`, and the spans (start, end) of the string literals it blanked, in the source's
/// chars.
fn lex(source: &str) -> (Vec<char>, Vec<(usize, usize)>) {
    let chars: Vec<char> = source.chars().collect();
    let mut out = chars.clone();
    let mut strings = Vec::new();
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
            strings.push((i, j.min(chars.len())));
            i = j;
        } else if c == '"' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '"' {
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            blank(&mut out, i, j + 1);
            strings.push((i, (j + 1).min(chars.len())));
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
    (out, strings)
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
    // The components own their state and know nothing of the `App` that routes to them.
    for component in ["account_list", "dropbox_queue", "error_log", "all_files"] {
        let component_uses = uses.get(component).cloned().unwrap_or_default();
        assert!(
            !component_uses.contains("app"),
            "the component tui::{component} uses tui::app; App routes to components, not back: \
             {component_uses:?}"
        );
    }
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

// ---------------------------------------------------------------------------------------------
// The store boundary: SQLite is spoken in `src/library/store/` only, and the console reaches the
// store only through `Library`. Both start from an allowlist of the violations the code had
// when the check was written (file → count, each with why); a file above its count, a file not
// listed, and a file below its count (the entry is stale: lower it) all fail.

/// Files outside `src/library/store/` with lines that name a rusqlite item (`rusqlite::…`, or a
/// name `use rusqlite::…` brought in) or hold a string literal of SQL text: (file, lines, why).
const SQL_OUTSIDE_STORE: &[(&str, usize, &str)] = &[
    (
        "src/import/engine.rs",
        2,
        "start-up recovery and the purge run their store calls in one `rusqlite` transaction closure",
    ),
    (
        "src/import/pass.rs",
        5,
        "a batch commits file rows, reservations and journal in one transaction closure the pass writes",
    ),
    (
        "src/import/publish.rs",
        1,
        "the status row and the progress events are written in one relaxed transaction closure",
    ),
    (
        "src/library/actions.rs",
        5,
        "renaming an account moves its links' folder paths in raw UPDATEs",
    ),
    (
        "src/library/adopt.rs",
        2,
        "adopting a blob reads its row through a `rusqlite::Connection` helper",
    ),
    (
        "src/library/backup.rs",
        9,
        "backup copies the database with SQLite's online backup API and checks the copy",
    ),
    (
        "src/library/custody.rs",
        2,
        "identity and epoch move in a transaction closure typed `rusqlite::Result`",
    ),
    (
        "src/library/error.rs",
        2,
        "`LibraryError` converts `rusqlite::Error`",
    ),
    (
        "src/library/file_info.rs",
        1,
        "metadata rows are written in a relaxed transaction closure typed `rusqlite::Result`",
    ),
    (
        "src/library/import_log.rs",
        3,
        "the report path of a failure is read with a query helper of its own",
    ),
    (
        "src/library/ingest.rs",
        7,
        "committing a file takes the caller's `rusqlite::Transaction` so import and upload share it",
    ),
    (
        "src/library/notifications.rs",
        20,
        "notices are queued inside the caller's transaction, with the recipients' queries",
    ),
    (
        "src/notify/sender.rs",
        1,
        "the sender runs store calls on the writer thread through a closure typed `rusqlite::Result`",
    ),
    (
        "src/tui/all_files/names.rs",
        4,
        "the name index builder keeps a read connection of its own to follow new rows",
    ),
    (
        "src/tui/all_files/worker.rs",
        4,
        "All Files' reads can be interrupted: the worker keeps the connection's `InterruptHandle`",
    ),
    (
        "src/tui/follow.rs",
        6,
        "the store follower polls `data_version` and tails events on a read connection of its own",
    ),
];

/// Files under `src/tui/` with lines that open or reach into the store themselves
/// (`Store::open…`, `.store()`, `.store_mut()`, `.connection()`, `.transaction(…)`):
/// (file, lines, why).
const TUI_OPENS_STORE: &[(&str, usize, &str)] = &[
    (
        "src/tui/all_files/names.rs",
        1,
        "the name index builder reads the whole name index on a connection of its own",
    ),
    (
        "src/tui/all_files/worker.rs",
        3,
        "each All Files lane sizes its page cache and keeps an interrupt handle",
    ),
    (
        "src/tui/follow.rs",
        1,
        "the store follower's read connection (`data_version`, event tail)",
    ),
];

/// The source with `#[cfg(test)]` modules blanked (their fixtures may set a store up by hand),
/// as code (comments and literals blanked) and as the string literal spans outside them.
fn non_test(source: &str) -> (Vec<char>, Vec<(usize, usize)>) {
    let (mut code, strings) = lex(source);
    let text: String = code.iter().collect();
    let mut cut: Vec<(usize, usize)> = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find("#[cfg(test)]") {
        let at = from + found;
        from = at + 1;
        let rest = text[at + "#[cfg(test)]".len()..].trim_start();
        if !rest.starts_with("mod ") {
            continue;
        }
        let Some(open) = text[at..].find(['{', ';']).map(|p| at + p) else {
            continue;
        };
        if &text[open..open + 1] == ";" {
            continue;
        }
        // `text` holds ASCII blanks for literals, so byte and char positions agree only if the
        // code itself is ASCII; count in chars to be safe.
        let start = text[..at].chars().count();
        let chars: Vec<char> = text.chars().collect();
        let mut depth = 0usize;
        let mut end = chars.len();
        for (i, c) in chars.iter().enumerate().skip(text[..open].chars().count()) {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        cut.push((start, end));
    }
    for &(start, end) in &cut {
        for c in code.iter_mut().take(end).skip(start) {
            if *c != '\n' {
                *c = ' ';
            }
        }
    }
    let strings = strings
        .into_iter()
        .filter(|(s, _)| !cut.iter().any(|(a, b)| a <= s && s < b))
        .collect();
    (code, strings)
}

fn line_at(chars: &[char], at: usize) -> usize {
    1 + chars[..at].iter().filter(|&&c| c == '\n').count()
}

fn is_word_at(chars: &[char], at: usize, word: &str) -> bool {
    let is_ident = |c: &char| c.is_alphanumeric() || *c == '_';
    let w: Vec<char> = word.chars().collect();
    chars.get(at..at + w.len()) == Some(&w[..])
        && (at == 0 || !is_ident(&chars[at - 1]))
        && chars.get(at + w.len()).is_none_or(|c| !is_ident(c))
}

/// Uppercase SQL words that a Rust string of prose never holds as a whole word.
const SQL_WORDS: &[&str] = &[
    "SELECT", "INSERT", "UPDATE", "DELETE", "FROM", "WHERE", "PRAGMA", "CREATE", "DROP", "JOIN",
    "VALUES", "ALTER",
];

fn is_sql(literal: &str) -> bool {
    let words: Vec<&str> = literal
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .collect();
    SQL_WORDS.iter().any(|w| words.contains(w))
}

/// The lines of one file that speak SQLite: name a rusqlite item or hold SQL text.
fn sql_lines(source: &str) -> BTreeSet<usize> {
    let (code, strings) = non_test(source);
    let chars: Vec<char> = source.chars().collect();
    let mut names: Vec<String> = vec!["rusqlite".to_owned()];
    let text: String = code.iter().collect();
    let mut from = 0;
    while let Some(found) = text[from..].find("use rusqlite::") {
        let at = from + found + "use rusqlite::".len();
        from = at;
        let end = text[at..].find(';').map_or(text.len(), |p| at + p);
        for part in text[at..end].split([',', '{', '}']) {
            let part = part.trim();
            let name = part.rsplit([' ', ':']).next().unwrap_or("");
            if !name.is_empty() && name != "self" && name != "*" {
                names.push(name.to_owned());
            }
        }
    }
    let mut lines = BTreeSet::new();
    for at in 0..code.len() {
        if names.iter().any(|n| is_word_at(&code, at, n)) {
            lines.insert(line_at(&code, at));
        }
    }
    for (start, end) in strings {
        let literal: String = chars[start..end].iter().collect();
        if is_sql(&literal) {
            lines.insert(line_at(&chars, start));
        }
    }
    lines
}

/// The lines of one console file that reach into the store themselves.
fn store_opening_lines(source: &str) -> BTreeSet<usize> {
    let (code, _) = non_test(source);
    let text: String = code.iter().collect();
    let mut lines = BTreeSet::new();
    for pattern in [
        "Store::open",
        ".store()",
        ".store_mut()",
        ".connection()",
        ".transaction(",
        ".transaction_relaxed(",
    ] {
        for (at, _) in text.match_indices(pattern) {
            // `BlobStore::open` is the blob store, not the metadata store.
            if pattern == "Store::open" && text[..at].ends_with("Blob") {
                continue;
            }
            lines.insert(1 + text[..at].matches('\n').count());
        }
    }
    lines
}

/// Compares what was found (file → lines) with an allowlist; returns the complaints.
fn against_allowlist(
    found: &std::collections::BTreeMap<String, BTreeSet<usize>>,
    allowed: &[(&str, usize, &str)],
    what: &str,
) -> Vec<String> {
    let mut complaints = Vec::new();
    for (file, lines) in found {
        let listing = lines
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        match allowed.iter().find(|(f, _, _)| f == file) {
            None => complaints.push(format!(
                "{file}: {} line(s) {what} (lines {listing}); none are allowed here",
                lines.len()
            )),
            Some((_, count, _)) if lines.len() > *count => complaints.push(format!(
                "{file}: {} line(s) {what} (lines {listing}), {count} allowed",
                lines.len()
            )),
            Some((_, count, _)) if lines.len() < *count => complaints.push(format!(
                "{file}: only {} line(s) {what} (lines {listing}), the allowlist says {count}: \
                 lower it",
                lines.len()
            )),
            Some(_) => {}
        }
    }
    for (file, count, _) in allowed {
        if !found.contains_key(*file) {
            complaints.push(format!(
                "{file}: the allowlist says {count} line(s) {what}, there are none: remove it"
            ));
        }
    }
    complaints
}

fn files_under(relative: &str) -> Vec<(String, String)> {
    let mut files = Vec::new();
    rust_files(&src_dir().join(relative), &mut files);
    files
        .into_iter()
        .map(|path| {
            let name = path
                .strip_prefix(src_dir())
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (format!("src/{name}"), fs::read_to_string(&path).unwrap())
        })
        .collect()
}

/// Test-only files (`tests.rs`, declared `#[cfg(test)] mod tests;`) may set a store up by hand.
fn is_test_file(file: &str) -> bool {
    file.ends_with("/tests.rs")
}

#[test]
fn sqlite_is_spoken_only_in_the_store() {
    let mut found = std::collections::BTreeMap::new();
    for (file, source) in files_under("") {
        if file.starts_with("src/library/store/") || is_test_file(&file) {
            continue;
        }
        let lines = sql_lines(&source);
        if !lines.is_empty() {
            found.insert(file, lines);
        }
    }
    let doc =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md")).unwrap();
    for (file, count, _) in SQL_OUTSIDE_STORE {
        assert!(
            doc.contains(&format!("| `{file}` | {count} |")),
            "ARCHITECTURE.md (\"The store boundary\") does not list `{file}` with {count} line(s)"
        );
    }
    for (file, count, _) in TUI_OPENS_STORE {
        assert!(
            doc.contains(&format!("| `{file}` | {count} |")),
            "ARCHITECTURE.md (\"The store boundary\") does not list `{file}` with {count} line(s)"
        );
    }
    let complaints = against_allowlist(
        &found,
        SQL_OUTSIDE_STORE,
        "that speak SQLite outside src/library/store/",
    );
    assert!(
        complaints.is_empty(),
        "SQL and rusqlite belong in src/library/store/ (ARCHITECTURE.md, \"The store \
         boundary\"); SQL_OUTSIDE_STORE in tests/architecture.rs:\n  {}\n",
        complaints.join("\n  ")
    );
}

#[test]
fn the_console_reaches_the_store_only_through_the_library() {
    let mut found = std::collections::BTreeMap::new();
    for (file, source) in files_under("tui") {
        let lines = store_opening_lines(&source);
        if !lines.is_empty() {
            found.insert(file, lines);
        }
    }
    let complaints = against_allowlist(&found, TUI_OPENS_STORE, "that open the store");
    assert!(
        complaints.is_empty(),
        "the console uses the store through `Library` (ARCHITECTURE.md, \"The store \
         boundary\"); TUI_OPENS_STORE in tests/architecture.rs:\n  {}\n",
        complaints.join("\n  ")
    );
}

/// The boundary checkers on made-up files.
#[test]
fn the_store_boundary_checkers_catch_sql_rusqlite_and_store_access() {
    let sql = |s: &str| sql_lines(s).into_iter().collect::<Vec<_>>();
    assert_eq!(
        sql("use rusqlite::Connection;\nfn f(c: &Connection) {}\n"),
        [1, 2]
    );
    assert_eq!(
        sql("use rusqlite::{params, OptionalExtension as _};\nfn f() { params![1]; }\n"),
        [1, 2]
    );
    assert_eq!(sql("fn f() -> rusqlite::Result<()> { Ok(()) }\n"), [1]);
    assert_eq!(sql("const Q: &str = \"SELECT id FROM files\";\n"), [1]);
    assert_eq!(
        sql("fn f() {\n    run(\"UPDATE links \\\n     SET state = 'x'\");\n}\n"),
        [2]
    );
    assert_eq!(
        sql("const T: &str = \"Select a file from the list\";\n"),
        Vec::<usize>::new()
    );
    assert_eq!(
        sql("// SELECT * FROM files; rusqlite\nfn f() {}\n"),
        Vec::<usize>::new()
    );
    assert_eq!(
        sql("#[cfg(test)]\nmod tests {\n    fn f() { c.execute(\"DELETE FROM x\"); }\n}\n"),
        Vec::<usize>::new()
    );
    let opens = |s: &str| store_opening_lines(s).into_iter().collect::<Vec<_>>();
    assert_eq!(
        opens(
            "fn f(l: &Library) {\n    let c = l.store().connection();\n    Store::open_existing(p);\n}\n"
        ),
        [2, 3]
    );
    assert_eq!(
        opens("fn f() { BlobStore::open(p); }\n"),
        Vec::<usize>::new()
    );
    let found = std::collections::BTreeMap::from([
        ("src/a.rs".to_owned(), BTreeSet::from([1, 2])),
        ("src/b.rs".to_owned(), BTreeSet::from([3])),
    ]);
    let allowed = [("src/a.rs", 1, "x"), ("src/c.rs", 2, "y")];
    let complaints = against_allowlist(&found, &allowed, "bad");
    assert_eq!(complaints.len(), 3, "{complaints:#?}");
    let exact = [("src/a.rs", 2, "x"), ("src/b.rs", 1, "y")];
    assert!(against_allowlist(&found, &exact, "bad").is_empty());
    let stale = [("src/a.rs", 3, "x"), ("src/b.rs", 1, "y")];
    assert_eq!(against_allowlist(&found, &stale, "bad").len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Comments cite documents that are in the repository, by sections that exist.

/// The text of a file's comments only (code and literals blanked, newlines kept); for a
/// script or Python file, the whole text.
fn comments_only(file: &str, source: &str) -> String {
    if !file.ends_with(".rs") {
        return source.to_owned();
    }
    let chars: Vec<char> = source.chars().collect();
    let (code, strings) = lex(source);
    let mut in_string = vec![false; chars.len()];
    for (start, end) in strings {
        for flag in in_string.iter_mut().take(end).skip(start) {
            *flag = true;
        }
    }
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if c == '\n' || (code[i] != c && !in_string[i]) {
                c
            } else {
                ' '
            }
        })
        .collect()
}

/// The documents at the repository's root a comment may cite, by section title.
const REPO_DOCS: &[&str] = &[
    "ARCHITECTURE.md",
    "RELIABILITY.md",
    "README.md",
    "BENCHMARKS.md",
];

/// What is wrong with the citations in one file's comments: a section mark (U+00A7, the mark
/// of documents that are not here; an RFC's is fine), a design document or a shared folder
/// beside the repository, or a repository document cited by a section title that is not one of
/// its headings.
fn bad_citations(file: &str, source: &str, headings: &dyn Fn(&str) -> Vec<String>) -> Vec<String> {
    let text = comments_only(file, source);
    let mut found = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let at = format!("{file}:{}", index + 1);
        for (pos, _) in line.match_indices('\u{a7}') {
            let before = line[..pos].trim_end();
            let rfc = before
                .rsplit(' ')
                .next()
                .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()) && !n.is_empty())
                && before
                    .rsplit(' ')
                    .nth(1)
                    .is_some_and(|w| w.ends_with("RFC"));
            if !rfc {
                found.push(format!(
                    "{at}: a section-mark citation of a document outside the repository"
                ));
            }
        }
        for outside in ["DESIGN.md", "DESIGN §", "../shared"] {
            if line.contains(outside) {
                found.push(format!(
                    "{at}: cites `{outside}`, which is not in the repository"
                ));
            }
        }
        for doc in REPO_DOCS {
            let stem = doc.trim_end_matches(".md");
            for (pos, _) in line.match_indices(stem) {
                let rest = line[pos + stem.len()..]
                    .trim_start_matches(".md")
                    .trim_start_matches(',')
                    .trim_start();
                let Some(title) = rest.strip_prefix('"').and_then(|r| r.split('"').next()) else {
                    continue;
                };
                let title = title.to_lowercase();
                if !headings(doc)
                    .iter()
                    .any(|h| h.to_lowercase().contains(&title))
                {
                    found.push(format!("{at}: {doc} has no section \"{title}\""));
                }
            }
        }
    }
    found
}

fn doc_headings(doc: &str) -> Vec<String> {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(doc))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| l.trim_start_matches('#').trim().to_owned())
        .collect()
}

#[test]
fn comments_cite_only_documents_in_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches", "examples"] {
        let mut all = Vec::new();
        collect_files(&root.join(dir), &mut all);
        files.extend(all);
    }
    let mut found = Vec::new();
    for path in files {
        let file = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if file.starts_with("tests/snapshots/") || file.contains("/fixtures/") {
            continue;
        }
        let Ok(source) = fs::read_to_string(&path) else {
            continue;
        };
        found.extend(bad_citations(&file, &source, &doc_headings));
    }
    assert!(
        found.is_empty(),
        "comments cite documents that are not in the repository, or sections that do not exist; \
         cite ARCHITECTURE.md, RELIABILITY.md, README.md or BENCHMARKS.md by a heading, or say \
         the point plainly:\n  {}\n",
        found.join("\n  ")
    );
}

/// `.rs`, `.sh` and `.py` files under `dir`.
fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_files(&path, out);
        } else if path
            .extension()
            .is_some_and(|ext| ext == "rs" || ext == "sh" || ext == "py")
        {
            out.push(path);
        }
    }
}

#[test]
fn the_citation_checker_catches_outside_documents_and_missing_sections() {
    let headings = |doc: &str| -> Vec<String> {
        match doc {
            "ARCHITECTURE.md" => vec!["The store boundary".to_owned()],
            _ => vec![],
        }
    };
    let check = |file: &str, source: &str| bad_citations(file, source, &headings).len();
    assert_eq!(
        check(
            "src/a.rs",
            "/// The content hash (reference \u{a7}4.1).\nfn f() {}\n"
        ),
        1
    );
    assert_eq!(check("src/a.rs", "// see DESIGN \u{a7}6\n"), 2);
    assert_eq!(check("src/a.rs", "//! From ../shared/notes.md\n"), 1);
    assert_eq!(check("src/a.rs", "/// RFC 7636 \u{a7}4.1 bounds.\n"), 0);
    assert_eq!(
        check("src/a.rs", "const S: &str = \"reference \u{a7}4\";\n"),
        0
    );
    assert_eq!(
        check("src/a.rs", "// (ARCHITECTURE.md, \"The store boundary\")\n"),
        0
    );
    assert_eq!(check("src/a.rs", "// (ARCHITECTURE.md, \"Nowhere\")\n"), 1);
    assert_eq!(check("benches/x.sh", "# reference \u{a7}10\n"), 1);
}
