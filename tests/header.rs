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

/// The generated header without its comments.
fn header_code() -> String {
    let header =
        std::fs::read_to_string(concat!(env!("OUT_DIR"), "/raknet.h")).expect("generated header");
    let mut code = String::new();
    let mut rest = header.as_str();
    while let Some(start) = rest.find("/*") {
        code.push_str(&rest[..start]);
        rest = rest[start..]
            .find("*/")
            .map_or("", |end| &rest[start + end + 2..]);
    }
    code.push_str(rest);
    code.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The declarations of the `rak_*` functions, one string each (from the return type to
/// the closing `;`, whitespace collapsed), with their names.
fn function_declarations(code: &str) -> Vec<(String, String)> {
    let mut decls = Vec::new();
    let mut current = String::new();
    for line in code.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with("extern \"C\"") {
            continue;
        }
        if !current.is_empty() || declared_function(line).is_some() || line == "RAKNET_API" {
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(line);
            if line.ends_with(';') {
                if let Some(name) = declared_function(&current) {
                    let name = name.to_string();
                    decls.push((name, std::mem::take(&mut current)));
                }
                current.clear();
            }
        }
    }
    decls
}

/// The identifiers of `code`, in order.
fn identifiers(code: &str) -> impl Iterator<Item = &str> {
    code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
}

/// The naming rule of the Conventions block: one spelling per concept.
#[test]
fn names_follow_the_conventions() {
    let code = header_code();
    let decls = function_declarations(&code);
    assert!(decls.len() >= 30, "only {} functions found", decls.len());
    let mut wrong = Vec::new();
    for (name, decl) in &decls {
        if name.contains("_get_") {
            wrong.push(format!(
                "{name}: a getter is rak_<object>_<noun>, without get_"
            ));
        }
        if name.ends_with("_ex") {
            wrong.push(format!(
                "{name}: name the options it takes (_with_options), not _ex"
            ));
        }
        if name.contains("connection") {
            wrong.push(format!("{name}: a connection is `conn` in names"));
        }
        if ["_ms", "_us", "_bytes"].iter().any(|u| name.ends_with(u)) {
            wrong.push(format!(
                "{name}: units go in parameter names, not function names"
            ));
        }
        // A getter that fills a struct is named after it: rak_peer_conn_stats() fills
        // rak_conn_stats, rak_peer_stats() fills rak_stats.
        if let Some(out) = decl.split("struct ").skip(1).find_map(|s| {
            let ty = s.split_whitespace().next()?;
            let is_out = s.trim_start_matches(ty).trim_start().starts_with("*out_");
            (is_out && (ty.ends_with("_stats") || ty.ends_with("_info"))).then_some(ty)
        }) {
            let noun = out.trim_start_matches("rak_");
            if !name.ends_with(&format!("_{noun}")) {
                wrong.push(format!("{name}: fills {out}, so its name ends in _{noun}"));
            }
        }
    }
    for id in identifiers(&code) {
        let lower = id.to_ascii_lowercase();
        if lower.contains("keypair") {
            wrong.push(format!("{id}: \"key pair\" is spelled key_pair"));
        }
        if id.starts_with("RAK_") && id.ends_with("STRLEN") {
            wrong.push(format!("{id}: a text buffer's size is RAK_<WHAT>_BYTES"));
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "naming rule broken:\n{}",
        wrong.join("\n")
    );
}

/// Parameters and fields that hold one of the library's enum-like values are declared
/// with the enum's typedef, never as a bare integer.
#[test]
fn enum_like_values_carry_their_typedef() {
    let code = header_code();
    let typed = [
        ("reliability", "rak_reliability"),
        ("priority", "rak_priority"),
        ("direction", "rak_sim_direction"),
        ("level", "rak_log_level"),
        ("min_level", "rak_log_level"),
        ("result", "rak_result"),
        ("reason", "rak_reason"),
        ("kind", "rak_event_kind"),
        ("state", "rak_conn_state"),
    ];
    let words: Vec<&str> = identifiers(&code).collect();
    let mut wrong = Vec::new();
    let mut seen = 0;
    for pair in words.windows(2) {
        let (ty, name) = (pair[0], pair[1]);
        if let Some((_, want)) = typed.iter().find(|(n, _)| *n == name) {
            if ty == *want {
                seen += 1;
            } else if ty.ends_with("int32_t") || ty.ends_with("int8_t") || ty == "int" {
                wrong.push(format!("`{ty} {name}` should be `{want} {name}`"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "bare integers for enum values:\n{}",
        wrong.join("\n")
    );
    assert!(seen >= typed.len(), "only {seen} typed uses found");
}
