//! Generates the C header and sets the shared library's soname; nothing else.
//!
//! * The ABI version is `abi` under `[package.metadata.raknet]` in Cargo.toml, raised on
//!   every incompatible change of the header (while the package is 0.x its major number
//!   cannot tell 0.1 from 0.2). It reaches the Rust code as the
//!   `RAKNET_ABI_VERSION` env var (for `rak_abi_version()`), the header as
//!   `RAK_ABI_VERSION`, and the linker as the soname `libraknet.so.<ABI>`.
//! * cbindgen (pinned in Cargo.toml) reads `src/ffi/` with `cbindgen.toml` and writes
//!   `$OUT_DIR/raknet.h`, with the version block ahead of cbindgen.toml's
//!   `after_includes` (the RAKNET_API macro). `tests/header.rs` compares the committed
//!   `include/raknet.h` with it. The committed copy is only written when `RAKNET_BLESS` is set or it does
//!   not exist yet (outside CI), so a stale header fails that test instead of silently
//!   changing.
//!   `RAKNET_HEADER_DIR` (set by the CMake build) receives a copy as well.
//! * A header generation problem is a warning, not a build failure: the library still
//!   builds and the header test reports the drift.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let major = env::var("CARGO_PKG_VERSION_MAJOR").expect("CARGO_PKG_VERSION_MAJOR");
    let minor = env::var("CARGO_PKG_VERSION_MINOR").expect("CARGO_PKG_VERSION_MINOR");
    let patch = env::var("CARGO_PKG_VERSION_PATCH").expect("CARGO_PKG_VERSION_PATCH");
    let abi = abi_version(&manifest_dir.join("Cargo.toml"));

    println!("cargo:rustc-env=RAKNET_ABI_VERSION={abi}");
    for path in ["build.rs", "cbindgen.toml", "Cargo.toml", "src/ffi"] {
        println!("cargo:rerun-if-changed={path}");
    }
    println!("cargo:rerun-if-env-changed=RAKNET_BLESS");
    println!("cargo:rerun-if-env-changed=RAKNET_HEADER_DIR");
    println!("cargo:rerun-if-env-changed=CI");

    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let family = env::var("CARGO_CFG_TARGET_FAMILY").unwrap_or_default();
    let elf = family.split(',').any(|f| f == "unix") && !matches!(os.as_str(), "macos" | "ios");
    if elf {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libraknet.so.{abi}");
    }

    let versions = format!(
        "\n#define RAK_VERSION_MAJOR {major}\n#define RAK_VERSION_MINOR {minor}\n\
         #define RAK_VERSION_PATCH {patch}\n#define RAK_VERSION_STRING \"{major}.{minor}.{patch}\"\n\
         /** The ABI this header describes; compare with rak_abi_version(). */\n\
         #define RAK_ABI_VERSION {abi}\n"
    );

    let header = match generate(&manifest_dir, &versions) {
        Ok(h) => h,
        Err(e) => {
            println!("cargo:warning=raknet.h was not regenerated ({e}); `cargo test --test header` will report it");
            return;
        }
    };

    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    write_if_changed(&out_dir.join("raknet.h"), &header);
    if let Some(dir) = env::var_os("RAKNET_HEADER_DIR") {
        write_if_changed(&Path::new(&dir).join("raknet.h"), &header);
    }
    // Bootstrapping a checkout without a header is fine; in CI a missing header is drift.
    let committed = manifest_dir.join("include").join("raknet.h");
    let bootstrap = !committed.exists() && env::var_os("CI").is_none();
    if env::var_os("RAKNET_BLESS").is_some() || bootstrap {
        write_if_changed(&committed, &header);
    }
}

fn generate(manifest_dir: &Path, versions: &str) -> Result<String, String> {
    let mut config = cbindgen::Config::from_file(manifest_dir.join("cbindgen.toml"))?;
    // The version block first, then cbindgen.toml's own after_includes (RAKNET_API).
    let own = config.after_includes.take().unwrap_or_default();
    config.after_includes = Some(format!("{versions}{own}"));
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(manifest_dir.join("src").join("ffi").join("mod.rs"))
        .generate()
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).map_err(|e| e.to_string())
}

fn write_if_changed(path: &Path, text: &str) {
    if fs::read_to_string(path).is_ok_and(|old| old == text) {
        return;
    }
    let written = path
        .parent()
        .map_or(Ok(()), fs::create_dir_all)
        .and_then(|()| fs::write(path, text));
    if let Err(e) = written {
        println!("cargo:warning=cannot write {}: {e}", path.display());
    }
}

/// `abi = N` of Cargo.toml's `[package.metadata.raknet]` table (CMakeLists.txt reads the
/// same line).
fn abi_version(manifest: &Path) -> u32 {
    let text = fs::read_to_string(manifest).expect("read Cargo.toml");
    let mut in_table = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_table = line == "[package.metadata.raknet]";
        } else if in_table {
            if let Some(v) = line.strip_prefix("abi").map(str::trim_start) {
                if let Some(v) = v.strip_prefix('=') {
                    return v
                        .trim()
                        .parse()
                        .expect("abi in [package.metadata.raknet] is a number");
                }
            }
        }
    }
    panic!("Cargo.toml has no abi = N under [package.metadata.raknet]");
}
