//! Property tests of the partition index math (LANGUAGE.md §6).

use dtl_runtime::error::Code;
use dtl_runtime::partition::{Layout, Partition};
use proptest::prelude::*;

fn partitions() -> impl Strategy<Value = Partition> {
    prop_oneof![
        Just(Partition::Block),
        Just(Partition::Cyclic),
        (1usize..20).prop_map(Partition::BlockCyclic),
        Just(Partition::Replicated),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn round_trip(n in 0usize..2000, p in 1usize..17, part in partitions()) {
        let l = Layout::new(n, p, part).unwrap();
        let total: usize = (0..p).map(|r| l.local_len(r)).sum();
        if part == Partition::Replicated {
            prop_assert_eq!(total, n * p);
        } else {
            prop_assert_eq!(total, n);
        }
        prop_assert!((0..p).all(|r| l.local_len(r) <= l.max_local_len()));
        for g in 0..n {
            let (o, loc) = l.local_index(g).unwrap();
            prop_assert_eq!(o, l.owner(g).unwrap());
            prop_assert!(loc < l.local_len(o));
            prop_assert_eq!(l.global_index(o, loc).unwrap(), g);
            prop_assert!(l.is_local(o, g));
        }
        for r in 0..p {
            let gs: Vec<usize> = l.global_indices(r).collect();
            prop_assert_eq!(gs.len(), l.local_len(r));
            for (k, &g) in gs.iter().enumerate() {
                prop_assert_eq!(l.global_index(r, k).unwrap(), g);
                if part != Partition::Replicated {
                    prop_assert_eq!(l.local_index(g).unwrap(), (r, k));
                }
                prop_assert_eq!(l.local_count_below(r, g), k);
            }
            prop_assert_eq!(l.local_count_below(r, n), l.local_len(r));
            prop_assert!(gs.windows(2).all(|w| w[0] < w[1]));
        }
    }

    #[test]
    fn block_rule(n in 0usize..100_000, p in 1usize..64) {
        let l = Layout::new(n, p, Partition::Block).unwrap();
        let mut off = 0;
        for r in 0..p {
            prop_assert_eq!(l.local_len(r), n / p + usize::from(r < n % p));
            prop_assert_eq!(l.local_offset(r).unwrap(), off);
            off += l.local_len(r);
        }
    }
}

#[test]
fn errors() {
    assert_eq!(
        Layout::checked(-1, 2, Partition::Block).unwrap_err().code(),
        Code::R0006
    );
    assert_eq!(
        Layout::new(usize::MAX, 2, Partition::Block)
            .unwrap_err()
            .code(),
        Code::R0006
    );
    assert_eq!(
        Layout::new(10, 2, Partition::BlockCyclic(0))
            .unwrap_err()
            .code(),
        Code::R0009
    );
    assert_eq!(
        Layout::new(10, 0, Partition::Block).unwrap_err().code(),
        Code::R0009
    );
    let l = Layout::new(10, 3, Partition::Cyclic).unwrap();
    assert_eq!(l.owner(10).unwrap_err().code(), Code::R0001);
    assert_eq!(l.global_index(3, 0).unwrap_err().code(), Code::R0004);
    assert_eq!(l.global_index(0, 4).unwrap_err().code(), Code::R0001);
    assert_eq!(l.local_offset(0).unwrap_err().code(), Code::R0009);
}

#[test]
fn examples() {
    let l = Layout::new(10, 4, Partition::Block).unwrap();
    let lens: Vec<usize> = (0..4).map(|r| l.local_len(r)).collect();
    assert_eq!(lens, [3, 3, 2, 2]);
    let l = Layout::new(10, 3, Partition::BlockCyclic(2)).unwrap();
    let g: Vec<Vec<usize>> = (0..3).map(|r| l.global_indices(r).collect()).collect();
    assert_eq!(g, vec![vec![0, 1, 6, 7], vec![2, 3, 8, 9], vec![4, 5]]);
    let l = Layout::new(3, 8, Partition::Block).unwrap();
    assert_eq!(l.local_len(5), 0);
    assert_eq!(l.runs(5).count(), 0);
}
