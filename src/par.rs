//! Ordered parallel map over the machine's cores, for the per-file work of `reseal` and `check`
//! (decrypting sources is an X25519 agreement per file; sealing is an RSA operation per value).
//!
//! Scoped threads taking the next item from a shared counter: items of one run cost about the
//! same, but a VM's cores do not run at the same speed, and fixed halves left one core idle while
//! the other finished (issue 9). Results come back in input order, which keeps output and the
//! first reported error deterministic.

/// Stack for the workers: as much as the main thread has, because they parse YAML, whose
/// nesting limit (`sops::format::yaml`) was sized against an 8 MiB stack.
const WORKER_STACK: usize = 8 << 20;

/// How many workers a run of `items` items gets.
pub fn threads_for(items: usize) -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(items)
        .max(1)
}

/// `items.into_iter().map(f).collect()`, run on up to [`threads_for`] threads. A panic in `f`
/// is re-raised on the caller's thread.
pub fn map<T, R, F>(items: Vec<T>, f: F) -> Vec<R>
where
    T: Send,
    R: Send,
    F: Fn(T) -> R + Sync,
{
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let threads = threads_for(items.len());
    if threads <= 1 {
        return items.into_iter().map(f).collect();
    }
    let n = items.len();
    // One lock per item, taken once by whichever worker draws its index: never contended.
    let slots: Vec<Mutex<Option<T>>> = items.into_iter().map(|t| Mutex::new(Some(t))).collect();
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= n {
                return done;
            }
            let item = slots[i]
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
                .expect("each index is drawn once");
            done.push((i, f(item)));
        }
    };
    let mut out: Vec<Option<R>> = (0..n).map(|_| None).collect();
    std::thread::scope(|s| {
        let work = &work;
        // The caller only waits: its stack may be smaller than the workers' (a test thread's).
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                std::thread::Builder::new()
                    .stack_size(WORKER_STACK)
                    .spawn_scoped(s, work)
                    .expect("spawning a worker thread")
            })
            .collect();
        for h in handles {
            match h.join() {
                Ok(v) => v.into_iter().for_each(|(i, r)| out[i] = Some(r)),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    out.into_iter()
        .map(|r| r.expect("every item was mapped"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_every_item() {
        let out = map((0..1001).collect(), |i: u32| i * 2);
        assert_eq!(out, (0..1001).map(|i| i * 2).collect::<Vec<_>>());
        assert!(map(Vec::<u32>::new(), |i| i).is_empty());
    }

    #[test]
    fn a_worker_panic_reaches_the_caller() {
        let r = std::panic::catch_unwind(|| {
            map((0..64).collect(), |i: u32| {
                assert!(i != 40, "boom");
                i
            })
        });
        assert!(r.is_err());
    }
}
