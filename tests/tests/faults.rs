//! Run-time faults with files on disk (issue #13 §6, §7): `save` is atomic, `load` refuses a
//! file whose shape or contents do not fit instead of guessing, and corrupt `.npy` files are
//! R0012, never a panic, a hang or a huge allocation.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use dtl_compiler::codegen::CodegenOptions;
use dtl_compiler::driver;
use dtl_compiler::jit::{Program, RunError, RunOptions};

/// A fresh, empty directory for one test, removed when the test ends (also when it fails).
struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = PathBuf;
    fn deref(&self) -> &PathBuf {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let d = std::env::temp_dir().join(format!("dtl-faults-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    Scratch(d)
}

fn compile(src: &str) -> Program {
    let (sources, checked) = driver::check_source("faults.dtl", src);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let hir = checked.hir.expect("hir");
    driver::compile(&hir, &sources, CodegenOptions::default(), false).expect("compile")
}

fn run(src: &str, n: usize) -> (String, Result<(), RunError>) {
    let p = compile(src);
    let out = Arc::new(Mutex::new(String::new()));
    let o = out.clone();
    let r = p.run(&RunOptions {
        nranks: n,
        overrides: vec![],
        sink: Some(Arc::new(move |s: &str| o.lock().unwrap().push_str(s))),
    });
    let text = out.lock().unwrap().clone();
    (text, r)
}

/// The names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn save_after_another_rank_failed_leaves_the_old_file_untouched() {
    let dir = scratch("save-peer-failed");
    let path = dir.join("x.npy");
    let old = b"the user's data, not a .npy file at all".to_vec();
    for n in [2, 3] {
        std::fs::write(&path, &old).unwrap();
        let src = format!(
            r#"fn main() {{
    let u = vector<f64>(100, fill: 7.0);
    if rank() == 1 {{ assert(false, "rank 1 gives up"); }}
    save(u, "{}");
}}"#,
            path.display()
        );
        let (_, r) = run(&src, n);
        let e = r.expect_err("rank 1 fails");
        assert_eq!(e.code.to_string(), "R0005", "{}", e.message);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            old,
            "-n {n}: the file changed"
        );
        assert_eq!(
            listing(&dir),
            vec!["x.npy"],
            "-n {n}: a temporary file is left"
        );
    }
}

#[test]
fn save_replaces_the_file_only_when_complete() {
    let dir = scratch("save-replaces");
    let path = dir.join("y.npy");
    std::fs::write(&path, b"old").unwrap();
    let src = format!(
        r#"fn main() {{
    let u = vector<f64>(1000, fill: 2.5) @cyclic;
    save(u, "{0}");
    let v = load<f64>("{0}");
    let s = sum(v);
    if rank() == 0 {{ print(s); }}
}}"#,
        path.display()
    );
    for n in [1, 3] {
        let (out, r) = run(&src, n);
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(out, "2500\n");
        assert_eq!(listing(&dir), vec!["y.npy"]);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..6], b"\x93NUMPY");
        assert_eq!(bytes.len(), 128 + 8000);
    }
}

#[test]
fn save_into_a_missing_directory_is_r0012_and_creates_nothing() {
    let dir = scratch("save-missing-dir");
    let path = dir.join("no/such/dir/z.npy");
    let src = format!(
        r#"fn main() {{ let u = vector<f64>(10); save(u, "{}"); }}"#,
        path.display()
    );
    let (_, r) = run(&src, 2);
    let e = r.expect_err("no directory");
    assert_eq!(e.code.to_string(), "R0012", "{}", e.message);
    assert!(listing(&dir).is_empty());
}

#[test]
fn a_file_error_on_one_rank_is_reported_with_its_cause() {
    // Only rank 0 opens the file to create it: the other ranks learn that it failed. The
    // reported error must be rank 0's own (the cause), not another rank's "it failed".
    let dir = scratch("save-cause");
    let src = format!(
        r#"fn main() {{ let u = vector<f64>(10); save(u, "{}"); }}"#,
        dir.join("not-here/x.npy").display()
    );
    for n in [2, 3, 4] {
        let e = run(&src, n).1.expect_err("no such directory");
        assert!(
            e.message.starts_with("error[R0012]: ")
                && e.message.contains("No such file")
                && e.message.ends_with("(rank 0)"),
            "-n {n}: {}",
            e.message
        );
    }
}

#[test]
fn load_of_a_2d_file_as_a_vector_is_r0012() {
    let dir = scratch("load-2d");
    let path = dir.join("t.npy");
    let save = format!(
        r#"fn main() {{ let t = tensor<f64>(10, 10, fill: 1.0); save(t, "{}"); }}"#,
        path.display()
    );
    assert!(run(&save, 2).1.is_ok());
    let load = format!(
        r#"fn main() {{
    let v = load<f64>("{}");
    forall i in v {{ v[i] = 2.0; }}
    let s = sum(v);
    if rank() == 0 {{ print(len(v), s); }}
}}"#,
        path.display()
    );
    for n in [1, 2] {
        let (out, r) = run(&load, n);
        let e = r.expect_err("2-d file");
        assert_eq!(e.code.to_string(), "R0012", "{}", e.message);
        assert!(
            e.message.contains("2-d array of shape (10, 10)"),
            "{}",
            e.message
        );
        assert_eq!(out, "");
    }
}

/// A `.npy` v1.0 file with this header dictionary and `data` after it.
fn npy(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut d = dict.to_string();
    let unpadded = 10 + d.len() + 1;
    d.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    d.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(d.len() as u16).to_le_bytes());
    out.extend_from_slice(d.as_bytes());
    out.extend_from_slice(data);
    out
}

#[test]
fn corrupt_truncated_and_wrong_npy_files_are_r0012() {
    let dir = scratch("load-corrupt");
    let f8 =
        |shape: &str| format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}");
    let ten = vec![0u8; 80];
    let mut huge_header = b"\x93NUMPY\x01\x00".to_vec();
    huge_header.extend_from_slice(&u16::MAX.to_le_bytes());
    huge_header.extend_from_slice(b"{'descr': '<f8'");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "not a .npy file"),
        (
            "magic",
            b"PK\x03\x04 this is a zip file".to_vec(),
            "bad magic",
        ),
        (
            "version",
            b"\x93NUMPY\x07\x00\x10\x00".to_vec(),
            "version 7",
        ),
        ("header-cut", huge_header, ""),
        (
            "no-shape",
            npy("{'descr': '<f8', 'fortran_order': False, }", &ten),
            "shape",
        ),
        ("bad-dim", npy(&f8("(ten,)"), &ten), "bad dimension"),
        ("negative-dim", npy(&f8("(-10,)"), &ten), "bad dimension"),
        (
            "dtype",
            npy(
                "{'descr': '<i4', 'fortran_order': False, 'shape': (20,), }",
                &ten,
            ),
            "dtype",
        ),
        (
            "big-endian",
            npy(
                "{'descr': '>f8', 'fortran_order': False, 'shape': (10,), }",
                &ten,
            ),
            "dtype",
        ),
        (
            "complex",
            npy(
                "{'descr': '<c16', 'fortran_order': False, 'shape': (5,), }",
                &ten,
            ),
            "dtype",
        ),
        ("zero-d", npy(&f8("()"), &ten[..8]), "0-d"),
        ("truncated", npy(&f8("(10,)"), &ten[..40]), "file too short"),
        (
            "huge-shape",
            npy(&f8("(1000000000000,)"), &ten),
            "file too short",
        ),
        (
            "overflow-shape",
            npy(&f8("(4294967296, 4294967296, 4294967296)"), &ten),
            "",
        ),
        (
            "fortran-2d",
            npy(
                "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 5), }",
                &ten,
            ),
            "Fortran",
        ),
        ("matrix", npy(&f8("(2, 5)"), &ten), "2-d array"),
    ];
    for (name, bytes, want) in cases {
        let path = dir.join(format!("{name}.npy"));
        std::fs::write(&path, &bytes).unwrap();
        let src = format!(
            r#"fn main() {{ let v = load<f64>("{}"); let s = sum(v); if rank() == 0 {{ print(s); }} }}"#,
            path.display()
        );
        let (out, r) = run(&src, 2);
        let e = r.expect_err(name);
        assert_eq!(e.code.to_string(), "R0012", "{name}: {}", e.message);
        assert!(e.message.contains(want), "{name}: {}", e.message);
        assert!(e.message.contains("(rank "), "{name}: {}", e.message);
        assert_eq!(out, "", "{name}");
    }
    // A directory and a missing file.
    for p in [dir.clone(), dir.join("missing.npy")] {
        let src = format!(r#"fn main() {{ let v = load<f64>("{}"); }}"#, p.display());
        let e = run(&src, 2).1.expect_err("not a file");
        assert_eq!(e.code.to_string(), "R0012", "{}", e.message);
    }
}

#[test]
fn bool_files_with_other_bytes_are_r0012() {
    let dir = scratch("load-bool");
    let path = dir.join("b.npy");
    let bytes = npy(
        "{'descr': '|b1', 'fortran_order': False, 'shape': (4,), }",
        &[0, 1, 2, 1],
    );
    std::fs::write(&path, bytes).unwrap();
    let src = format!(
        r#"fn main() {{ let v = load<bool>("{}"); let c = count(v); if rank() == 0 {{ print(c); }} }}"#,
        path.display()
    );
    let e = run(&src, 2).1.expect_err("byte 2 in a bool file");
    assert_eq!(e.code.to_string(), "R0012", "{}", e.message);
}
