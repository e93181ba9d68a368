//! The committed `include/raknet.h` must equal what build.rs generates from `src/ffi/`
//! (rustls-ffi's "ensure header updated" guarantee). `RAKNET_BLESS=1` rewrites it.

use std::path::Path;

#[test]
fn committed_header_is_fresh() {
    let generated_path = concat!(env!("OUT_DIR"), "/raknet.h");
    let committed_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/raknet.h");
    let generated = std::fs::read_to_string(generated_path).unwrap_or_else(|e| {
        panic!(
            "build.rs did not generate {generated_path} ({e}); see the cargo warnings of the build"
        )
    });
    if std::env::var_os("RAKNET_BLESS").is_some() {
        std::fs::write(&committed_path, &generated).expect("write include/raknet.h");
        return;
    }
    let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
    if committed != generated {
        let first_diff = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "include/raknet.h is stale (first difference at line {}).\n\
             Regenerate it with:  RAKNET_BLESS=1 cargo test --test header\n\
             and commit the result.",
            first_diff + 1
        );
    }
}

#[test]
fn header_carries_the_package_version() {
    let generated =
        std::fs::read_to_string(concat!(env!("OUT_DIR"), "/raknet.h")).expect("generated header");
    let expect = [
        format!(
            "#define RAK_VERSION_MAJOR {}",
            env!("CARGO_PKG_VERSION_MAJOR")
        ),
        format!(
            "#define RAK_VERSION_MINOR {}",
            env!("CARGO_PKG_VERSION_MINOR")
        ),
        format!(
            "#define RAK_VERSION_PATCH {}",
            env!("CARGO_PKG_VERSION_PATCH")
        ),
        format!(
            "#define RAK_ABI_VERSION {}",
            raknet::ffi::version::rak_abi_version()
        ),
    ];
    for line in expect {
        assert!(generated.contains(&line), "header lacks `{line}`");
    }
}

#[test]
fn every_function_documents_thread_safety_and_ownership() {
    let header = std::fs::read_to_string(concat!(env!("OUT_DIR"), "/raknet.h")).unwrap();
    // Each function declaration is preceded by its doc comment; check the last
    // paragraph of each names one of the three phrases of the preamble.
    let mut doc = String::new();
    let mut in_doc = false;
    let mut checked = 0;
    for line in header.lines() {
        let t = line.trim();
        if t.starts_with("/*") {
            // A doc (`/**`) or the plain preamble comment: only docs are kept.
            in_doc = true;
            doc.clear();
        }
        if in_doc {
            doc.push_str(t);
            doc.push('\n');
            if t.ends_with("*/") {
                in_doc = false;
            }
            continue;
        }
        if let Some(name) = declared_function(t) {
            checked += 1;
            let ts = doc
                .lines()
                .rev()
                .find(|l| l.contains("Thread safety:"))
                .unwrap_or_else(|| panic!("{name}: no `Thread safety:` line"));
            assert!(
                ["any thread", "one thread at a time", "exclusive"]
                    .iter()
                    .any(|p| ts.contains(p)),
                "{name}: `{ts}` uses none of the three phrases"
            );
            if t.starts_with("rak_result ") {
                assert!(
                    doc.contains("RAK_RESULT_OK"),
                    "{name}: does not document its results"
                );
            }
            doc.clear();
        }
    }
    assert!(checked >= 30, "only {checked} functions found");
}

/// The function name if `line` starts a `rak_*` function declaration.
fn declared_function(line: &str) -> Option<&str> {
    let open = line.find('(')?;
    let name = line[..open].rsplit([' ', '*']).next()?;
    (name.starts_with("rak_") && !line.starts_with('#')).then_some(name)
}
