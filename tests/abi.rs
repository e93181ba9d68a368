//! The `rak_*` symbols the built `libraknet.so` exports are exactly the functions the
//! committed header declares, and the shared library carries the versioned soname.
//!
//! ELF only (it reads `libraknet.so` with binutils' `nm` and `readelf`): not built for
//! Windows, where `scripts/windows-rust-tests.sh` lists it as skipped; `raknet.dll`'s
//! exports are the business of the Windows C build.
#![cfg(not(windows))]

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

/// The `libraknet.so` cargo built for this test run: in `target/<profile>/deps/`, next
/// to this test's executable (`cargo build` also copies it up to `target/<profile>/`).
fn shared_library() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe.parent().expect("target/<profile>/deps/<test>");
    let candidates = [
        deps.join("libraknet.so"),
        deps.parent()
            .map_or_else(PathBuf::new, |p| p.join("libraknet.so")),
    ];
    candidates
        .iter()
        .find(|p| p.exists())
        .cloned()
        .unwrap_or_else(|| panic!("libraknet.so not found in {candidates:?}"))
}

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?} ({e}); install binutils"));
    assert!(out.status.success(), "{cmd:?} failed: {out:?}");
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn exported() -> BTreeSet<String> {
    let text = run(Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(shared_library()));
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_addr, kind, name) = (f.next()?, f.next()?, f.next()?);
            (kind == "T" || kind == "t").then(|| name.to_string())
        })
        .collect()
}

/// Function names declared in the header, comments removed.
fn declared() -> BTreeSet<String> {
    let header =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("include/raknet.h"))
            .expect("include/raknet.h");
    let code = common::without_block_comments(&header);
    let mut names = BTreeSet::new();
    for line in code.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let mut at = line;
        while let Some(open) = at.find('(') {
            let before = at[..open].trim_end();
            let name_start = before
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(0, |i| i + 1);
            let name = &before[name_start..];
            if name.starts_with("rak_") {
                names.insert(name.to_string());
            }
            at = &at[open + 1..];
        }
    }
    names
}

#[test]
fn exported_symbols_equal_header_functions() {
    let exported = exported();
    let declared = declared();
    let rak: BTreeSet<String> = exported
        .iter()
        .filter(|s| s.starts_with("rak_"))
        .cloned()
        .collect();
    assert!(declared.len() >= 30, "header parse found only {declared:?}");
    let missing: Vec<_> = declared.difference(&rak).collect();
    let undeclared: Vec<_> = rak.difference(&declared).collect();
    assert!(
        missing.is_empty() && undeclared.is_empty(),
        "declared but not exported: {missing:?}; exported but not declared: {undeclared:?}"
    );
    let foreign: Vec<_> = exported.iter().filter(|s| !s.starts_with("rak_")).collect();
    assert!(
        foreign.is_empty(),
        "the library exports functions outside the rak_ namespace: {foreign:?}"
    );
}

#[test]
fn soname_carries_the_abi_version() {
    let dynamic = run(Command::new("readelf").arg("-d").arg(shared_library()));
    let want = format!("[libraknet.so.{}]", raknet::ffi::version::rak_abi_version());
    assert!(
        dynamic
            .lines()
            .any(|l| l.contains("(SONAME)") && l.contains(&want)),
        "soname is not {want}:\n{dynamic}"
    );
}
