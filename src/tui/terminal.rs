//! `TerminalGuard`: raw mode, alternate screen, bracketed paste and a hidden cursor for as long
//! as it lives — undone on drop, on panic (before the panic message prints) and around `Ctrl-Z`.

use std::io::{self, Stdout, Write};
use std::sync::Once;

use crossterm::event::{DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste};
use crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type ConsoleTerminal = Terminal<CrosstermBackend<Stdout>>;

pub struct TerminalGuard {
    _private: (),
}

static PANIC_HOOK: Once = Once::new();
/// The exit code of a console that panicked (what Rust uses for a panicking main).
const PANIC_EXIT_CODE: i32 = 101;

fn enter() -> io::Result<()> {
    enable_raw_mode()?;
    execute!(
        io::stdout(),
        EnterAlternateScreen,
        EnableBracketedPaste,
        cursor::Hide
    )
}

/// Undo everything `enter` did. Safe to call more than once, and from a panic hook.
pub fn restore() {
    let mut out = io::stdout();
    // Mouse reporting is off unless the admin turned it on; turning it off is harmless.
    let _ = execute!(
        out,
        DisableMouseCapture,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = disable_raw_mode();
    let _ = out.flush();
}

impl TerminalGuard {
    pub fn enter() -> io::Result<(TerminalGuard, ConsoleTerminal)> {
        PANIC_HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                restore();
                previous(info);
                // A panic in any task leaves the screen unusable; end like a crash (start-up
                // recovery mends the library) rather than draw on a cooked terminal.
                std::process::exit(PANIC_EXIT_CODE);
            }));
        });
        let guard = TerminalGuard { _private: () };
        enter()?;
        let terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
        Ok((guard, terminal))
    }

    /// `Ctrl-Z`: give the shell its terminal back, stop, and take it again on `fg`.
    pub fn suspend(&self, terminal: &mut ConsoleTerminal) -> io::Result<()> {
        restore();
        // SAFETY: raising a signal at ourselves; SIGTSTP's default action stops the process
        // and execution continues here after SIGCONT.
        unsafe {
            libc::raise(libc::SIGTSTP);
        }
        enter()?;
        // A fresh terminal draws every cell next frame. (`Terminal::clear` would ask the
        // terminal for the cursor position, racing the input reader for the reply.)
        execute!(io::stdout(), Clear(ClearType::All))?;
        *terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
        Ok(())
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}
