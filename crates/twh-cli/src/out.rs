//! Writing to stdout without panicking.
//!
//! `println!` panics when stdout is gone (`twh secret list | head -1` closes
//! the pipe after one line: "failed printing to stdout: Broken pipe", exit 101).
//! [`outln!`] and [`out!`] never panic: once the reader went away, further
//! output is dropped silently and the command carries on, so its exit status
//! is still its own (`twh secret rotate-due | head -1` still rotates every due
//! secret, and still exits 1 if one rotation failed; with nothing failing it
//! exits 0, as `ripgrep` and most Unix tools do). Any other write error is a
//! plain failure (exit 1).

use std::fmt;
use std::io::{self, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::failure::Failure;

/// `println!` to stdout; evaluates to `Result<(), Failure>`.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::out::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` to stdout; evaluates to `Result<(), Failure>`.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::out::write(format_args!($($arg)*))
    };
}

pub(crate) use {out, outln};

/// Set once stdout's reader has gone away: later output is dropped.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes and flushes `args` to stdout.
pub(crate) fn write(args: fmt::Arguments<'_>) -> Result<(), Failure> {
    if CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut stdout = io::stdout().lock();
    checked(stdout.write_fmt(args).and_then(|()| stdout.flush()))
}

/// Maps the result of a write to stdout: a closed pipe drops the rest of
/// the output quietly; any other error fails the command.
pub(crate) fn checked(result: io::Result<()>) -> Result<(), Failure> {
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => Err(Failure::failed(format_args!("writing to stdout: {e}"))),
    }
}
