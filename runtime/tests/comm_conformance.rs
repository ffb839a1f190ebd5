//! The communication conformance suite: written once against `&CommRef`, run on the local
//! backend and on the threads backend at 1, 2, 3, 4 and 8 ranks.

use dtl_runtime::comm::local;
use dtl_runtime::comm::{CollKind, Status, WinRead};
use dtl_runtime::elem::{LocPair, as_bytes, as_bytes_mut, loc_as_bytes, loc_as_bytes_mut};
use dtl_runtime::error::Code;
use dtl_runtime::ops;
use dtl_runtime::prelude::*;

const RANKS: [usize; 5] = [1, 2, 3, 4, 8];

/// The rank counts to run: `DTL_TEST_RANKS` (e.g. `2` or `2,8`) or all of [`RANKS`]; the local
/// backend runs unless the variable is set.
fn rank_counts() -> (bool, Vec<usize>) {
    match std::env::var("DTL_TEST_RANKS") {
        Ok(s) => (
            false,
            s.split(',').filter_map(|x| x.trim().parse().ok()).collect(),
        ),
        Err(_) => (true, RANKS.to_vec()),
    }
}

/// Runs `f` on every backend and rank count; panics (failing the test) on the first error.
fn everywhere(name: &str, f: impl Fn(&CommRef) -> Result<()> + Sync) {
    let (with_local, counts) = rank_counts();
    if with_local {
        local::run(|c| f(c)).unwrap_or_else(|e| panic!("{name} on local: {e}"));
    }
    for n in counts {
        launch::run(n, |c| f(c)).unwrap_or_else(|e| panic!("{name} on threads x{n}: {e}"));
    }
}

/// Deterministic test input: element i of rank r, appended as raw bytes of `dtype`.
fn push_input(v: &mut Vec<u8>, dtype: DType, r: usize, i: usize) {
    let x = ((r * 7 + i * 3) % 11) as i64 - 3;
    match dtype {
        DType::I8 => v.extend_from_slice(&(x as i8).to_ne_bytes()),
        DType::I32 => v.extend_from_slice(&((x * 1000) as i32).to_ne_bytes()),
        DType::I64 => v.extend_from_slice(&(x * 1_000_000_007).to_ne_bytes()),
        DType::U8 => v.extend_from_slice(&((x + 3) as u8).to_ne_bytes()),
        DType::U32 => v.extend_from_slice(&((x + 3) as u32 * 77).to_ne_bytes()),
        DType::U64 => v.extend_from_slice(&(((x + 3) as u64) << 40).to_ne_bytes()),
        DType::F32 => v.extend_from_slice(&(x as f32 * 0.5).to_ne_bytes()),
        DType::F64 => v.extend_from_slice(&(x as f64 * 0.25).to_ne_bytes()),
        DType::Bool => v.push((x > 0) as u8),
    }
}

fn buffer(dtype: DType, r: usize, n: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(n * dtype.size());
    for i in 0..n {
        push_input(&mut v, dtype, r, i);
    }
    v
}

/// The reduction over ranks `0..upto` in rank order, computed locally.
fn fold(dtype: DType, op: ReduceOp, upto: usize, n: usize) -> Vec<u8> {
    let mut acc = buffer(dtype, 0, n);
    for q in 1..upto {
        ops::reduce_into(dtype, op, &mut acc, &buffer(dtype, q, n)).unwrap();
    }
    acc
}

const PLAIN_OPS: [ReduceOp; 9] = [
    ReduceOp::Sum,
    ReduceOp::Prod,
    ReduceOp::Min,
    ReduceOp::Max,
    ReduceOp::Land,
    ReduceOp::Lor,
    ReduceOp::Band,
    ReduceOp::Bor,
    ReduceOp::Bxor,
];

/// Element counts that exercise the slot path (small) and the in-place path (large, uneven
/// chunks).
const COUNTS: [usize; 4] = [1, 3, 37, 5003];

pub fn check_basics_and_barrier(c: &CommRef) -> Result<()> {
    assert!(c.rank() < c.size());
    assert!(["local", "threads", "mpi"].contains(&c.backend()));
    for _ in 0..10 {
        c.barrier(Site::caller())?;
    }
    Ok(())
}

#[test]
fn basics_and_barrier() {
    everywhere("basics", check_basics_and_barrier);
}

pub fn check_allreduce_every_dtype_and_op(c: &CommRef) -> Result<()> {
    let p = c.size();
    for d in DType::ALL {
        for op in PLAIN_OPS.into_iter().filter(|op| op.valid_for(d)) {
            for n in COUNTS {
                let send = buffer(d, c.rank(), n);
                let mut recv = vec![0xAAu8; send.len()];
                c.allreduce(&send, &mut recv, d, op, Site::caller())?;
                assert_eq!(recv, fold(d, op, p, n), "allreduce {d} {op} n={n}");
            }
        }
    }
    let s = c.allreduce_scalar(c.rank() as i64 + 1, ReduceOp::Sum)?;
    assert_eq!(s, (p * (p + 1) / 2) as i64);
    Ok(())
}

#[test]
fn allreduce_every_dtype_and_op() {
    everywhere("allreduce", check_allreduce_every_dtype_and_op);
}

pub fn check_reduce_every_root(c: &CommRef) -> Result<()> {
    let p = c.size();
    for root in 0..p {
        for (d, op) in [
            (DType::F64, ReduceOp::Sum),
            (DType::I32, ReduceOp::Max),
            (DType::U8, ReduceOp::Bxor),
        ] {
            for n in COUNTS {
                let send = buffer(d, c.rank(), n);
                let mut recv = vec![0xAAu8; send.len()];
                c.reduce(&send, &mut recv, d, op, root, Site::caller())?;
                if c.rank() == root {
                    assert_eq!(recv, fold(d, op, p, n), "reduce {d} {op} n={n} root {root}");
                } else {
                    assert!(
                        recv.iter().all(|&b| b == 0xAA),
                        "reduce touched a non-root buffer"
                    );
                }
            }
        }
    }
    let m = c.reduce_scalar(c.rank() as u32, ReduceOp::Max, 0)?;
    assert_eq!(
        m,
        if c.rank() == 0 {
            p as u32 - 1
        } else {
            c.rank() as u32
        }
    );
    Ok(())
}

#[test]
fn reduce_every_root() {
    everywhere("reduce", check_reduce_every_root);
}

pub fn check_broadcast_every_dtype_and_root(c: &CommRef) -> Result<()> {
    for root in 0..c.size() {
        for d in DType::ALL {
            for n in COUNTS {
                let want = buffer(d, root, n);
                let mut buf = if c.rank() == root {
                    want.clone()
                } else {
                    vec![0u8; want.len()]
                };
                c.broadcast(&mut buf, d, root, Site::caller())?;
                assert_eq!(buf, want, "broadcast {d} n={n} root {root}");
            }
        }
    }
    assert_eq!(
        c.broadcast_scalar(c.rank() as f32 + 0.5, c.size() - 1)?,
        c.size() as f32 - 0.5
    );
    Ok(())
}

#[test]
fn broadcast_every_dtype_and_root() {
    everywhere("broadcast", check_broadcast_every_dtype_and_root);
}

pub fn check_scans_inclusive_and_exclusive(c: &CommRef) -> Result<()> {
    let r = c.rank();
    for (d, op) in [
        (DType::I64, ReduceOp::Sum),
        (DType::F64, ReduceOp::Prod),
        (DType::U32, ReduceOp::Min),
        (DType::Bool, ReduceOp::Lor),
    ] {
        for n in COUNTS {
            let send = buffer(d, r, n);
            let mut inc = vec![0u8; send.len()];
            c.scan(&send, &mut inc, d, op, false, Site::caller())?;
            assert_eq!(inc, fold(d, op, r + 1, n), "scan {d} {op} n={n}");
            let mut exc = vec![0x5Au8; send.len()];
            c.scan(&send, &mut exc, d, op, true, Site::caller())?;
            if r == 0 {
                assert!(exc.iter().all(|&b| b == 0x5A), "exscan touched rank 0");
            } else {
                assert_eq!(exc, fold(d, op, r, n), "exscan {d} {op} n={n}");
            }
        }
    }
    assert_eq!(c.scan_scalar(1u64, ReduceOp::Sum, false, 0)?, r as u64 + 1);
    assert_eq!(c.scan_scalar(1u64, ReduceOp::Sum, true, 0)?, r as u64);
    Ok(())
}

#[test]
fn scans_inclusive_and_exclusive() {
    everywhere("scan", check_scans_inclusive_and_exclusive);
}

pub fn check_minloc_maxloc_lowest_index_on_ties(c: &CommRef) -> Result<()> {
    let r = c.rank();
    let p = c.size();
    for n in [1usize, 4, 40] {
        // Value r % 2 at global index 10 * r + i: min is 0 (first at rank 0), max is 1
        // (first at rank 1) unless there is only one rank.
        let send: Vec<LocPair> = (0..n)
            .map(|i| LocPair::new((r % 2) as f64, (10 * r + i) as i64))
            .collect();
        let mut out = vec![LocPair::default(); n];
        c.allreduce(
            loc_as_bytes(&send),
            loc_as_bytes_mut(&mut out),
            DType::F64,
            ReduceOp::MinLoc,
            Site::caller(),
        )?;
        for (i, o) in out.iter().enumerate() {
            assert_eq!((o.value::<f64>(), o.index), (0.0, i as i64));
        }
        c.allreduce(
            loc_as_bytes(&send),
            loc_as_bytes_mut(&mut out),
            DType::F64,
            ReduceOp::MaxLoc,
            Site::caller(),
        )?;
        let (v, base) = if p > 1 { (1.0, 10) } else { (0.0, 0) };
        for (i, o) in out.iter().enumerate() {
            assert_eq!((o.value::<f64>(), o.index), (v, base + i as i64));
        }
        // Equal values everywhere: the lowest index (rank 0's) wins for both.
        let same: Vec<LocPair> = (0..n)
            .map(|i| LocPair::new(7i32, (100 * (p - r) + i) as i64))
            .collect();
        c.allreduce(
            loc_as_bytes(&same),
            loc_as_bytes_mut(&mut out),
            DType::I32,
            ReduceOp::MaxLoc,
            Site::caller(),
        )?;
        assert!(
            out.iter()
                .enumerate()
                .all(|(i, o)| o.index == (100 + i) as i64 && o.value::<i32>() == 7)
        );
    }
    Ok(())
}

#[test]
fn minloc_maxloc_lowest_index_on_ties() {
    everywhere("minloc", check_minloc_maxloc_lowest_index_on_ties);
}

/// Rank r contributes r elements (rank 0 none) for small, 20 * r for large.
fn vcounts(p: usize, scale: usize) -> Vec<usize> {
    (0..p).map(|q| q * scale).collect()
}

fn vdata(r: usize, n: usize) -> Vec<i64> {
    (0..n).map(|i| (r * 1000 + i) as i64).collect()
}

pub fn check_gatherv_scatterv_allgatherv_uneven_and_empty(c: &CommRef) -> Result<()> {
    let (r, p) = (c.rank(), c.size());
    for scale in [1usize, 20] {
        let counts = vcounts(p, scale);
        let total: usize = counts.iter().sum();
        let all: Vec<i64> = (0..p).flat_map(|q| vdata(q, counts[q])).collect();
        let mine = vdata(r, counts[r]);
        for root in 0..p {
            let mut g = vec![0i64; if r == root { total } else { 0 }];
            c.gatherv(
                as_bytes(&mine),
                as_bytes_mut(&mut g),
                &counts,
                DType::I64,
                root,
                Site::caller(),
            )?;
            if r == root {
                assert_eq!(g, all);
            }
            let src = if r == root { all.clone() } else { Vec::new() };
            let mut s = vec![0i64; counts[r]];
            c.scatterv(
                as_bytes(&src),
                &counts,
                as_bytes_mut(&mut s),
                DType::I64,
                root,
                Site::caller(),
            )?;
            assert_eq!(s, mine);
        }
        let mut ag = vec![0i64; total];
        c.allgatherv(
            as_bytes(&mine),
            as_bytes_mut(&mut ag),
            &counts,
            DType::I64,
            Site::caller(),
        )?;
        assert_eq!(ag, all);
        assert_eq!(c.allgatherv_vec(&mine)?, all);
        assert_eq!(
            c.gatherv_vec(&mine, 0)?,
            if r == 0 { all.clone() } else { vec![] }
        );
        let sc = c.scatterv_vec(
            &if r == p - 1 { all.clone() } else { vec![] },
            &counts,
            p - 1,
        )?;
        assert_eq!(sc, mine);
    }
    assert_eq!(
        c.allgather_scalar(r as u8)?,
        (0..p as u8).collect::<Vec<_>>()
    );
    Ok(())
}

#[test]
fn gatherv_scatterv_allgatherv_uneven_and_empty() {
    everywhere(
        "v-collectives",
        check_gatherv_scatterv_allgatherv_uneven_and_empty,
    );
}

pub fn check_alltoallv_uneven_and_empty(c: &CommRef) -> Result<()> {
    let (r, p) = (c.rank(), c.size());
    for scale in [1usize, 30] {
        // Rank r sends (r + k) % 3 * scale elements to rank k, valued 1e6 r + 1e3 k + i.
        let sc: Vec<usize> = (0..p).map(|k| (r + k) % 3 * scale).collect();
        let send: Vec<f64> = (0..p)
            .flat_map(|k| (0..sc[k]).map(move |i| (r * 1_000_000 + k * 1000 + i) as f64))
            .collect();
        let rc: Vec<usize> = (0..p).map(|q| (q + r) % 3 * scale).collect();
        let want: Vec<f64> = (0..p)
            .flat_map(|q| (0..rc[q]).map(move |i| (q * 1_000_000 + r * 1000 + i) as f64))
            .collect();
        let mut recv = vec![0f64; want.len()];
        c.alltoallv(
            as_bytes(&send),
            &sc,
            as_bytes_mut(&mut recv),
            &rc,
            DType::F64,
            Site::caller(),
        )?;
        assert_eq!(recv, want);
        let (got, counts) = c.alltoallv_vec(&send, &sc)?;
        assert_eq!((got, counts), (want, rc));
    }
    Ok(())
}

#[test]
fn alltoallv_uneven_and_empty() {
    everywhere("alltoallv", check_alltoallv_uneven_and_empty);
}

pub fn check_point_to_point_tags_any_source_and_probe(c: &CommRef) -> Result<()> {
    let (r, p) = (c.rank(), c.size());
    let right = (r + 1) % p;
    let left = (r + p - 1) % p;
    // Two tags sent in order 1, 2; received in order 2, 1 (tag matching skips).
    c.send_slice(&[r as i32, 1], right, 1)?;
    c.send_slice(&[r as i32, 2], right, 2)?;
    let mut b = [0i32; 2];
    let st = c.recv(as_bytes_mut(&mut b), Source::Rank(left), TagSel::Tag(2))?;
    assert_eq!(
        (b, st),
        (
            [left as i32, 2],
            Status {
                source: left,
                tag: 2,
                bytes: 8
            }
        )
    );
    let st = c.probe(Source::Any, TagSel::Any)?;
    assert_eq!((st.source, st.tag), (left, 1));
    let (v, st) = c.recv_vec::<i32>(Source::Any, TagSel::Tag(1))?;
    assert_eq!((v, st.source), (vec![left as i32, 1], left));
    c.barrier(Site::caller())?;
    assert_eq!(c.iprobe(Source::Any, TagSel::Any)?, None);
    c.barrier(Site::caller())?;
    // FIFO per source: five messages from each rank to rank 0 arrive in order.
    for k in 0..5 {
        c.send_slice(&[r as u64, k], 0, 7)?;
    }
    if r == 0 {
        let mut next = vec![0u64; p];
        for _ in 0..5 * p {
            let (m, st) = c.recv_vec::<u64>(Source::Any, TagSel::Tag(7))?;
            assert_eq!(m[0] as usize, st.source);
            assert_eq!(m[1], next[st.source]);
            next[st.source] += 1;
        }
    }
    c.barrier(Site::caller())?;
    // sendrecv pattern: shift right, empty messages included.
    c.send(&[], right, 3)?;
    let st = c.recv(&mut [], Source::Rank(left), TagSel::Tag(3))?;
    assert_eq!(st.bytes, 0);
    // iprobe eventually sees a message that was sent.
    c.send_slice(&[9u8], right, 4)?;
    while c.iprobe(Source::Rank(left), TagSel::Tag(4))?.is_none() {
        std::thread::yield_now();
    }
    let mut one = [0u8];
    c.recv(&mut one, Source::Rank(left), TagSel::Tag(4))?;
    assert_eq!(one, [9]);
    // A message longer than the buffer is R0009.
    c.send_slice(&[1u32, 2, 3], right, 5)?;
    let mut small = [0u32; 2];
    let e = c
        .recv(as_bytes_mut(&mut small), Source::Rank(left), TagSel::Tag(5))
        .unwrap_err();
    assert_eq!(e.code(), Code::R0009);
    let mut big = [0u32; 4];
    assert_eq!(
        c.recv(as_bytes_mut(&mut big), Source::Rank(left), TagSel::Tag(5))?
            .bytes,
        12
    );
    c.barrier(Site::caller())?;
    Ok(())
}

#[test]
fn point_to_point_tags_any_source_and_probe() {
    everywhere("p2p", check_point_to_point_tags_any_source_and_probe);
}

pub fn check_bad_ranks_and_arguments_are_errors(c: &CommRef) -> Result<()> {
    let p = c.size();
    assert_eq!(c.send(&[1], p, 0).unwrap_err().code(), Code::R0004);
    assert_eq!(c.send(&[1], usize::MAX, 0).unwrap_err().code(), Code::R0004);
    assert_eq!(c.send(&[1], 0, -1).unwrap_err().code(), Code::R0009);
    assert_eq!(
        c.recv(&mut [0], Source::Rank(p + 3), TagSel::Any)
            .unwrap_err()
            .code(),
        Code::R0004
    );
    assert_eq!(
        c.iprobe(Source::Rank(p), TagSel::Any).unwrap_err().code(),
        Code::R0004
    );
    // Collective argument errors reach every rank and keep the ranks in step.
    let e = c.broadcast_scalar(1.0f64, p).unwrap_err();
    assert_eq!(e.code(), Code::R0004);
    let mut out = [0u8; 8];
    let e = c
        .allreduce(
            &[0u8; 8],
            &mut out,
            DType::F64,
            ReduceOp::Band,
            Site::caller(),
        )
        .unwrap_err();
    assert_eq!(e.code(), Code::R0009);
    let e = c
        .allreduce(
            &[0u8; 8],
            &mut out[..4],
            DType::F32,
            ReduceOp::Sum,
            Site::caller(),
        )
        .unwrap_err();
    assert_eq!(e.code(), Code::R0009);
    let e = c.reduce_scalar(1i8, ReduceOp::Sum, p + 1).unwrap_err();
    assert_eq!(e.code(), Code::R0004);
    c.barrier(Site::caller())?;
    assert_eq!(c.allreduce_scalar(1i32, ReduceOp::Sum)?, p as i32);
    Ok(())
}

#[test]
fn bad_ranks_and_arguments_are_errors() {
    everywhere("errors", check_bad_ranks_and_arguments_are_errors);
}

pub fn check_split_and_dup(c: &CommRef) -> Result<()> {
    let (r, p) = (c.rank(), c.size());
    // Split by parity, reversed order inside each half.
    let sub = c.split((r % 2) as i32, -(r as i32), Site::caller())?;
    let mine: Vec<usize> = (0..p).filter(|q| q % 2 == r % 2).rev().collect();
    assert_eq!(sub.size(), mine.len());
    assert_eq!(mine[sub.rank()], r);
    let s = sub.allreduce_scalar(r as u64, ReduceOp::Sum)?;
    assert_eq!(s, mine.iter().map(|&q| q as u64).sum::<u64>());
    let g = sub.allgather_scalar(r as u32)?;
    assert_eq!(g, mine.iter().map(|&q| q as u32).collect::<Vec<_>>());
    // A dup has its own message space.
    let d = c.dup(Site::caller())?;
    assert_eq!((d.rank(), d.size()), (r, p));
    d.send_slice(&[r as i64], (r + 1) % p, 0)?;
    d.barrier(Site::caller())?;
    assert_eq!(c.iprobe(Source::Any, TagSel::Any)?, None);
    let (v, _) = d.recv_vec::<i64>(Source::Rank((r + p - 1) % p), TagSel::Tag(0))?;
    assert_eq!(v, vec![((r + p - 1) % p) as i64]);
    // Interleaved collectives on parent and children stay independent.
    let x = c.allreduce_scalar(1u8, ReduceOp::Sum)?;
    let y = sub.allreduce_scalar(1u8, ReduceOp::Sum)?;
    let z = d.allreduce_scalar(2u8, ReduceOp::Sum)?;
    assert_eq!((x, y, z), (p as u8, mine.len() as u8, 2 * p as u8));
    // Every rank alone.
    let solo = c.split(r as i32, 0, Site::caller())?;
    assert_eq!((solo.rank(), solo.size()), (0, 1));
    solo.barrier(Site::caller())?;
    Ok(())
}

#[test]
fn split_and_dup() {
    everywhere("split", check_split_and_dup);
}

pub fn check_windows_get_put_and_atomics(c: &CommRef) -> Result<()> {
    let (r, p) = (c.rank(), c.size());
    let mut mem = vec![0i64; 4 + p];
    // SAFETY: `mem` outlives the window (freed below before `mem` drops) and is not
    // touched locally between fences.
    let w = unsafe { c.win_create(mem.as_mut_ptr().cast(), mem.len() * 8, Site::caller())? };
    // Everyone adds to rank 0's element 0, fetch-and-adds element 1, puts its rank into
    // slot 4 + r of its right neighbour, and races a compare-and-swap on element 2.
    c.win_accumulate(
        w,
        0,
        0,
        as_bytes(&[r as i64 + 1]),
        DType::I64,
        ReduceOp::Sum,
    )?;
    let mut old = [0i64];
    c.win_fetch_op(
        w,
        0,
        8,
        as_bytes(&[1i64]),
        as_bytes_mut(&mut old),
        DType::I64,
        ReduceOp::Sum,
    )?;
    assert!((old[0] as usize) < p);
    let right = (r + 1) % p;
    c.win_put(w, right, (4 + r) * 8, as_bytes(&[100 + r as i64]))?;
    let mut prev = [0i64];
    c.win_compare_and_swap(
        w,
        0,
        16,
        as_bytes(&[0i64]),
        as_bytes(&[r as i64 + 1]),
        as_bytes_mut(&mut prev),
        DType::I64,
    )?;
    let won = prev[0] == 0;
    c.win_flush(w, None)?;
    c.win_fence(w, Site::caller())?;
    let winners = c.allreduce_scalar(won as u32, ReduceOp::Sum)?;
    assert_eq!(winners, 1);
    let left = (r + p - 1) % p;
    assert_eq!(mem[4 + left], 100 + left as i64);
    if r == 0 {
        assert_eq!(mem[0], (p * (p + 1) / 2) as i64);
        assert_eq!(mem[1], p as i64);
        assert!(mem[2] >= 1 && mem[2] <= p as i64);
    }
    // Gets see the fenced state; bounds are checked.
    let mut got = [0i64; 2];
    c.win_get(w, 0, 0, as_bytes_mut(&mut got))?;
    assert_eq!(got, [(p * (p + 1) / 2) as i64, p as i64]);
    let e = c
        .win_get(w, 0, (4 + p) * 8 - 4, as_bytes_mut(&mut got))
        .unwrap_err();
    assert_eq!(e.code(), Code::R0001);
    assert_eq!(c.win_put(w, p, 0, &[0]).unwrap_err().code(), Code::R0004);
    // Float accumulate over a long range (several lock stripes) from every rank.
    c.win_fence(w, Site::caller())?;
    let mut fmem = vec![0f64; 300];
    // SAFETY: as above.
    let fw = unsafe { c.win_create(fmem.as_mut_ptr().cast(), fmem.len() * 8, Site::caller())? };
    let ones = vec![1.0f64; 300];
    c.win_accumulate(fw, p - 1, 0, as_bytes(&ones), DType::F64, ReduceOp::Sum)?;
    c.win_fence(fw, Site::caller())?;
    if r == p - 1 {
        assert!(fmem.iter().all(|&x| x == p as f64));
    }
    c.win_free(fw, Site::caller())?;
    c.win_free(w, Site::caller())?;
    assert_eq!(
        c.win_get(w, 0, 0, as_bytes_mut(&mut got))
            .unwrap_err()
            .code(),
        Code::R0009
    );
    Ok(())
}

#[test]
fn windows_get_put_and_atomics() {
    everywhere("windows", check_windows_get_put_and_atomics);
}

pub fn check_win_get_many_reads_several_windows_and_ranks(c: &CommRef) -> Result<()> {
    let (r, p) = (c.rank(), c.size());
    let mut a = vec![10 * r as i64, 10 * r as i64 + 1];
    let mut b = [r as u8 + 100; 3];
    // SAFETY: `a` and `b` outlive their windows (freed below) and are not written locally.
    let wa = unsafe { c.win_create(a.as_mut_ptr().cast(), 16, Site::caller())? };
    // SAFETY: as above.
    let wb = unsafe { c.win_create(b.as_mut_ptr(), 3, Site::caller())? };
    let right = (r + 1) % p;
    let (mut x, mut y, mut z) = ([0i64], [0u8; 2], [0i64]);
    c.win_get_many(&mut [
        WinRead {
            win: wa,
            target: right,
            offset: 8,
            buf: as_bytes_mut(&mut x),
        },
        WinRead {
            win: wb,
            target: right,
            offset: 1,
            buf: &mut y,
        },
        WinRead {
            win: wa,
            target: 0,
            offset: 0,
            buf: as_bytes_mut(&mut z),
        },
    ])?;
    assert_eq!(x, [10 * right as i64 + 1]);
    assert_eq!(y, [right as u8 + 100; 2]);
    assert_eq!(z, [0]);
    // An empty list reads nothing; any read out of bounds is R0001, a bad rank R0004.
    c.win_get_many(&mut [])?;
    let mut w = [0u8; 2];
    let e = c
        .win_get_many(&mut [WinRead {
            win: wb,
            target: 0,
            offset: 2,
            buf: &mut w,
        }])
        .unwrap_err();
    assert_eq!(e.code(), Code::R0001);
    let e = c
        .win_get_many(&mut [WinRead {
            win: wb,
            target: p,
            offset: 0,
            buf: &mut w,
        }])
        .unwrap_err();
    assert_eq!(e.code(), Code::R0004);
    c.win_fence(wa, Site::caller())?;
    c.win_free(wb, Site::caller())?;
    c.win_free(wa, Site::caller())?;
    Ok(())
}

#[test]
fn win_get_many_reads_several_windows_and_ranks() {
    everywhere(
        "win_get_many",
        check_win_get_many_reads_several_windows_and_ranks,
    );
}

pub fn check_counters_count_exactly(c: &CommRef) -> Result<()> {
    c.barrier(Site::caller())?;
    let before = c.stats().snapshot();
    c.allreduce_scalar(1.0f64, ReduceOp::Sum)?;
    let mid = c.stats().snapshot().since(&before);
    assert_eq!(mid.collectives(CollKind::Allreduce), 1);
    assert_eq!(mid.total_collectives(), 1);
    let right = (c.rank() + 1) % c.size();
    c.send(&[1, 2, 3], right, 0)?;
    c.recv(&mut [0; 3], Source::Any, TagSel::Any)?;
    c.barrier(Site::caller())?;
    let d = c.stats().snapshot().since(&before);
    assert_eq!(
        (
            d.messages_sent,
            d.bytes_sent,
            d.messages_received,
            d.bytes_received
        ),
        (1, 3, 1, 3)
    );
    assert_eq!(d.collectives(CollKind::Barrier), 1);
    Ok(())
}

#[test]
fn counters_count_exactly() {
    everywhere("stats", check_counters_count_exactly);
}

/// A named check of the suite.
pub type Check = (&'static str, fn(&CommRef) -> Result<()>);

/// Every check of this suite, for runners on other backends (the MPI conformance example).
pub const CHECKS: &[Check] = &[
    ("basics_and_barrier", check_basics_and_barrier),
    (
        "allreduce_every_dtype_and_op",
        check_allreduce_every_dtype_and_op,
    ),
    ("reduce_every_root", check_reduce_every_root),
    (
        "broadcast_every_dtype_and_root",
        check_broadcast_every_dtype_and_root,
    ),
    (
        "scans_inclusive_and_exclusive",
        check_scans_inclusive_and_exclusive,
    ),
    (
        "minloc_maxloc_lowest_index_on_ties",
        check_minloc_maxloc_lowest_index_on_ties,
    ),
    (
        "gatherv_scatterv_allgatherv_uneven_and_empty",
        check_gatherv_scatterv_allgatherv_uneven_and_empty,
    ),
    (
        "alltoallv_uneven_and_empty",
        check_alltoallv_uneven_and_empty,
    ),
    (
        "point_to_point_tags_any_source_and_probe",
        check_point_to_point_tags_any_source_and_probe,
    ),
    (
        "bad_ranks_and_arguments_are_errors",
        check_bad_ranks_and_arguments_are_errors,
    ),
    ("split_and_dup", check_split_and_dup),
    (
        "windows_get_put_and_atomics",
        check_windows_get_put_and_atomics,
    ),
    (
        "win_get_many_reads_several_windows_and_ranks",
        check_win_get_many_reads_several_windows_and_ranks,
    ),
    ("counters_count_exactly", check_counters_count_exactly),
];
