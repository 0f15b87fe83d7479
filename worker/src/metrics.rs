//! Per-tenant counters: requests, errors by code, and a histogram of
//! evaluation times from which p50 and p99 are read.
//!
//! Each isolate counts in memory ([`Metrics`]) and hands its counts over at
//! most every flush interval, as a side effect run after the response
//! (`waitUntil`), to the tenant's Durable Object, which adds them to the
//! totals in its storage ([`TenantCounters::merge`]). The admin API reads
//! those totals: they lag the requests by up to one flush interval per
//! isolate, and counts of an isolate that is evicted before it flushes are
//! lost (they are counters for an operator, not a billing record).

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Upper bounds of the evaluation-time histogram's buckets, microseconds;
/// a last bucket takes everything slower.
pub const EVAL_BUCKETS_US: [u64; 14] = [
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 100_000,
];

/// Counters of one tenant. JSON: `{requests, errors: {CODE: n},
/// evalHistogram: [n per bucket of EVAL_BUCKETS_US, then slower]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantCounters {
    /// Requests answered for the tenant (its key named it), errors included.
    pub requests: u64,
    /// Error answers by `errorCode` (HTTP-level and OFREP single-flag codes).
    pub errors: BTreeMap<String, u64>,
    /// Evaluations per time bucket ([`EVAL_BUCKETS_US`] and one more).
    pub eval_histogram: Vec<u64>,
}

impl TenantCounters {
    /// Counts one answer: its error code if any, and its evaluation time in
    /// microseconds if it evaluated.
    pub fn record(&mut self, error_code: Option<&str>, eval_us: Option<u64>) {
        self.requests += 1;
        if let Some(code) = error_code {
            *self.errors.entry(code.to_owned()).or_default() += 1;
        }
        if let Some(us) = eval_us {
            let bucket = EVAL_BUCKETS_US
                .iter()
                .position(|&bound| us <= bound)
                .unwrap_or(EVAL_BUCKETS_US.len());
            if self.eval_histogram.len() <= EVAL_BUCKETS_US.len() {
                self.eval_histogram.resize(EVAL_BUCKETS_US.len() + 1, 0);
            }
            if let Some(n) = self.eval_histogram.get_mut(bucket) {
                *n += 1;
            }
        }
    }

    /// Adds another set of counts to these.
    pub fn merge(&mut self, other: &TenantCounters) {
        self.requests += other.requests;
        for (code, n) in &other.errors {
            *self.errors.entry(code.clone()).or_default() += n;
        }
        if self.eval_histogram.len() < other.eval_histogram.len() {
            self.eval_histogram.resize(other.eval_histogram.len(), 0);
        }
        for (mine, theirs) in self.eval_histogram.iter_mut().zip(&other.eval_histogram) {
            *mine += theirs;
        }
    }

    /// The evaluation time at quantile `q` (0 to 1), as the upper bound of
    /// the bucket it falls in, microseconds; `None` without evaluations or
    /// when it falls in the last, unbounded bucket.
    pub fn eval_quantile_us(&self, q: f64) -> Option<u64> {
        let total: u64 = self.eval_histogram.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (i, n) in self.eval_histogram.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return EVAL_BUCKETS_US.get(i).copied();
            }
        }
        None
    }

    /// The admin API's view: the counters plus `evalP50Us`, `evalP99Us` and
    /// the bucket bounds.
    pub fn report(&self, tenant: &str) -> serde_json::Value {
        serde_json::json!({
            "tenant": tenant,
            "requests": self.requests,
            "errors": self.errors,
            "evalP50Us": self.eval_quantile_us(0.5),
            "evalP99Us": self.eval_quantile_us(0.99),
            "evalBucketsUs": EVAL_BUCKETS_US,
            "evalHistogram": self.eval_histogram,
        })
    }
}

/// One isolate's counts not yet handed to the tenants' Durable Objects.
#[derive(Default)]
pub struct Metrics {
    pending: RefCell<BTreeMap<String, TenantCounters>>,
    last_flush_ms: RefCell<Option<f64>>,
}

impl Metrics {
    /// Counts one answer for `tenant` (see [`TenantCounters::record`]).
    pub fn record(&self, tenant: &str, error_code: Option<&str>, eval_us: Option<u64>) {
        self.pending
            .borrow_mut()
            .entry(tenant.to_owned())
            .or_default()
            .record(error_code, eval_us);
    }

    /// The pending counts, taken out, when `interval_ms` has passed since
    /// the last flush (the first call of an isolate only starts the clock,
    /// unless the interval is 0); else `None`.
    pub fn take_due(
        &self,
        now_ms: f64,
        interval_ms: u64,
    ) -> Option<BTreeMap<String, TenantCounters>> {
        let mut last = self.last_flush_ms.borrow_mut();
        let due = match *last {
            _ if interval_ms == 0 => true,
            None => {
                *last = Some(now_ms);
                false
            }
            Some(t) => now_ms - t >= interval_ms as f64,
        };
        if !due || self.pending.borrow().is_empty() {
            return None;
        }
        *last = Some(now_ms);
        Some(std::mem::take(&mut *self.pending.borrow_mut()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_errors_and_quantiles() {
        let mut c = TenantCounters::default();
        for _ in 0..98 {
            c.record(None, Some(3));
        }
        c.record(Some("FLAG_NOT_FOUND"), Some(150));
        c.record(Some("UNAUTHORIZED"), None);
        assert_eq!(c.requests, 100);
        assert_eq!(c.errors.get("FLAG_NOT_FOUND"), Some(&1));
        assert_eq!(c.eval_quantile_us(0.5), Some(5));
        assert_eq!(c.eval_quantile_us(0.99), Some(200));
        assert_eq!(TenantCounters::default().eval_quantile_us(0.5), None);
        let mut slow = TenantCounters::default();
        slow.record(None, Some(1_000_000));
        assert_eq!(slow.eval_quantile_us(0.5), None);
    }

    #[test]
    fn merge_adds_and_json_round_trips() {
        let mut a = TenantCounters::default();
        a.record(Some("GENERAL"), Some(1));
        let mut b = TenantCounters::default();
        b.record(Some("GENERAL"), Some(7));
        b.record(None, None);
        a.merge(&b);
        assert_eq!(a.requests, 3);
        assert_eq!(a.errors.get("GENERAL"), Some(&2));
        assert_eq!(a.eval_histogram.iter().sum::<u64>(), 2);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<TenantCounters>(&json).unwrap(), a);
        let report = a.report("shop");
        assert_eq!(report["evalP50Us"], 1);
        assert_eq!(report["evalP99Us"], 10);
    }

    #[test]
    fn flushes_at_most_once_per_interval() {
        let m = Metrics::default();
        m.record("shop", None, Some(1));
        assert_eq!(m.take_due(0.0, 1000), None);
        assert_eq!(m.take_due(999.0, 1000), None);
        let taken = m.take_due(1000.0, 1000).unwrap();
        assert_eq!(taken["shop"].requests, 1);
        assert_eq!(m.take_due(5000.0, 1000), None, "nothing pending");
        m.record("media", None, None);
        assert_eq!(m.take_due(5000.0, 0).unwrap()["media"].requests, 1);
    }
}
