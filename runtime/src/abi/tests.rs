use super::*;
use crate::launch;

fn prog() -> Arc<ProgramInfo> {
    Arc::new(ProgramInfo::new(vec![Site::new("t.dtl", 1, 1)], 1))
}

#[test]
fn table_names_are_unique_and_resolvable() {
    let t = table();
    let mut names: Vec<_> = t.iter().map(|e| e.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), t.len());
    assert!(entry("dtl_barrier").is_some());
    assert_eq!(entry("dtl_round").map(|e| e.ret), Some(Some(AbiTy::F64)));
}

#[test]
fn container_header_and_collectives_on_three_ranks() {
    let p = prog();
    launch::run(3, |comm| {
        let mut cx = RankCtx::new(comm, p.clone());
        let c: *mut RankCtx = &mut *cx;
        let h = dtl_dist_new(c, 7, 1, 10, 1, 1, 0, 0, 1, 0, 0, 1.5f64.to_bits() as i64, 0);
        let o = obj(h)?;
        assert_eq!(o.hdr.grows, 10);
        assert_eq!(o.hdr.ghost, 1);
        let rows = o.hdr.rows;
        let s = dtl_allreduce(c, rows, 2, 0, 0);
        assert_eq!(s, 10);
        // Out-of-range read is an error recorded in the context, not a panic.
        dtl_get(c, h, 10, 0, 0);
        assert_eq!(cx.failed, 1);
        Ok(())
    })
    .map(|_| ())
    .unwrap_err();
}

#[test]
fn round_and_rand_follow_the_spec() {
    assert_eq!(dtl_round(2.345, 2), (2.345f64 * 100.0).round() / 100.0);
    assert_eq!(dtl_rand(7, 3), crate::random::rand(7, 3));
}

#[test]
fn print_lines_are_joined_by_spaces() {
    let out = Arc::new(Mutex::new(String::new()));
    let o2 = out.clone();
    let mut pi = ProgramInfo::new(vec![], 0);
    pi.sink = Arc::new(move |s: &str| o2.lock().unwrap().push_str(s));
    let p = Arc::new(pi);
    launch::run(1, |comm| {
        let mut cx = RankCtx::new(comm, p.clone());
        let c: *mut RankCtx = &mut *cx;
        dtl_print_str(c, "x".as_ptr(), 1);
        dtl_print_int(c, -3, 0);
        dtl_print_float(c, 0.5, 0);
        dtl_print_bool(c, 1);
        dtl_print_end(c);
        cx.finish()
    })
    .unwrap();
    assert_eq!(out.lock().unwrap().as_str(), "x -3 0.5 true\n");
}
