//! Writing to stdout without panicking.
//!
//! `println!` panics when stdout is gone (`twh secret list | head -1` closes
//! the pipe after one line: "failed printing to stdout: Broken pipe", exit 101).
//! [`outln!`] and [`out!`] return a [`Failure`] instead: [`Failure::Quiet`]
//! for a reader that went away (the command stops and exits 0, as `ripgrep`
//! and most Unix tools do), a plain failure (exit 1) for any other write error.

use std::fmt;
use std::io::{self, Write as _};

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

/// Writes and flushes `args` to stdout.
pub(crate) fn write(args: fmt::Arguments<'_>) -> Result<(), Failure> {
    let mut stdout = io::stdout().lock();
    checked(stdout.write_fmt(args).and_then(|()| stdout.flush()))
}

/// Maps the result of a write to stdout: a closed pipe stops quietly.
pub(crate) fn checked(result: io::Result<()>) -> Result<(), Failure> {
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(Failure::Quiet),
        Err(e) => Err(Failure::failed(format_args!("writing to stdout: {e}"))),
    }
}
