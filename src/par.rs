//! Ordered parallel map over the machine's cores, for the per-file work of `reseal` and `check`
//! (decrypting sources is an X25519 agreement per file; sealing is an RSA operation per value).
//!
//! Scoped threads and contiguous chunks are enough: the items of one run cost about the same, so
//! there is nothing for a work-stealing pool to balance, and results come back in input order,
//! which keeps output and the first reported error deterministic.

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
    let threads = threads_for(items.len());
    if threads <= 1 {
        return items.into_iter().map(f).collect();
    }
    let per = items.len().div_ceil(threads);
    let mut chunks: Vec<Vec<T>> = Vec::with_capacity(threads);
    let mut rest = items.into_iter();
    loop {
        let chunk: Vec<T> = rest.by_ref().take(per).collect();
        if chunk.is_empty() {
            break;
        }
        chunks.push(chunk);
    }
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                std::thread::Builder::new()
                    .stack_size(WORKER_STACK)
                    .spawn_scoped(s, move || chunk.into_iter().map(f).collect::<Vec<R>>())
                    .expect("spawning a worker thread")
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(v) => v,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
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
