//! The committed `include/raknet.h` must equal what build.rs generates from `src/ffi/`
//! (rustls-ffi's "ensure header updated" guarantee). `RAKNET_BLESS=1` rewrites it.

use std::path::Path;
use std::process::Command;

mod common;

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
    let mut results = 0;
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
            // `RAKNET_API` may stand on the line before, or ahead of the return type.
            let returns_result = t
                .trim_start_matches("RAKNET_API ")
                .starts_with("rak_result ");
            if returns_result {
                results += 1;
                assert!(
                    doc.contains("RAK_RESULT_OK"),
                    "{name}: does not document its results"
                );
            }
            doc.clear();
        }
    }
    assert!(checked >= 30, "only {checked} functions found");
    assert!(results >= 30, "only {results} functions return rak_result");
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
    let code = common::without_block_comments(&header);
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

/// Every function is declared `RAKNET_API <return type> rak_...(...)`, and the macro is
/// defined (unless the includer defined it) before the first declaration.
#[test]
fn every_function_is_declared_raknet_api() {
    let code = header_code();
    let decls = function_declarations(&code);
    assert!(decls.len() >= 30, "only {} functions found", decls.len());
    let bare: Vec<&str> = decls
        .iter()
        .filter(|(_, d)| !d.starts_with("RAKNET_API "))
        .map(|(n, _)| n.as_str())
        .collect();
    assert!(bare.is_empty(), "declared without RAKNET_API: {bare:?}");
    let defined = code
        .find("#ifndef RAKNET_API")
        .expect("RAKNET_API is defined");
    let first = code.find("RAKNET_API rak_").expect("a declaration");
    assert!(defined < first, "RAKNET_API is used before it is defined");
}

/// The header, preprocessed or compiled by the system C and C++ compilers with `args`;
/// `None` (a counted skip) when there is no such compiler.
fn compile(compiler: &str, args: &[&str]) -> Option<std::process::Output> {
    let include = Path::new(env!("OUT_DIR"));
    let ext = if compiler == "c++" { "cpp" } else { "c" };
    static FILES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = FILES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("raknet-header-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let src = dir.join(format!("use{n}.{ext}"));
    // Uses every enum typedef, the way an application would.
    std::fs::write(
        &src,
        "#include <raknet.h>\n\
         int use(const rak_event *ev) {\n\
         \x20   rak_reliability r = RAK_RELIABILITY_RELIABLE;\n\
         \x20   rak_priority p = RAK_PRIORITY_LOW;\n\
         \x20   rak_sim_direction d = RAK_SIM_DIRECTION_BOTH;\n\
         \x20   rak_log_level l = RAK_LOG_LEVEL_WARN;\n\
         \x20   rak_result ok = RAK_RESULT_OK;\n\
         \x20   const char *s = rak_result_str(ok);\n\
         \x20   return (ev->kind == RAK_EVENT_KIND_MESSAGE) + (ev->reason == RAK_REASON_NONE) +\n\
         \x20          (ev->reliability == r) + (p == RAK_PRIORITY_LOW) +\n\
         \x20          (d == RAK_SIM_DIRECTION_BOTH) + (l == RAK_LOG_LEVEL_WARN) + (s != 0);\n\
         }\n",
    )
    .expect("write the test source");
    match Command::new(compiler)
        .arg("-I")
        .arg(include)
        .args(args)
        .arg(&src)
        .output()
    {
        Ok(out) => {
            let _ = std::fs::remove_file(&src);
            Some(out)
        }
        Err(e) => {
            common::skip(
                &format!("header with {compiler} {}", args.join(" ")),
                &format!("cannot run {compiler}: {e}"),
            );
            None
        }
    }
}

/// The header compiles without a warning as C99, C11, C++11 and C++17, also with
/// `-fvisibility=hidden` and with RAKNET_STATIC.
#[test]
fn header_compiles_warning_free() {
    let strict = ["-fsyntax-only", "-Wall", "-Wextra", "-Wpedantic", "-Werror"];
    for (compiler, std) in [
        ("cc", "-std=c99"),
        ("cc", "-std=c11"),
        ("c++", "-std=c++11"),
        ("c++", "-std=c++17"),
    ] {
        for extra in [&[][..], &["-fvisibility=hidden"], &["-DRAKNET_STATIC"]] {
            let mut args = vec![std];
            args.extend(strict);
            args.extend(extra);
            let Some(out) = compile(compiler, &args) else {
                return;
            };
            assert!(
                out.status.success() && out.stderr.is_empty(),
                "{compiler} {}:\n{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// What RAKNET_API becomes: the one committed header serves every platform.
#[test]
fn raknet_api_expands_per_platform() {
    let cases: [(&[&str], &str); 4] = [
        // This compiler (GCC or Clang): default visibility.
        (&[], "__attribute__((visibility(\"default\")))"),
        // Windows, linking the DLL.
        (&["-D_WIN32"], "__declspec(dllimport)"),
        // Windows, linking the static library.
        (&["-D_WIN32", "-DRAKNET_STATIC"], ""),
        // The includer's own definition wins.
        (&["-DRAKNET_API=MINE"], "MINE"),
    ];
    for (defines, want) in cases {
        let mut args = vec!["-E", "-P"];
        args.extend(defines);
        let Some(out) = compile("cc", &args) else {
            return;
        };
        assert!(out.status.success(), "cc -E {defines:?} failed");
        let text = String::from_utf8_lossy(&out.stdout);
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        // What stands between the previous declaration and each function's return type.
        for name in ["rak_peer_send", "rak_abi_version", "rak_message_release"] {
            let at = flat
                .find(&format!(" {name}("))
                .unwrap_or_else(|| panic!("cc -E {defines:?}: no {name}"));
            let start = flat[..at].rfind([';', '}']).expect("a declaration before") + 1;
            let before: Vec<&str> = flat[start..at].split_whitespace().collect();
            let decoration = before[..before.len() - 1].join(" ");
            assert_eq!(decoration, want, "cc -E {defines:?}: {name}");
        }
    }
}

/// The header is the same bytes on every platform: generated with LF line ends, and
/// checked out with LF ones even where git converts text files to CRLF (Windows), so
/// the freshness check and the installed copy agree there too.
#[test]
fn header_keeps_lf_line_ends_everywhere() {
    let generated =
        std::fs::read_to_string(concat!(env!("OUT_DIR"), "/raknet.h")).expect("generated header");
    assert!(
        !generated.contains('\r'),
        "the generated header has CR line ends"
    );
    let root = env!("CARGO_MANIFEST_DIR");
    let attr = match Command::new("git")
        .args(["-C", root, "check-attr", "eol", "--", "include/raknet.h"])
        .output()
    {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        // A source tarball without git: nothing converts line ends there.
        _ => return common::skip("the header's eol attribute", "no git repository here"),
    };
    assert!(
        attr.trim_end().ends_with("eol: lf"),
        "include/raknet.h must be checked out with LF line ends (.gitattributes): {attr}"
    );
}
