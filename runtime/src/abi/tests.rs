use std::sync::{Arc, Mutex};

use super::*;
use crate::container::{Distributed, Options};
use crate::elem::DType;
use crate::error::Site;
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

#[test]
fn borrowed_handles_free_only_the_handle() {
    let p = prog();
    launch::run(2, |comm| {
        let mut d = Distributed::<f64>::new(comm, &[8], Options::new().fill(2.0))?;
        let mut cx = RankCtx::new(comm, p.clone());
        cx.set_abort_on_fail(false);
        let c: *mut RankCtx = &mut *cx;
        // SAFETY: `d` outlives the handle and is not touched until its last release below.
        let h = unsafe { wrap_borrowed(&mut d as *mut Distributed<f64>, false) };
        cx.adopt(&[h]);
        let o = obj(h)?;
        assert_eq!(o.hdr.grows, 8);
        assert_eq!(o.hdr.rows, 4);
        // Writes through the header land in the borrowed container.
        // SAFETY: `data` points at this rank's 4 local elements.
        unsafe { *o.hdr.data.cast::<f64>() = 5.0 };
        // Moving the buffer is refused while the host says views are alive.
        dtl_resize(c, h, 20, 0);
        assert_eq!(cx.failed, 1);
        dtl_retain(h);
        cx.failed = 0;
        dtl_release(c, h, 0);
        dtl_release(c, h, 0);
        let _ = cx.finish_with_message();
        assert_eq!(d.local()[0], 5.0);
        assert_eq!(d.shape(), &[8]);

        // A borrowed local array: written in place, never freed by the handle.
        let mut v = vec![1i64, 2, 3];
        let mut cx = RankCtx::new(comm, p.clone());
        let c: *mut RankCtx = &mut *cx;
        // SAFETY: `v` outlives the handle and is not touched until the release.
        let l = unsafe { wrap_local_borrowed(v.as_mut_ptr(), v.len()) };
        assert_eq!(handle_info(l), Some((kind::LOCAL, DType::I64)));
        assert_eq!(local_to_vec::<i64>(l), Some(vec![1, 2, 3]));
        let m = dtl_local_new(c, 2, 3, 9, 0);
        dtl_swap(c, l, m, 0);
        assert_eq!(cx.failed, 0);
        dtl_release(c, m, 0);
        dtl_release(c, l, 0);
        cx.finish()?;
        assert_eq!(v, vec![9, 9, 9]);
        Ok(())
    })
    .unwrap();
}
