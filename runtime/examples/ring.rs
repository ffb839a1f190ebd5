//! Point-to-point around a ring: a token travels once around all ranks, each adding its rank,
//! then every rank shifts a message to its right neighbour (a sendrecv pattern).
//! Run: `cargo run -p dtl-runtime --example ring -- [nranks]` (default 4).

use dtl_runtime::prelude::*;

fn main() -> Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let results = launch::run(n, |c| {
        let (r, p) = (c.rank(), c.size());
        let (right, left) = ((r + 1) % p, (r + p - 1) % p);
        // The token: rank 0 starts it, each rank adds its rank and passes it on.
        let mut token = [0u64];
        if r == 0 {
            c.send_slice(&token, right, 1)?;
            let (t, _) = c.recv_vec::<u64>(Source::Rank(left), TagSel::Tag(1))?;
            token = [t[0]];
        } else {
            let (t, _) = c.recv_vec::<u64>(Source::Rank(left), TagSel::Tag(1))?;
            c.send_slice(&[t[0] + r as u64], right, 1)?;
        }
        // Shift: send to the right, receive from the left (sends never block here).
        c.send_slice(&[r as i64], right, 2)?;
        let (got, st) = c.recv_vec::<i64>(Source::Any, TagSel::Tag(2))?;
        let shift_ok = got == vec![left as i64] && st.source == left;
        let all_ok = c.allreduce_scalar(shift_ok as u8, ReduceOp::Land)?;
        Ok((token[0], all_ok == 1, p))
    })?;
    let (token, shift_ok, p) = results[0];
    println!(
        "token after one lap == p(p-1)/2: {}",
        token as usize == p * (p - 1) / 2
    );
    println!("every rank received its left neighbour's rank: {shift_ok}");
    println!("sending past the last rank is an error, not a hang: {}", {
        let e = launch::run(n, |c| c.send(&[1], c.size(), 0)).unwrap_err();
        e.code() == Code::R0004
    });
    Ok(())
}
