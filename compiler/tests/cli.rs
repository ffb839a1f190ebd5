//! The `dtlc` binary: exit codes and output shape.

use std::process::Command;

fn dtlc(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dtlc"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_clean_and_failing() {
    let (rc, _, err) = dtlc(&["check", "spec/examples/heat1d.dtl", "spec/examples/pi.dtl"]);
    assert_eq!(rc, 0, "{err}");
    let (rc, _, err) = dtlc(&["check", "spec/errors/collective_in_rank_branch.dtl"]);
    assert_eq!(rc, 1);
    assert!(err.contains("E0301"), "{err}");
    assert!(
        err.contains("spec/errors/collective_in_rank_branch.dtl:6:17"),
        "{err}"
    );
}

#[test]
fn check_json() {
    let (rc, out, _) = dtlc(&["check", "--format", "json", "spec/errors/unknown_name.dtl"]);
    assert_eq!(rc, 1);
    assert!(out.contains("\"code\": \"E0101\""), "{out}");
    assert!(out.contains("\"line\": 5"), "{out}");
}

#[test]
fn missing_file_is_a_usage_error() {
    let (rc, _, err) = dtlc(&["check", "no/such/file.dtl"]);
    assert_eq!(rc, 2);
    assert!(err.contains("cannot read"), "{err}");
}

#[test]
fn run_prints_the_program_output_and_maps_failures_to_exit_codes() {
    let (rc, out, err) = dtlc(&["run", "spec/examples/hello.dtl", "-n", "4"]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(
        out,
        std::fs::read_to_string("../tests/spec/examples/hello.expected").unwrap()
    );
    // -D overrides, --time on stderr.
    let (rc, out, err) = dtlc(&[
        "run",
        "spec/examples/pi.dtl",
        "-n",
        "2",
        "-D",
        "n=1000",
        "--time",
    ]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(out, "pi 3.1415927369\n");
    assert!(err.contains("compile") && err.contains(" ms"), "{err}");
    // Bad -D: usage error before running.
    let (rc, _, err) = dtlc(&["run", "spec/examples/pi.dtl", "-D", "nope=1"]);
    assert_eq!(rc, 2);
    assert!(err.contains("no such `param`"), "{err}");
    // Compile error: 1. Run-time error: 2 with code, location and rank.
    let (rc, _, err) = dtlc(&["run", "spec/errors/unknown_name.dtl"]);
    assert_eq!(rc, 1, "{err}");
    let (rc, _, err) = dtlc(&["run", "cases/run-errors/div_zero.dtl", "-n", "2"]);
    assert_eq!(rc, 2, "{err}");
    assert!(
        err.contains("error[R0002]") && err.contains("div_zero.dtl:7:") && err.contains("(rank "),
        "{err}"
    );
    let (rc, _, err) = dtlc(&["run", "spec/examples/hello.dtl", "-n", "0"]);
    assert_eq!(rc, 2, "{err}");
}

#[test]
fn explain_and_emit() {
    let (rc, out, _) = dtlc(&["explain", "E0301"]);
    assert_eq!(rc, 0);
    assert!(out.contains("## How to fix"), "{out}");
    let (rc, _, _) = dtlc(&["explain", "E9999"]);
    assert_eq!(rc, 2);
    for emit in [
        "--emit=tokens",
        "--emit=ast",
        "--emit=hir",
        "--emit=ir",
        "--emit=clif",
        "--emit=asm",
    ] {
        let (rc, out, err) = dtlc(&[emit, "spec/examples/hello.dtl"]);
        assert_eq!(rc, 0, "{emit}: {err}");
        assert!(!out.is_empty(), "{emit}");
    }
}

#[test]
fn invalid_utf8_is_reported() {
    let dir = std::env::temp_dir().join(format!("dtlc-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("bad.dtl");
    std::fs::write(&f, b"fn main() { print(1); } // \xff\xfe\n").unwrap();
    let (rc, _, err) = dtlc(&["check", f.to_str().unwrap()]);
    assert_eq!(rc, 1);
    assert!(err.contains("E0002"), "{err}");
}

/// A closed stdout (`dtlc --emit=tokens f.dtl | head -1`) ends the output quietly: no "internal
/// compiler error" (`print!` used to panic on the broken pipe), and the exit status is the
/// usual one.
#[test]
fn closed_stdout_is_not_an_internal_error() {
    use std::io::Read;
    use std::process::Stdio;
    // Far more output than a pipe buffers.
    let path = std::env::temp_dir().join(format!("dtlc-pipe-{}.dtl", std::process::id()));
    let body = "    let x = 1 + 2 * 3;\n".repeat(20_000);
    std::fs::write(&path, format!("fn main() {{\n{body}}}\n")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dtlc"))
        .arg("--emit=tokens")
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    let mut stdout = child.stdout.take().unwrap();
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let _ = std::fs::remove_file(&path);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("internal compiler error"), "{err}");
}
