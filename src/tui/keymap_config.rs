//! The keymap in force: [`BINDINGS`] with the config file's `[keys]` overrides applied. Key
//! handling, the footer and the `?` overlay all read this one value, so what they show is what
//! the keys do.
//!
//! `[keys]` maps an action name to a key or a list of keys (`quit = "x"`,
//! `retry_item = ["r", "F5"]`); the listed keys replace the action's default ones.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent};

use super::keymap::{Action, BINDINGS, Binding, Key, Scope, matches};
use super::pane_id::PaneId;

/// One binding as it is in force.
#[derive(Clone)]
pub struct ActiveBinding {
    pub binding: &'static Binding,
    pub keys: Vec<Key>,
    /// The keys as written in the footer and help ("j/↓").
    pub label: String,
}

impl std::fmt::Debug for ActiveBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActiveBinding")
            .field("action", &self.binding.action)
            .field("keys", &self.keys)
            .finish()
    }
}

impl ActiveBinding {
    pub fn help(&self) -> &'static str {
        self.binding.help
    }
    pub fn hint(&self) -> &'static str {
        self.binding.hint
    }
    pub fn scope(&self) -> Scope {
        self.binding.scope
    }
}

#[derive(Clone, Debug)]
pub struct Keymap {
    bindings: Vec<ActiveBinding>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeymapError {
    #[error("[keys] {action:?} is not an action; the actions are: {known}")]
    UnknownAction { action: String, known: String },
    #[error(
        "[keys] {action} = {key:?}: not a key this console knows; write a character (\"x\"), a name (Enter, Esc, Tab, S-Tab, Space, Backspace, Delete, Up, Down, Left, Right, PgUp, PgDn, Home, End, F1-F12) or C-x for Ctrl"
    )]
    BadKey { action: String, key: String },
    #[error("[keys] {action} has no keys; give at least one")]
    NoKeys { action: String },
    #[error(
        "[keys] the key {key:?} would mean both {first} and {second}; give one of them another key"
    )]
    Clash {
        key: String,
        first: String,
        second: String,
    },
}

/// The config name of an action: `RetryItem` → `retry_item`, `Focus(Errors)` → `focus_errors`.
pub fn action_name(action: Action) -> String {
    let debug = format!("{action:?}");
    let mut name = String::new();
    for c in debug.chars() {
        if c.is_ascii_uppercase() {
            if !name.is_empty() && !name.ends_with('_') {
                name.push('_');
            }
            name.push(c.to_ascii_lowercase());
        } else if c == '(' {
            name.push('_');
        } else if c.is_ascii_alphanumeric() {
            name.push(c);
        }
    }
    name
}

/// Every action name `[keys]` accepts, in keymap order.
pub fn action_names() -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for b in BINDINGS {
        let name = action_name(b.action);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// Parse one key as written in the config file.
pub fn parse_key(text: &str) -> Option<Key> {
    let text = text.trim();
    let lower = text.to_ascii_lowercase();
    for prefix in ["c-", "ctrl-", "ctrl+"] {
        if let Some(rest) = lower.strip_prefix(prefix) {
            let mut chars = rest.chars();
            return match (chars.next(), chars.next()) {
                (Some(c), None) if c.is_ascii_alphanumeric() => Some(Key {
                    code: KeyCode::Char(c),
                    ctrl: true,
                }),
                _ => None,
            };
        }
    }
    let mut chars = text.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return (!c.is_control()).then_some(Key {
            code: KeyCode::Char(c),
            ctrl: false,
        });
    }
    let code = match lower.as_str() {
        "enter" | "return" => KeyCode::Enter,
        "esc" | "escape" => KeyCode::Esc,
        "tab" => KeyCode::Tab,
        "s-tab" | "backtab" | "shift-tab" => KeyCode::BackTab,
        "space" => KeyCode::Char(' '),
        "backspace" => KeyCode::Backspace,
        "delete" | "del" => KeyCode::Delete,
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "pgup" | "pageup" => KeyCode::PageUp,
        "pgdn" | "pagedown" => KeyCode::PageDown,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        f if f.starts_with('f') => match f[1..].parse::<u8>() {
            Ok(n @ 1..=12) => KeyCode::F(n),
            _ => return None,
        },
        _ => return None,
    };
    Some(Key { code, ctrl: false })
}

/// A key as the footer and help write it.
pub fn key_label(key: &Key) -> String {
    let name = match key.code {
        KeyCode::Char(' ') => "Space".to_owned(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Enter => "Enter".into(),
        KeyCode::Esc => "Esc".into(),
        KeyCode::Tab => "Tab".into(),
        KeyCode::BackTab => "S-Tab".into(),
        KeyCode::Backspace => "Bksp".into(),
        KeyCode::Delete => "Del".into(),
        KeyCode::Up => "↑".into(),
        KeyCode::Down => "↓".into(),
        KeyCode::Left => "←".into(),
        KeyCode::Right => "→".into(),
        KeyCode::PageUp => "PgUp".into(),
        KeyCode::PageDown => "PgDn".into(),
        KeyCode::Home => "Home".into(),
        KeyCode::End => "End".into(),
        KeyCode::F(n) => format!("F{n}"),
        other => format!("{other:?}"),
    };
    if key.ctrl { format!("C-{name}") } else { name }
}

/// Whether two scopes can be in force at once (a pane's keys and the global ones can).
/// A pane's own key may be the key that closes overlays (All Files' `Esc` clears its marks):
/// an open overlay takes every key first, so the two never compete.
fn reuses_close_overlay(a: &ActiveBinding, b: &ActiveBinding) -> bool {
    let closes = |x: &ActiveBinding| x.binding.action == Action::CloseOverlay;
    let own = |x: &ActiveBinding| matches!(x.scope(), Scope::Pane(_));
    (closes(a) && own(b)) || (closes(b) && own(a))
}

fn scopes_meet(a: Scope, b: Scope) -> bool {
    a == b || a == Scope::Global || b == Scope::Global
}

impl Default for Keymap {
    fn default() -> Keymap {
        Keymap {
            bindings: BINDINGS
                .iter()
                .map(|b| ActiveBinding {
                    binding: b,
                    keys: b.keys.to_vec(),
                    label: b.label.to_owned(),
                })
                .collect(),
        }
    }
}

impl Keymap {
    /// The defaults with `overrides` (action name → keys) applied, or what is wrong with them.
    pub fn with_overrides(
        overrides: &BTreeMap<String, Vec<String>>,
    ) -> Result<Keymap, KeymapError> {
        let mut map = Keymap::default();
        let known = action_names();
        for (action, keys) in overrides {
            if !known.contains(action) {
                return Err(KeymapError::UnknownAction {
                    action: action.clone(),
                    known: known.join(", "),
                });
            }
            if keys.is_empty() {
                return Err(KeymapError::NoKeys {
                    action: action.clone(),
                });
            }
            let parsed = keys
                .iter()
                .map(|k| {
                    parse_key(k).ok_or_else(|| KeymapError::BadKey {
                        action: action.clone(),
                        key: k.clone(),
                    })
                })
                .collect::<Result<Vec<Key>, _>>()?;
            let label = parsed.iter().map(key_label).collect::<Vec<_>>().join("/");
            // The first binding of the action takes the keys; any other (h/← beside S-Tab)
            // goes, so the defaults cannot linger beside what the admin chose.
            let mut first = true;
            map.bindings.retain_mut(|b| {
                if action_name(b.binding.action) != *action {
                    return true;
                }
                if first {
                    first = false;
                    b.keys = parsed.clone();
                    b.label = label.clone();
                    true
                } else {
                    false
                }
            });
        }
        map.check_clashes()?;
        Ok(map)
    }

    fn check_clashes(&self) -> Result<(), KeymapError> {
        for (i, a) in self.bindings.iter().enumerate() {
            for b in &self.bindings[i + 1..] {
                if a.binding.action == b.binding.action
                    || !scopes_meet(a.scope(), b.scope())
                    || reuses_close_overlay(a, b)
                {
                    continue;
                }
                if let Some(key) = a.keys.iter().find(|k| b.keys.contains(k)) {
                    return Err(KeymapError::Clash {
                        key: key_label(key),
                        first: action_name(a.binding.action),
                        second: action_name(b.binding.action),
                    });
                }
            }
        }
        Ok(())
    }

    /// How the keys of `action` are written ("r"), for sentences that name them.
    pub fn label_of(&self, action: Action) -> String {
        self.bindings
            .iter()
            .find(|b| b.binding.action == action)
            .map_or_else(|| "?".to_owned(), |b| b.label.clone())
    }

    /// Every binding in force, in keymap order.
    pub fn bindings(&self) -> &[ActiveBinding] {
        &self.bindings
    }

    /// The action `event` means with `focus` focused, if any. Pane bindings win over global ones.
    pub fn action_for(&self, event: &KeyEvent, focus: PaneId) -> Option<Action> {
        let hit = |b: &&ActiveBinding| b.keys.iter().any(|k| matches(k, event));
        self.bindings
            .iter()
            .filter(|b| b.scope() == Scope::Pane(focus))
            .find(hit)
            .or_else(|| {
                self.bindings
                    .iter()
                    .filter(|b| b.scope() == Scope::Global)
                    .find(hit)
            })
            .map(|b| b.binding.action)
    }

    /// The footer's bindings for the focused pane: its own keys first, then the global ones.
    pub fn footer(&self, focus: PaneId) -> impl Iterator<Item = &ActiveBinding> {
        let own = self
            .bindings
            .iter()
            .filter(move |b| b.binding.footer && b.scope() == Scope::Pane(focus));
        let global = self
            .bindings
            .iter()
            .filter(|b| b.binding.footer && b.scope() == Scope::Global);
        own.chain(global)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn overrides(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(a, ks)| (a.to_string(), ks.iter().map(|k| k.to_string()).collect()))
            .collect()
    }

    #[test]
    fn action_names_are_snake_case_and_unique_per_action() {
        assert_eq!(action_name(Action::RetryItem), "retry_item");
        assert_eq!(action_name(Action::Focus(PaneId::Errors)), "focus_errors");
        assert_eq!(action_name(Action::Quit), "quit");
        let names = action_names();
        assert!(names.contains(&"link_folder".to_string()), "{names:?}");
    }

    #[test]
    fn keys_parse_from_their_written_names() {
        assert_eq!(parse_key("x").unwrap().code, KeyCode::Char('x'));
        assert_eq!(parse_key("F5").unwrap().code, KeyCode::F(5));
        assert_eq!(parse_key("PgDn").unwrap().code, KeyCode::PageDown);
        let ctrl = parse_key("C-x").unwrap();
        assert!(ctrl.ctrl && ctrl.code == KeyCode::Char('x'));
        assert!(parse_key("F13").is_none());
        assert!(parse_key("Hyper-x").is_none());
    }

    #[test]
    fn an_override_replaces_the_default_keys_everywhere() {
        let map = Keymap::with_overrides(&overrides(&[("quit", &["x", "F10"])])).unwrap();
        let q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        let x = KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE);
        assert_eq!(map.action_for(&q, PaneId::Accounts), None);
        assert_eq!(map.action_for(&x, PaneId::Accounts), Some(Action::Quit));
        let quit = map
            .footer(PaneId::Accounts)
            .find(|b| b.binding.action == Action::Quit);
        assert_eq!(quit.unwrap().label, "x/F10");
    }

    #[test]
    fn overriding_an_action_with_two_default_bindings_keeps_only_the_new_keys() {
        let map = Keymap::with_overrides(&overrides(&[("focus_next", &["n"])])).unwrap();
        let l = KeyEvent::new(KeyCode::Char('l'), KeyModifiers::NONE);
        let tab = KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE);
        assert_eq!(map.action_for(&l, PaneId::Queue), None);
        assert_eq!(map.action_for(&tab, PaneId::Queue), None);
    }

    #[test]
    fn bad_entries_are_refused_naming_the_key() {
        let err = Keymap::with_overrides(&overrides(&[("quitt", &["x"])])).unwrap_err();
        assert!(
            err.to_string().contains("\"quitt\" is not an action"),
            "{err}"
        );
        let err = Keymap::with_overrides(&overrides(&[("quit", &["Hyper-x"])])).unwrap_err();
        assert!(err.to_string().contains("\"Hyper-x\""), "{err}");
        let err = Keymap::with_overrides(&overrides(&[("quit", &["j"])])).unwrap_err();
        assert!(
            err.to_string().contains("\"j\"") && err.to_string().contains("down"),
            "{err}"
        );
        let err = Keymap::with_overrides(&overrides(&[("quit", &[])])).unwrap_err();
        assert_eq!(
            err,
            KeymapError::NoKeys {
                action: "quit".into()
            }
        );
    }

    #[test]
    fn the_defaults_have_no_clashes() {
        Keymap::default().check_clashes().unwrap();
    }
}
