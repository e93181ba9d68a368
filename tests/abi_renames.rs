//! `scripts/rename-abi-0.x.sed` (the C API renames of 0.2.0) turns 0.1 code into 0.2 code,
//! leaves 0.2 code alone (so it can run over a merge of both), and no 0.1 name is left
//! in the tree.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

mod common;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// `text` through the sed script; `None` (a counted skip) without GNU sed.
fn rename(text: &str) -> Option<String> {
    let child = Command::new("sed")
        .args(["-E", "-f"])
        .arg(Path::new(ROOT).join("scripts/rename-abi-0.x.sed"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            common::skip("the rename script", &format!("cannot run sed: {e}"));
            return None;
        }
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to sed");
    let out = child.wait_with_output().expect("sed runs");
    assert!(out.status.success(), "sed failed: {out:?}");
    Some(String::from_utf8(out.stdout).expect("utf-8"))
}

const OLD: &str = r#"rak_peer_stats ps;
if (rak_peer_get_stats(peer, &ps, sizeof ps) != RAK_RESULT_OK) return;
ex_check(prog, "rak_peer_get_stats", rak_peer_get_stats(peer, &ps, sizeof(rak_peer_stats)));
let mut s = rak_peer_stats::default(); size_of::<rak_peer_stats>();
/// from `rak_peer_get_stats()`, see `rak_peer_stats.dropped_forged` and `rak_peer_get_stats`
rak_keypair_generate(pub, priv); rak_keypair_public_key(priv, pub); `rak_keypair_*`
rak_keypair_save(path, priv); rak_keypair_load(path, pub, priv); rak_config_set_key_pair(c, priv);
rak_peer_connect_ex(peer, host, port, &options, &conn); // connect_ex with options
rak_peer_connections(peer, out, cap, &n);
rak_config_set_timeout_ms(c, 5000); rak_config_set_occasional_ping_ms(c, 100);
char buf[RAK_ADDRESS_STRLEN];
"#;

const NEW: &str = r#"rak_stats ps;
if (rak_peer_stats(peer, &ps, sizeof ps) != RAK_RESULT_OK) return;
ex_check(prog, "rak_peer_stats", rak_peer_stats(peer, &ps, sizeof(rak_stats)));
let mut s = rak_stats::default(); size_of::<rak_stats>();
/// from `rak_peer_stats()`, see `rak_stats.dropped_forged` and `rak_peer_stats()`
rak_key_pair_generate(pub, priv); rak_key_pair_public_key(priv, pub); `rak_key_pair_*`
rak_key_pair_save(path, priv); rak_key_pair_load(path, pub, priv); rak_config_set_key_pair(c, priv);
rak_peer_connect_with_options(peer, host, port, &options, &conn); // connect_with_options with options
rak_peer_conns(peer, out, cap, &n);
rak_config_set_conn_timeout(c, 5000); rak_config_set_occasional_ping(c, 100);
char buf[RAK_ADDRESS_STR_BYTES];
"#;

#[test]
fn old_names_become_new_ones() {
    let Some(renamed) = rename(OLD) else { return };
    assert_eq!(renamed, NEW);
}

#[test]
fn new_names_stay_as_they_are() {
    let Some(again) = rename(NEW) else { return };
    assert_eq!(again, NEW);
}

#[test]
fn no_old_name_is_left_in_the_tree() {
    let script = Path::new(ROOT).join("scripts/rename-abi-0.x.sh");
    let out = match Command::new("bash").arg(&script).arg("--check").output() {
        Ok(out) => out,
        Err(e) => return common::skip("old C API names", &format!("cannot run bash: {e}")),
    };
    if out.status.code() == Some(2) {
        // Not a git checkout (a source tarball): no list of the project's files.
        return common::skip("old C API names", "no git checkout to list the files of");
    }
    assert!(
        out.status.success(),
        "0.1 names left (apply scripts/rename-abi-0.x.sh):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
