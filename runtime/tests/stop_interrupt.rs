//! Interrupts (`stop::interrupt_all`, what SIGINT does once `stop::catch_sigint` ran). They
//! reach every world of the process, so this binary holds one test only.

use std::sync::Arc;
use std::time::Duration;

use dtl_runtime::comm::{Comm, threads};
use dtl_runtime::error::{Code, DtlError, Site};
use dtl_runtime::stop::{self, Interruptible};

struct Never;
impl Interruptible for Never {
    fn interrupt(&self) {
        panic!("a dropped target was interrupted");
    }
}

#[test]
fn an_interrupt_releases_a_multi_rank_world_and_leaves_a_single_rank_one_usable() {
    let gone: Arc<dyn Interruptible> = Arc::new(Never);
    stop::register(Arc::downgrade(&gone));
    drop(gone);
    let comms = threads::create(2, None).unwrap();
    let w = std::thread::scope(|s| {
        let waiter = s.spawn(|| comms[0].barrier(Site::NONE));
        std::thread::sleep(Duration::from_millis(20));
        stop::interrupt_all();
        waiter.join().unwrap()
    });
    assert_eq!(w.unwrap_err().code(), Code::R0011);
    assert_eq!(comms[1].stop_error(), DtlError::Interrupted);
    let one = dtl_runtime::comm::local::comm();
    stop::interrupt_all();
    assert_eq!(one.stop_word().get(), stop::INTERRUPTED);
    assert_eq!(one.stop_error().code(), Code::R0016);
    // A world of one is not failed: once its caller clears the bit it works on.
    one.stop_word().clear(stop::INTERRUPTED);
    assert_eq!(one.stop_word().get(), 0);
    one.barrier(Site::NONE).unwrap();
}
