//! The test-only fault switch, `VANE_TEST_FAULTS` (set by `scripts/e2e.sh`
//! and `scripts/hardening.sh`; never in `wrangler.toml`, and
//! `scripts/deploy-check.sh` refuses a configuration that sets it).
//!
//! The value is a comma-separated list of switches:
//!
//! | switch | effect |
//! |---|---|
//! | `1` | the test-only admin routes exist (the exposure log's R2 fault, `docs/exposures.md`; the wasm trap, `docs/http-api.md`) |
//! | `kv_read=N` | every N-th KV read of an isolate fails |
//! | `kv_write=N` | every N-th KV write of an isolate fails |
//! | `do_storage=N` | every N-th Durable Object storage call of a tenant's publisher (the authoritative pointer read and write, the key registry claim) fails |
//!
//! Any valid non-empty value also turns on the test routes; an invalid one
//! turns everything off (and is logged), so a typo cannot leave a worker
//! half-armed. An injected failure is an ordinary [`StoreError`] whose
//! message starts with [`INJECTED`], so the worker handles it exactly as a
//! real storage failure; `scripts/hardening.sh` counts them in the log
//! (`docs/hardening.md`).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::store::StoreError;

/// Name of the variable.
pub const VARIABLE: &str = "VANE_TEST_FAULTS";

/// Start of the message of every injected failure (and of its log line).
pub const INJECTED: &str = "vane test fault: injected";

/// A kind of storage operation faults can be injected into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// A KV `get`.
    KvRead,
    /// A KV `put`.
    KvWrite,
    /// A Durable Object storage call (publisher pointer, key registry claim).
    DoStorage,
}

impl Op {
    const ALL: [Op; 3] = [Op::KvRead, Op::KvWrite, Op::DoStorage];

    /// The switch's name in `VANE_TEST_FAULTS`.
    pub fn name(self) -> &'static str {
        match self {
            Op::KvRead => "kv_read",
            Op::KvWrite => "kv_write",
            Op::DoStorage => "do_storage",
        }
    }

    fn slot(self) -> usize {
        match self {
            Op::KvRead => 0,
            Op::KvWrite => 1,
            Op::DoStorage => 2,
        }
    }
}

/// The parsed switch. The default (variable unset) is all off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// The test-only admin routes exist.
    pub routes: bool,
    /// For each [`Op`] (in `Op::ALL` order), fail every n-th call; 0: never.
    every: [u64; 3],
}

/// Calls of each [`Op`] so far in this isolate.
static CALLS: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];

impl Faults {
    /// Parses the variable's value; `None` (unset) is all off.
    ///
    /// Errors: an unknown switch or a period that is not a whole number ≥ 1,
    /// naming it.
    pub fn parse(value: Option<&str>) -> Result<Faults, String> {
        let mut faults = Faults::default();
        let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(faults);
        };
        for switch in value.split(',').map(str::trim) {
            if switch == "1" {
                faults.routes = true;
                continue;
            }
            let (name, every) = switch
                .split_once('=')
                .ok_or_else(|| format!("{VARIABLE}: unknown switch {switch:?}"))?;
            let op = Op::ALL
                .into_iter()
                .find(|op| op.name() == name)
                .ok_or_else(|| format!("{VARIABLE}: unknown switch {name:?}"))?;
            let every = every
                .parse::<u64>()
                .ok()
                .filter(|&n| n >= 1)
                .ok_or_else(|| {
                    format!("{VARIABLE}: {name} needs a whole number ≥ 1, not {every:?}")
                })?;
            if let Some(slot) = faults.every.get_mut(op.slot()) {
                *slot = every;
            }
        }
        faults.routes = true;
        Ok(faults)
    }

    /// Counts one call of `op` and fails it when it is an n-th one: the
    /// failure's message names the operation, `what` (a KV key, a storage
    /// key) and how many of its kind were injected in this isolate.
    pub fn check(&self, op: Op, what: &str) -> Result<(), StoreError> {
        let every = self.every.get(op.slot()).copied().unwrap_or(0);
        if every == 0 {
            return Ok(());
        }
        let Some(calls) = CALLS.get(op.slot()) else {
            return Ok(());
        };
        let n = calls.fetch_add(1, Ordering::Relaxed) + 1;
        if n % every == 0 {
            Err(StoreError(format!(
                "{INJECTED} {} failure #{} ({what})",
                op.name(),
                n / every
            )))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_and_empty_are_off() {
        assert_eq!(Faults::parse(None), Ok(Faults::default()));
        assert_eq!(Faults::parse(Some(" ")), Ok(Faults::default()));
        assert!(Faults::default().check(Op::KvRead, "k").is_ok());
    }

    #[test]
    fn one_turns_on_the_routes_only() {
        let f = Faults::parse(Some("1")).unwrap();
        assert!(f.routes);
        assert_eq!(f.every, [0, 0, 0]);
    }

    #[test]
    fn periods_parse_and_imply_the_routes() {
        let f = Faults::parse(Some("kv_read=7, kv_write=5,do_storage=6")).unwrap();
        assert!(f.routes);
        assert_eq!(f.every, [7, 5, 6]);
    }

    #[test]
    fn bad_values_are_refused_by_name() {
        for (value, names) in [
            ("2", "\"2\""),
            ("kv_raed=3", "\"kv_raed\""),
            ("kv_read=0", "kv_read needs a whole number"),
            ("kv_read=x", "not \"x\""),
            ("1,kv_write", "\"kv_write\""),
        ] {
            let e = Faults::parse(Some(value)).unwrap_err();
            assert!(e.contains(names), "{value}: {e}");
        }
    }

    #[test]
    fn every_nth_call_fails_and_is_numbered() {
        // Only this test uses do_storage, so its calls are counted from 0.
        let f = Faults::parse(Some("do_storage=3")).unwrap();
        let failed: Vec<usize> = (1..=9)
            .filter(|_| f.check(Op::DoStorage, "pointer").is_err())
            .collect();
        assert_eq!(failed, [3, 6, 9]);
        let e = Faults {
            every: [0, 0, 1],
            ..f
        }
        .check(Op::DoStorage, "pointer")
        .unwrap_err();
        assert!(
            e.0.starts_with("vane test fault: injected do_storage failure #10 (pointer)"),
            "{}",
            e.0
        );
    }
}
