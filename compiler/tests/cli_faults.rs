//! `dtlc run` refusing what it cannot do well, as a process (issue #13 §4, §6): too many thread
//! ranks, containers larger than the memory left, and a build without MPI started by an MPI
//! launcher.

use std::process::Command;

fn dtlc(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dtlc"));
    c.args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests"))
        .env("NO_COLOR", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn too_many_thread_ranks_are_refused_with_the_limit() {
    let (rc, out, err) = dtlc(&["run", "spec/examples/hello.dtl", "-n", "100000"], &[]);
    assert_eq!(rc, 2, "{err}");
    assert_eq!(out, "");
    assert!(
        err.starts_with("error[R0009]: ") && err.contains("100000 thread ranks"),
        "{err}"
    );
    assert!(err.contains("DTL_MAX_THREAD_RANKS"), "{err}");
    // The limit is adjustable.
    let lim = [("DTL_MAX_THREAD_RANKS", "3")];
    let (rc, _, err) = dtlc(&["run", "spec/examples/hello.dtl", "-n", "4"], &lim);
    assert_eq!(rc, 2, "{err}");
    assert!(err.contains("at most 3"), "{err}");
    let (rc, _, err) = dtlc(&["run", "spec/examples/hello.dtl", "-n", "3"], &lim);
    assert_eq!(rc, 0, "{err}");
}

#[test]
fn a_container_larger_than_the_memory_left_is_r0006_before_allocating() {
    let dir = std::env::temp_dir().join(format!("dtl-cli-faults-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let prog = dir.join("big.dtl");
    // 24 MB per rank on 4 ranks: 96 MB in all.
    std::fs::write(
        &prog,
        "param n: i64 = 12000000;\nfn main() {\n    let u = vector<f64>(n, fill: 1.0);\n    let s = sum(u);\n    if rank() == 0 { print(s); }\n}\n",
    )
    .unwrap();
    let p = prog.to_str().unwrap();
    let (rc, out, err) = dtlc(&["run", p, "-n", "4"], &[("DTL_MEMORY_LIMIT", "80M")]);
    assert_eq!(rc, 2, "{err}");
    assert_eq!(out, "");
    assert!(
        err.starts_with("error[R0006]: out of memory: ")
            && err.contains("on each of the 4 ranks")
            && err.contains("big.dtl:3:13 (rank "),
        "{err}"
    );
    let (rc, out, err) = dtlc(&["run", p, "-n", "4"], &[("DTL_MEMORY_LIMIT", "1G")]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(out, "12000000\n");
    // A local array is checked for its own rank: 96 MB.
    let local = dir.join("local.dtl");
    std::fs::write(
        &local,
        "fn main() {\n    let l = local<f64>(12000000, fill: 1.0);\n    print(len(l));\n}\n",
    )
    .unwrap();
    let l = local.to_str().unwrap();
    let (rc, _, err) = dtlc(&["run", l, "-n", "1"], &[("DTL_MEMORY_LIMIT", "80M")]);
    assert_eq!(rc, 2, "{err}");
    assert!(
        err.starts_with("error[R0006]: out of memory: ") && err.contains("local.dtl:2:13"),
        "{err}"
    );
    let (rc, out, err) = dtlc(&["run", l, "-n", "1"], &[("DTL_MEMORY_LIMIT", "200M")]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(out, "12000000\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_build_without_mpi_refuses_to_run_under_an_mpi_launcher() {
    if cfg!(feature = "mpi") {
        // This build runs the MPI backend there instead (scripts/tests/mpi.sh covers it).
        println!("skipped: dtlc is built with MPI");
        return;
    }
    // What MPICH's Hydra puts into each process's environment.
    let hydra = [
        ("PMI_RANK", "0"),
        ("PMI_SIZE", "2"),
        ("MPI_LOCALNRANKS", "2"),
    ];
    let (rc, out, err) = dtlc(&["run", "spec/examples/hello.dtl", "-n", "2"], &hydra);
    assert_eq!(rc, 2, "{err}");
    assert_eq!(out, "");
    assert!(
        err.contains("built without MPI") && err.contains("mpirun"),
        "{err}"
    );
    // Asked for explicitly, the threads backend still runs.
    let (rc, out, err) = dtlc(
        &[
            "run",
            "spec/examples/hello.dtl",
            "-n",
            "2",
            "--backend",
            "threads",
        ],
        &hydra,
    );
    assert_eq!(rc, 0, "{err}");
    assert!(!out.is_empty());
}
