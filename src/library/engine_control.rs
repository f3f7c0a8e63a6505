//! Commands to the import engine that runs, from any process (`store::engine_commands`):
//! checked against the admin's rights and audited here, carried out by the engine.

use crate::library::actions::{Library, event, now};
use crate::library::error::{LibraryError, Result};
use crate::library::ids::CommandId;
use crate::library::permissions::{Actor, Right};
use crate::library::store::audit;
use crate::library::store::engine_commands::{self, Command, CommandKind};
use crate::library::store::links;

impl Library {
    /// Give the engine a command: `scan` or `pass` for every linked account (`None`) or one,
    /// `stop` for the whole engine (operators). Returns the command's id; it waits, durable,
    /// until an engine takes it.
    pub fn command_engine(
        &mut self,
        actor: &Actor,
        kind: CommandKind,
        account: Option<&str>,
    ) -> Result<CommandId> {
        let account = account.map(|name| self.account(name)).transpose()?;
        match (&account, kind) {
            (_, CommandKind::Stop) => actor.check(Right::StopEngine)?,
            (Some(account), _) => actor.check(Right::Organise(account))?,
            (None, _) => {}
        }
        let link = match &account {
            Some(account) => Some(
                links::live_link_of(self.store.connection(), account.id)?
                    .ok_or_else(|| {
                        LibraryError::NotFound(format!(
                            "{:?} is not linked to Dropbox; link it first (smartimage link)",
                            account.name
                        ))
                    })?
                    .id,
            ),
            None => None,
        };
        let at = now();
        let at_ms = (at.unix_timestamp_nanos() / 1_000_000) as i64;
        let action = format!("engine.{}", kind.as_str());
        let target = account.as_ref().map_or("all accounts", |a| a.name.as_str());
        self.store.transaction(|tx| -> Result<CommandId> {
            let id = engine_commands::submit(tx, &actor.admin.email, kind, link, at_ms)?;
            audit::record(
                tx,
                &event(
                    actor,
                    at.unix_timestamp(),
                    &action,
                    account.as_ref().map(|a| a.id),
                    target,
                    None,
                ),
            )?;
            Ok(id)
        })
    }

    /// A command as it stands now (its state and outcome).
    pub fn engine_command(&self, id: CommandId) -> Result<Option<Command>> {
        Ok(engine_commands::get(self.store.connection(), id)?)
    }

    /// Commands no engine has finished yet.
    pub fn open_engine_commands(&self) -> Result<Vec<Command>> {
        Ok(engine_commands::open(self.store.connection())?)
    }
}
