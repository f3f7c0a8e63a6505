//! What the engines' state does to the console: hosting one here, following one elsewhere,
//! commands given through the store. `App` routing; the types are `tui::engines`.

use crate::import::events::{EngineCommand, EngineEvent};
use crate::library::store::engine_commands::CommandKind;
use crate::library::store::links::LinkState;
use crate::tui::app::{App, Effect, EngineStatus};
use crate::tui::engine_state::EnginesSeen;
use crate::tui::host::NotHosted;
use crate::tui::keymap::Action;

use crate::tui::engines::{CommandUpdate, HOSTING_ASKED};

impl App {
    /// The follower read the engine rows: say whose engine runs. Draws only when the title
    /// bar changes (a heartbeat alone changes nothing on screen).
    pub fn apply_engines(&mut self, seen: EnginesSeen) -> Vec<Effect> {
        if self.engine.hosting() {
            return vec![];
        }
        // An engine that failed here stays said until another one runs.
        let status = EngineStatus::seen(&seen);
        if matches!(self.engine, EngineStatus::Unavailable(_)) && !status.running() {
            return vec![];
        }
        if status.label() != self.engine.label() {
            self.engine = status;
            self.dirty = true;
        }
        vec![]
    }

    /// The log's last events, replayed on opening so the queue shows what happened lately.
    /// The library read that follows has the errors as they stand now: none of these is
    /// "failed since the read".
    pub fn apply_history(&mut self, events: Vec<EngineEvent>) -> Vec<Effect> {
        let mut effects = vec![];
        for event in events {
            for effect in self.apply_engine(event) {
                if !effects.contains(&effect) {
                    effects.push(effect);
                }
            }
        }
        self.errors.history_applied();
        if !effects.contains(&Effect::Refresh) {
            effects.push(Effect::Refresh);
        }
        self.dirty = true;
        effects
    }

    /// Some process changed the library (imports, links, an admin's action): read the panes
    /// again. The follower sends this at most twice a second.
    pub fn store_changed(&mut self) -> Vec<Effect> {
        let mut effects = vec![Effect::Refresh];
        effects.extend(self.files_reload());
        effects
    }

    /// `H`: no engine runs, so this console starts one (as it does on opening).
    pub(crate) fn host_engine(&mut self) -> Vec<Effect> {
        self.dirty = true;
        match &self.engine {
            EngineStatus::NoEngine | EngineStatus::Unavailable(_) => {
                self.engine = EngineStatus::Starting;
                self.last_problem = None;
                self.status = Some(HOSTING_ASKED.into());
                vec![Effect::HostEngine]
            }
            EngineStatus::Starting | EngineStatus::Watching | EngineStatus::Stopping => {
                self.status = Some("this console runs the engine already".into());
                vec![]
            }
            other => {
                self.status = Some(format!(
                    "an engine runs already ({}); this console follows it",
                    other.label().trim_start_matches("engine: ")
                ));
                vec![]
            }
        }
    }

    /// The engine this console started runs — or why it does not.
    pub fn host_started(&mut self, outcome: Result<(), NotHosted>) -> Vec<Effect> {
        self.dirty = true;
        let asked = self.status.as_deref() == Some(HOSTING_ASKED);
        match outcome {
            Ok(()) => {
                self.engine = EngineStatus::Watching;
                if asked {
                    self.status = Some("this console runs the import engine".into());
                }
            }
            // Not an error: that engine is followed like any other.
            Err(NotHosted::Taken) => {
                self.engine = EngineStatus::Elsewhere(None);
                if asked {
                    self.status =
                        Some("another engine took the library first; following it".into());
                }
            }
            Err(NotHosted::Failed(why)) => {
                self.engine = EngineStatus::Unavailable(why);
                if asked {
                    self.status = None;
                }
            }
        }
        vec![Effect::Refresh]
    }

    /// The engine this console ran stopped (a `stop` command): none runs until one starts.
    pub fn host_stopped(&mut self) -> Vec<Effect> {
        if self.engine == EngineStatus::Watching {
            self.engine = EngineStatus::NoEngine;
            self.dirty = true;
        }
        vec![]
    }

    /// Whether the footer offers the host key: nothing runs the engine.
    pub fn may_host(&self) -> bool {
        matches!(self.engine, EngineStatus::NoEngine)
    }

    /// `s`: scan every linked folder now. A hosting console wakes its own engine at once;
    /// any other gives the engine that runs a `scan` command through the store.
    pub(crate) fn scan_now(&mut self) -> Vec<Effect> {
        self.dirty = true;
        if self.engine == EngineStatus::Watching {
            self.status = Some(format!("scanning {} linked folder(s)", self.active_links()));
            return vec![Effect::Engine(EngineCommand::ScanNow)];
        }
        self.status = Some(self.waiting_words(CommandKind::Scan));
        vec![Effect::AskEngine(CommandKind::Scan)]
    }

    fn active_links(&self) -> usize {
        self.accounts
            .rows
            .iter()
            .filter(|a| {
                a.dropbox
                    .as_ref()
                    .is_some_and(|d| d.state == LinkState::Active)
            })
            .count()
    }

    fn waiting_words(&self, kind: CommandKind) -> String {
        if self.engine.running() {
            format!("{} asked — pending", kind.as_str())
        } else {
            format!(
                "no engine running — the {} waits for the next engine",
                kind.as_str()
            )
        }
    }

    /// A command given through the store moved on: say so in the status line.
    pub fn command_update(&mut self, update: CommandUpdate) -> Vec<Effect> {
        self.dirty = true;
        match update {
            CommandUpdate::Asked(kind) => {
                self.status = Some(self.waiting_words(kind));
            }
            CommandUpdate::Done {
                ok: true, outcome, ..
            } => {
                self.status = Some(outcome.trim_end_matches(" now").to_owned());
            }
            CommandUpdate::Done { kind, outcome, .. } => {
                self.status = None;
                self.last_problem = Some(format!("{} not done: {outcome}", kind.as_str()));
            }
            CommandUpdate::Refused(kind, why) => {
                self.status = None;
                self.last_problem = Some(format!("{} not asked: {why}", kind.as_str()));
            }
        }
        vec![]
    }

    /// The host key as the footer writes it, when it is offered.
    pub fn host_offer(&self) -> Option<String> {
        self.may_host()
            .then(|| self.keymap.label_of(Action::HostEngine))
    }
}
