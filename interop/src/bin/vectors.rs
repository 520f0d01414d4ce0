//! Writes demls's conformance vectors, computed by the reference de-MLS crates, to a directory
//! (default `../test/vectors/de-mls`, relative to this crate). `scripts/vectors.ts` runs it.
//!
//! Usage: `vectors [OUT_DIR]`

use std::path::PathBuf;

use demls_interop::vectors::{all, json::render};

fn main() -> std::io::Result<()> {
    let out = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../test/vectors/de-mls")
        });
    std::fs::create_dir_all(&out)?;
    for (name, doc) in all() {
        std::fs::write(out.join(name), render(&doc))?;
        println!("{}", out.join(name).display());
    }
    Ok(())
}
