//! The producer's counters, gathered in the isolate before they reach the
//! tenant's counters object: one Durable Object write per request would
//! make every exposing request cost a round trip to one object per tenant
//! (the HTTP benchmark measured single-flag split answers at a tenth of
//! a static flag's rate with it). Deltas are added here and handed over
//! when a drop is among them (a loss is reported at once), when the flush
//! interval (`METRICS_FLUSH_SECONDS`, the request metrics' own,
//! [`crate::metrics`]) has passed since the last hand-over, or when the
//! summary is read (so an operator reading through an isolate sees its
//! own counts). What an isolate evicted before its next hand-over held is
//! lost from `accepted` only — never an event (`docs/exposures.md`,
//! "Counters").

use std::collections::BTreeMap;

use super::summary::Counters;

/// Counter deltas per tenant not yet handed over.
#[derive(Debug, Default)]
pub struct Pending {
    by_tenant: BTreeMap<String, Counters>,
    last_flush_ms: u64,
}

impl Pending {
    /// Adds `delta` for `tenant` at `now_ms` (Unix ms). Returns every
    /// tenant's pending deltas, emptied here, when they are due: `delta`
    /// holds a drop, or `interval_ms` has passed since the last hand-over
    /// (always, with 0); otherwise an empty list.
    pub fn add(
        &mut self,
        tenant: &str,
        delta: &Counters,
        now_ms: u64,
        interval_ms: u64,
    ) -> Vec<(String, Counters)> {
        if *delta != Counters::default() {
            self.by_tenant
                .entry(tenant.to_owned())
                .or_default()
                .add(delta);
        }
        if delta.dropped > 0 || now_ms.saturating_sub(self.last_flush_ms) >= interval_ms {
            self.take(now_ms)
        } else {
            Vec::new()
        }
    }

    /// Every tenant's pending deltas, emptied here, at `now_ms`.
    pub fn take(&mut self, now_ms: u64) -> Vec<(String, Counters)> {
        self.last_flush_ms = now_ms;
        std::mem::take(&mut self.by_tenant).into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted(n: u64) -> Counters {
        Counters {
            accepted: n,
            ..Counters::default()
        }
    }

    #[test]
    fn deltas_wait_for_the_interval_and_sum_per_tenant() {
        let mut p = Pending::default();
        assert_eq!(
            p.add("shop", &accepted(2), 10_000, 1_000).len(),
            1,
            "first add: due"
        );
        assert!(p.add("shop", &accepted(3), 10_100, 1_000).is_empty());
        assert!(p.add("media", &accepted(1), 10_500, 1_000).is_empty());
        assert!(p.add("shop", &accepted(4), 10_999, 1_000).is_empty());
        let due = p.add("shop", &accepted(5), 11_000, 1_000);
        assert_eq!(
            due,
            vec![
                ("media".to_owned(), accepted(1)),
                ("shop".to_owned(), accepted(12))
            ]
        );
        assert!(p.take(11_001).is_empty(), "handed-over deltas are gone");
    }

    #[test]
    fn a_drop_is_handed_over_at_once_with_what_waited() {
        let mut p = Pending::default();
        p.add("shop", &accepted(1), 5_000, 1_000);
        assert!(p.add("shop", &accepted(2), 5_001, 1_000).is_empty());
        let drop = Counters {
            dropped: 7,
            ..Counters::default()
        };
        let due = p.add("media", &drop, 5_002, 1_000);
        assert_eq!(
            due,
            vec![("media".to_owned(), drop), ("shop".to_owned(), accepted(2))]
        );
    }

    #[test]
    fn interval_zero_hands_over_every_delta() {
        let mut p = Pending::default();
        assert_eq!(p.add("shop", &accepted(1), 7_000, 0).len(), 1);
        assert_eq!(
            p.add("shop", &accepted(1), 7_000, 0),
            vec![("shop".to_owned(), accepted(1))]
        );
    }

    #[test]
    fn the_summary_takes_everything_and_restarts_the_interval() {
        let mut p = Pending::default();
        p.add("shop", &accepted(1), 1_000, 1_000);
        p.add("shop", &accepted(1), 1_200, 1_000);
        assert_eq!(p.take(1_300), vec![("shop".to_owned(), accepted(1))]);
        assert!(
            p.add("shop", &accepted(1), 2_200, 1_000).is_empty(),
            "900 ms after the take"
        );
    }
}
