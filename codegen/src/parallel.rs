//! Independent work spread over the machine's threads (std threads, no pool kept).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// How many threads [`map`] uses at most: what the machine runs at once.
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `work` applied to every item, the results in the items' order. The items are taken by the
/// calling thread and as many more as the machine runs at once, costliest first (by `cost`),
/// so that no thread is left alone with a long item at the end. Nothing depends on which
/// thread ran what: the results are the same as `items.iter().map(work)`.
pub fn map<T: Sync, R: Send>(items: &[T], cost: impl Fn(&T) -> usize, work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = threads().min(items.len());
    if threads <= 1 {
        return items.iter().map(work).collect();
    }
    let mut order: Vec<usize> = (0..items.len()).collect();
    // Stable: equal costs keep the items' order.
    order.sort_by_key(|&i| std::cmp::Reverse(cost(&items[i])));
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    let run = || loop {
        let taken = next.fetch_add(1, Ordering::Relaxed);
        let Some(&i) = order.get(taken) else { break };
        let result = work(&items[i]);
        *slots[i].lock().expect("no thread panics holding a slot") = Some(result);
    };
    std::thread::scope(|scope| {
        for _ in 1..threads {
            scope.spawn(run);
        }
        run();
    });
    slots
        .into_iter()
        .map(|slot| slot.into_inner().expect("no thread panics holding a slot").expect("every item is done"))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_come_in_the_items_order_whatever_the_costs() {
        let items: Vec<usize> = (0..1000).collect();
        let out = super::map(&items, |&i| i % 7, |&i| i * 2);
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert!(super::map(&[] as &[u8], |_| 0, |&b| b).is_empty());
    }
}
