//! Not a fuzz target: writes the seed corpora and exits before fuzzing starts. Run the
//! built binary directly (scripts/fuzz-smoke.sh does):
//!
//!     fuzz/target/x86_64-unknown-linux-gnu/release/build_corpus
//!
//! `RAKNET_VECTORS` (default `tests/vectors`) and `RAKNET_CORPUS` (default `fuzz/corpus`)
//! override the paths. Built with the targets, so it costs no extra compilation.
#![no_main]

use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;

fn build() {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let path = |var: &str, default: PathBuf| std::env::var_os(var).map_or(default, PathBuf::from);
    let vectors = path("RAKNET_VECTORS", here.join("../tests/vectors"));
    let corpus = path("RAKNET_CORPUS", here.join("corpus"));
    let n = raknet_fuzz::corpus::build(&vectors, &corpus);
    println!("build_corpus: {n} new seeds under {}", corpus.display());
    std::process::exit(0);
}

fuzz_target!(init: build(), |_data: &[u8]| {});
