//! `scan` and `stop`: commands to the import engine that runs, from any shell. They are rows
//! in the store (checked and audited by `Library::command_engine`); the engine takes them at
//! its next tick.

use std::time::{Duration, Instant};

use smartimage::import::lock::EngineLock;
use smartimage::library::permissions::Right;
use smartimage::library::store::engine_commands::CommandKind;

use super::{Context, Failure, Outcome};

/// How often a waiting verb looks again.
const POLL: Duration = Duration::from_millis(200);
/// How long `--wait` waits before it says the engine did not answer.
const WAIT_AT_MOST: Duration = Duration::from_secs(30);

pub fn scan(cx: &mut Context, account: Option<&str>, wait: bool) -> Outcome {
    let actor = cx.actor()?;
    let id = cx
        .library
        .command_engine(&actor, CommandKind::Scan, account)?;
    let target = account.map_or("every linked folder".to_owned(), |a| format!("{a:?}"));
    println!("asked the engine to scan {target}; command {id}");
    if !EngineLock::is_held(cx.library.data_dir()) {
        // Durable: the next engine to start takes it.
        println!("no engine runs now: the next one to start takes it");
        return Ok(());
    }
    if !wait {
        return Ok(());
    }
    let started = Instant::now();
    loop {
        let command = cx.library.engine_command(id)?;
        if let Some(c) = command.filter(|c| matches!(c.state.as_str(), "done" | "failed")) {
            println!("engine: {}", c.outcome.unwrap_or_default());
            return Ok(());
        }
        if started.elapsed() > WAIT_AT_MOST {
            return Err(Failure::runtime(format!(
                "the engine did not take command {id} within {} s; it stays pending",
                WAIT_AT_MOST.as_secs()
            )));
        }
        std::thread::sleep(POLL);
    }
}

pub fn stop(cx: &mut Context, wait: bool) -> Outcome {
    let actor = cx.actor()?;
    // Refused before anything else: whether an engine runs is not the point for a non-operator.
    actor.check(Right::StopEngine)?;
    let data_dir = cx.library.data_dir().to_path_buf();
    let running = EngineLock::is_held(&data_dir)
        || cx
            .library
            .engine_overview(&actor)?
            .engines
            .iter()
            .any(|e| e.healthy);
    if !running {
        // A stop left pending would stop the next engine the moment it starts.
        println!("no engine runs on this library; nothing to stop");
        return Ok(());
    }
    let id = cx.library.command_engine(&actor, CommandKind::Stop, None)?;
    println!("asked the engine to stop (it finishes the files in flight); command {id}");
    if !wait {
        return Ok(());
    }
    let started = Instant::now();
    while EngineLock::is_held(&data_dir) {
        if started.elapsed() > WAIT_AT_MOST {
            return Err(Failure::runtime(format!(
                "the engine still holds the library after {} s (command {id}); see smartimage status",
                WAIT_AT_MOST.as_secs()
            )));
        }
        std::thread::sleep(POLL);
    }
    println!("the engine stopped");
    Ok(())
}
