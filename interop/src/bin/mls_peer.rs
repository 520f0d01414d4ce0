//! `mls_peer`: an OpenMLS 0.8.1 client in one MLS group, driven by line-delimited JSON on stdin with one
//! JSON reply line per request on stdout (`demls_interop::mls_peer::protocol` lists the commands). Exits
//! at end of input.

use std::io::{BufRead, Write};

use demls_interop::mls_peer::Session;

fn main() -> std::io::Result<()> {
    let mut session = Session::default();
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        writeln!(stdout, "{}", session.handle_line(&line))?;
        stdout.flush()?;
    }
    Ok(())
}
