//! Request paths as Dropbox reads them: `""` is the app-folder root, `/a/b` a
//! case-insensitive path, `id:…` a stable id and `rev:…` one revision of a file. Names are kept
//! byte for byte (no Unicode normalisation: NFC and NFD spellings are different names here).

/// Linux's NAME_MAX, which is also the component limit rclone assumes for Dropbox.
pub const MAX_NAME_BYTES: usize = 255;

const ID_PREFIX: &str = "id:";
const REV_PREFIX: &str = "rev:";
const NAMESPACE_PREFIX: &str = "ns:";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Root,
    Path(ApiPath),
    Id(String),
    Rev(String),
}

/// A path below the root, as the components the client spelled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiPath {
    components: Vec<String>,
}

impl ApiPath {
    pub fn from_components(components: Vec<String>) -> Self {
        Self { components }
    }

    pub fn components(&self) -> &[String] {
        &self.components
    }

    pub fn name(&self) -> &str {
        self.components.last().map(String::as_str).unwrap_or("")
    }

    pub fn display(&self) -> String {
        join(&self.components)
    }

    pub fn lower(&self) -> String {
        lower_of(&self.display())
    }

    pub fn parent(&self) -> Option<ApiPath> {
        (self.components.len() > 1).then(|| ApiPath {
            components: self.components[..self.components.len() - 1].to_vec(),
        })
    }

    pub fn with_name(&self, name: String) -> ApiPath {
        let mut components = self.components.clone();
        if let Some(last) = components.last_mut() {
            *last = name;
        }
        ApiPath { components }
    }
}

pub fn join(components: &[String]) -> String {
    components.iter().map(|c| format!("/{c}")).collect()
}

/// Dropbox's `path_lower`: the whole path lower-cased (Unicode-aware).
pub fn lower_of(display: &str) -> String {
    display.to_lowercase()
}

/// Parses a request path; the error text becomes `malformed_path`'s detail.
pub fn parse_target(raw: &str) -> Result<Target, String> {
    if raw.is_empty() {
        return Ok(Target::Root);
    }
    if let Some(rev) = raw.strip_prefix(REV_PREFIX) {
        return if is_rev(rev) {
            Ok(Target::Rev(rev.to_owned()))
        } else {
            Err(format!("{raw:?} is not a valid revision"))
        };
    }
    if raw.starts_with(ID_PREFIX) {
        return if raw.len() > ID_PREFIX.len() {
            Ok(Target::Id(raw.to_owned()))
        } else {
            Err("empty id".to_owned())
        };
    }
    if raw.starts_with(NAMESPACE_PREFIX) {
        return Err("namespace paths are not supported by the emulator".to_owned());
    }
    let Some(rest) = raw.strip_prefix('/') else {
        return Err(format!("{raw:?} does not start with '/'"));
    };
    let components: Vec<String> = rest.split('/').map(str::to_owned).collect();
    for component in &components {
        if component.is_empty() {
            return Err(format!("{raw:?} has an empty component"));
        }
        if component == "." || component == ".." {
            return Err(format!("{raw:?} has a relative component"));
        }
        if component.contains('\0') {
            return Err("a name contains NUL".to_owned());
        }
        if component.len() > MAX_NAME_BYTES {
            return Err(format!("a name is longer than {MAX_NAME_BYTES} bytes"));
        }
    }
    Ok(Target::Path(ApiPath { components }))
}

/// `Rev` in files.stone: lower-case hex, at least nine digits.
pub fn is_rev(text: &str) -> bool {
    const MIN_REV_LEN: usize = 9;
    text.len() >= MIN_REV_LEN && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Names the Dropbox desktop client never uploads; the scanner skips them.
pub fn is_ignored_name(name: &str) -> bool {
    crate::dropbox::system_files::is_never_stored(name)
}

/// `name (1).ext`, `name (2).ext`, …: the autorename candidates Dropbox uses.
pub fn autorename_candidate(name: &str, attempt: u32) -> String {
    match name.rfind('.') {
        Some(dot) if dot > 0 => format!("{} ({attempt}){}", &name[..dot], &name[dot..]),
        _ => format!("{name} ({attempt})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_ids_revs_and_paths_parse() {
        assert_eq!(parse_target(""), Ok(Target::Root));
        assert_eq!(parse_target("id:abc"), Ok(Target::Id("id:abc".into())));
        assert_eq!(
            parse_target("rev:0123456789a"),
            Ok(Target::Rev("0123456789a".into()))
        );
        let Ok(Target::Path(path)) = parse_target("/Acme/Photo.JPG") else {
            panic!("a plain path");
        };
        assert_eq!(path.lower(), "/acme/photo.jpg");
        assert_eq!(path.display(), "/Acme/Photo.JPG");
        assert_eq!(path.parent().unwrap().display(), "/Acme");
    }

    #[test]
    fn malformed_paths_are_refused() {
        for raw in [
            "a",
            "/a//b",
            "/a/",
            "/..",
            "rev:12",
            "rev:XYZXYZXYZ",
            "id:",
            "/a\0b",
        ] {
            assert!(parse_target(raw).is_err(), "{raw:?}");
        }
        assert!(parse_target(&format!("/{}", "x".repeat(256))).is_err());
        assert!(parse_target(&format!("/{}", "x".repeat(255))).is_ok());
    }

    #[test]
    fn autorename_keeps_the_extension() {
        assert_eq!(autorename_candidate("report.txt", 1), "report (1).txt");
        assert_eq!(autorename_candidate("README", 2), "README (2)");
        assert_eq!(autorename_candidate(".hidden", 1), ".hidden (1)");
    }

    #[test]
    fn desktop_junk_is_ignored_in_any_case() {
        assert!(is_ignored_name("Thumbs.db"));
        assert!(is_ignored_name(".DS_Store"));
        assert!(!is_ignored_name("photo.jpg"));
    }
}
