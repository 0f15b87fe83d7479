//! Reading exposures back: the summary of `GET
//! /admin/v1/tenants/{t}/exposures` (`docs/exposures.md`, "Reading it
//! back"). Events are counted once each, by `event_id`, wherever they were
//! stored; they are grouped into experiments — one flag, snapshot version
//! and serving rule (see [`experiment_of`]) — and each experiment gets
//! per-variant counts,
//! its expected shares (from the weights on the events) and a
//! sample-ratio-mismatch check over unique units.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::event::{Event, Source};
use super::srm::{srm, Srm};

/// The per-tenant counters of the pipeline (`docs/exposures.md`,
/// "Counters"). All are event counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counters {
    /// Events the worker handed to the queue.
    pub accepted: u64,
    /// Events the consumer wrote to R2.
    pub written: u64,
    /// Copies the consumer dropped as duplicates within a batch.
    pub deduplicated: u64,
    /// Events the worker could not hand to the queue (full or failing).
    pub dropped: u64,
    /// Events of messages that exhausted their retries and reached the
    /// dead-letter queue.
    pub dead_lettered: u64,
}

impl Counters {
    /// Adds `other` to these counters.
    pub fn add(&mut self, other: &Counters) {
        self.accepted += other.accepted;
        self.written += other.written;
        self.deduplicated += other.deduplicated;
        self.dropped += other.dropped;
        self.dead_lettered += other.dead_lettered;
    }
}

/// Which events to summarise.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only this flag.
    pub flag: Option<String>,
    /// Only events exposed at or after this time (Unix ms).
    pub from_ms: Option<u64>,
    /// Only events exposed before this time (Unix ms).
    pub to_ms: Option<u64>,
}

impl Filter {
    /// The filter of the summary's query parameters (already
    /// percent-decoded): `from` and `to` are `YYYY-MM-DD` or RFC 3339 UTC
    /// (`2026-12-01T09:00:00Z`, optionally with milliseconds).
    ///
    /// Errors: which parameter is not such a time, or `from` not before `to`.
    pub fn parse(
        flag: Option<String>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Filter, String> {
        let time = |name: &str, v: Option<&str>| -> Result<Option<u64>, String> {
            v.map(|text| {
                super::time::parse_unix_ms(text).ok_or_else(|| {
                    format!(
                        "{name}={text:?} is not a UTC time: use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.mmm]Z"
                    )
                })
            })
            .transpose()
        };
        let (from_ms, to_ms) = (time("from", from)?, time("to", to)?);
        if let (Some(f), Some(t)) = (from_ms, to_ms) {
            if f >= t {
                return Err(format!(
                    "from ({}) must be before to ({})",
                    from.unwrap_or(""),
                    to.unwrap_or("")
                ));
            }
        }
        Ok(Filter {
            flag,
            from_ms,
            to_ms,
        })
    }

    /// False when no event of an object in this date and hour partition
    /// can be admitted (the partition is the hour of `exposed_at`).
    pub fn admits_partition(&self, date: &str, hour: &str) -> bool {
        let Some(start) = super::time::parse_unix_ms(&format!("{date}T{hour}:00:00Z")) else {
            return true;
        };
        self.from_ms.is_none_or(|from| start + 3_600_000 > from)
            && self.to_ms.is_none_or(|to| start < to)
    }

    fn admits(&self, event: &Event) -> bool {
        if self.flag.as_deref().is_some_and(|f| f != event.flag) {
            return false;
        }
        let at = super::time::parse_unix_ms(&event.exposed_at).unwrap_or(0);
        self.from_ms.is_none_or(|from| at >= from) && self.to_ms.is_none_or(|to| at < to)
    }
}

/// One variant of an experiment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantSummary {
    /// Variant name.
    pub variant: String,
    /// Its weight as served (0 when it is not in the weights).
    pub weight: u64,
    /// `weight / sum of weights`.
    pub expected_share: f64,
    /// Distinct events.
    pub events: u64,
    /// Distinct units.
    pub units: u64,
    /// `units / units of all variants` (0 when there are none).
    pub observed_share: f64,
}

/// One experiment: a flag's serving assignment in one snapshot version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Experiment {
    /// Flag key.
    pub flag: String,
    /// Snapshot version.
    pub snapshot_version: u64,
    /// The serving rule or assignment.
    pub assignment: String,
    /// Distinct events.
    pub events: u64,
    /// Distinct units.
    pub units: u64,
    /// Every weighted variant (in the order of the weights), then any
    /// variant exposed without weight.
    pub variants: Vec<VariantSummary>,
    /// The sample-ratio check over units; `None` with fewer than two
    /// weighted variants or no units.
    pub srm: Option<Srm>,
    /// Units exposed to more than one variant.
    pub units_in_several_variants: u64,
    /// Events of variants whose weight is 0.
    pub zero_weight_exposures: u64,
}

/// The summary answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Tenant.
    pub tenant: String,
    /// Distinct events summarised.
    pub events: u64,
    /// R2 objects read.
    pub objects: u64,
    /// Their total size, bytes (gzipped).
    pub stored_bytes: u64,
    /// Experiments, by flag, snapshot version, assignment.
    pub experiments: Vec<Experiment>,
    /// The pipeline's counters for the tenant.
    pub counters: Counters,
}

#[derive(Default)]
struct Tally {
    weights: Vec<(String, u64)>,
    /// variant → (events, units)
    variants: BTreeMap<String, (u64, HashSet<String>)>,
    unit_variants: HashMap<String, BTreeSet<String>>,
    events: u64,
}

/// Summarises the events of `tenant` that `filter` admits, each distinct
/// `event_id` once. `objects` and `stored_bytes` are left 0 for the caller
/// that read the objects.
pub fn summarize(
    tenant: &str,
    events: impl IntoIterator<Item = Event>,
    filter: &Filter,
    counters: Counters,
) -> Summary {
    let mut seen: HashSet<String> = HashSet::new();
    let mut tallies: BTreeMap<(String, u64, String), Tally> = BTreeMap::new();
    for event in events {
        if event.tenant != tenant || !filter.admits(&event) || seen.contains(&event.event_id) {
            continue;
        }
        let experiment = experiment_of(&event).to_owned();
        seen.insert(event.event_id);
        let tally = tallies
            .entry((event.flag, event.snapshot_version, experiment))
            .or_default();
        if tally.weights.is_empty() {
            tally.weights = event
                .weights
                .into_iter()
                .map(|w| (w.variant, w.weight))
                .collect();
        }
        tally.events += 1;
        let entry = tally.variants.entry(event.variant.clone()).or_default();
        entry.0 += 1;
        entry.1.insert(event.unit.clone());
        tally
            .unit_variants
            .entry(event.unit)
            .or_default()
            .insert(event.variant);
    }
    let experiments: Vec<Experiment> = tallies
        .into_iter()
        .map(|((flag, snapshot_version, assignment), t)| {
            experiment(flag, snapshot_version, assignment, t)
        })
        .collect();
    Summary {
        tenant: tenant.to_owned(),
        events: seen.len() as u64,
        objects: 0,
        stored_bytes: 0,
        experiments,
        counters,
    }
}

/// The experiment an event belongs to, within its flag and snapshot
/// version: its `assignment`, except for a Confidence event that is not a
/// fall-through, whose `assignment` is `{rule}:{assignment id}` — one per
/// variant of the rule's allocation — and whose experiment is the rule
/// (Confidence resource names, `flags/F/rules/R`, hold no `:`), so that the
/// rule's variants are compared with each other against the weights every
/// such event carries (all the rule's variants). A fall-through event
/// carries only its own assignment's buckets and stays on its own.
fn experiment_of(event: &Event) -> &str {
    match event.source {
        Source::ConfidenceApply | Source::ConfidenceResolve if !event.fallthrough => event
            .assignment
            .split_once(':')
            .map_or(event.assignment.as_str(), |(rule, _)| rule),
        _ => &event.assignment,
    }
}

fn experiment(flag: String, snapshot_version: u64, assignment: String, mut t: Tally) -> Experiment {
    let total_weight: u64 = t.weights.iter().map(|w| w.1).sum();
    let mut order: Vec<(String, u64)> = t.weights.clone();
    for name in t.variants.keys() {
        if !order.iter().any(|(v, _)| v == name) {
            order.push((name.clone(), 0));
        }
    }
    let units = t.unit_variants.len() as u64;
    let unit_counts: Vec<u64> = order
        .iter()
        .map(|(v, _)| t.variants.get(v).map_or(0, |e| e.1.len() as u64))
        .collect();
    let all_units: u64 = unit_counts.iter().sum();
    let variants: Vec<VariantSummary> = order
        .iter()
        .zip(&unit_counts)
        .map(|((variant, weight), &u)| VariantSummary {
            variant: variant.clone(),
            weight: *weight,
            expected_share: share(*weight, total_weight),
            events: t.variants.remove(variant).map_or(0, |e| e.0),
            units: u,
            observed_share: share(u, all_units),
        })
        .collect();
    let weights: Vec<u64> = order.iter().map(|w| w.1).collect();
    Experiment {
        flag,
        snapshot_version,
        assignment,
        events: t.events,
        units,
        srm: srm(&unit_counts, &weights),
        units_in_several_variants: t.unit_variants.values().filter(|v| v.len() > 1).count() as u64,
        zero_weight_exposures: variants
            .iter()
            .filter(|v| v.weight == 0)
            .map(|v| v.events)
            .sum(),
        variants,
    }
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposure::event::tests::{meta, served};
    use crate::exposure::event::{events, Served, Weight};

    fn exposure(unit: &str, variant: &str, resolve: &str) -> Event {
        events(&meta(resolve), [served(unit, variant)]).remove(0)
    }

    #[test]
    fn a_confidence_rule_is_one_experiment_over_its_assignments() {
        let mut meta = meta("r");
        meta.source = Source::ConfidenceApply;
        let confidence = |unit: &str, variant: &str, fallthrough: bool| {
            let mut s = served(unit, variant);
            s.flag = "search".into();
            s.assignment = format!("flags/search/rules/r1:{variant}-id");
            s.weights = vec![
                Weight {
                    variant: "control".into(),
                    weight: 500,
                },
                Weight {
                    variant: "treatment".into(),
                    weight: 500,
                },
            ];
            s.fallthrough = fallthrough;
            s
        };
        // 600 units in control, 400 in treatment: a mismatch against 50/50.
        let served: Vec<Served> = (0..1000)
            .map(|i| {
                confidence(
                    &format!("u{i}"),
                    if i < 600 { "control" } else { "treatment" },
                    false,
                )
            })
            .chain([confidence("u-fell", "treatment", true)])
            .collect();
        let s = summarize(
            "shop",
            events(&meta, served),
            &Filter::default(),
            Counters::default(),
        );
        assert_eq!(s.experiments.len(), 2);
        let rule = &s.experiments[0];
        assert_eq!(rule.assignment, "flags/search/rules/r1");
        assert_eq!(rule.units, 1000);
        let units: Vec<u64> = rule.variants.iter().map(|v| v.units).collect();
        assert_eq!(units, [600, 400]);
        assert!(rule.srm.as_ref().is_some_and(|m| m.mismatch));
        assert_eq!(
            s.experiments[1].assignment,
            "flags/search/rules/r1:treatment-id"
        );
        assert_eq!(s.experiments[1].units, 1);
    }

    #[test]
    fn counts_distinct_events_units_and_shares() {
        let mut all = Vec::new();
        for i in 0..60 {
            all.push(exposure(&format!("u{i}"), "classic", &format!("r{i}")));
        }
        for i in 60..100 {
            all.push(exposure(&format!("u{i}"), "one-page", &format!("r{i}")));
        }
        // A second request of u0 (a new event, same unit), a duplicate
        // delivery (same event), and u1 also seen in the other variant.
        all.push(exposure("u0", "classic", "again"));
        all.push(all[5].clone());
        all.push(exposure("u1", "one-page", "flip"));
        let s = summarize("shop", all, &Filter::default(), Counters::default());
        assert_eq!(s.events, 102);
        assert_eq!(s.experiments.len(), 1);
        let e = &s.experiments[0];
        assert_eq!(
            (e.flag.as_str(), e.snapshot_version, e.assignment.as_str()),
            ("checkout-flow", 7, "rules[1]")
        );
        assert_eq!(e.events, 102);
        assert_eq!(e.units, 100);
        assert_eq!(e.units_in_several_variants, 1);
        assert_eq!(e.zero_weight_exposures, 0);
        let classic = &e.variants[0];
        assert_eq!(
            (
                classic.variant.as_str(),
                classic.weight,
                classic.events,
                classic.units
            ),
            ("classic", 50, 61, 60)
        );
        assert_eq!(classic.expected_share, 0.5);
        let one_page = &e.variants[1];
        assert_eq!((one_page.events, one_page.units), (41, 41));
        assert!((one_page.observed_share - 41.0 / 101.0).abs() < 1e-12);
        // 60 vs 41 units at 50/50: chi-square (60-50.5)²/50.5·2 = 3.574…, p ≈ 0.059.
        let srm = e.srm.unwrap();
        assert!((srm.chi_square - 2.0 * 9.5f64.powi(2) / 50.5).abs() < 1e-9);
        assert!(!srm.mismatch);
    }

    #[test]
    fn zero_weight_variants_filters_and_tenants() {
        let mut with_zero = served("u9", "legacy");
        with_zero.weights.push(Weight {
            variant: "legacy".into(),
            weight: 0,
        });
        let mut all = events(&meta("z"), [with_zero]);
        let mut unweighted = served("u8", "ghost");
        unweighted.weights = vec![
            Weight {
                variant: "classic".into(),
                weight: 1,
            },
            Weight {
                variant: "one-page".into(),
                weight: 1,
            },
        ];
        all.extend(events(&meta("y"), [unweighted]));
        let mut other_flag = served("u7", "classic");
        other_flag.flag = "new-search".into();
        all.extend(events(&meta("x"), [other_flag]));
        let mut other_tenant = meta("w");
        other_tenant.tenant = "media".into();
        all.extend(events(&other_tenant, [served("u6", "classic")]));

        let s = summarize("shop", all.clone(), &Filter::default(), Counters::default());
        assert_eq!(s.events, 3);
        let checkout = &s.experiments[0];
        assert_eq!(checkout.zero_weight_exposures, 2);
        let names: Vec<&str> = checkout
            .variants
            .iter()
            .map(|v| v.variant.as_str())
            .collect();
        assert_eq!(names, ["classic", "one-page", "legacy", "ghost"]);

        let only = Filter {
            flag: Some("new-search".into()),
            ..Filter::default()
        };
        let s = summarize("shop", all.clone(), &only, Counters::default());
        assert_eq!(s.experiments.len(), 1);
        assert_eq!(s.experiments[0].flag, "new-search");

        // Every test event is exposed at 2026-12-01T09:30:00.123Z.
        let at = 1_796_117_400_123;
        let window = |from, to| Filter {
            flag: None,
            from_ms: Some(from),
            to_ms: Some(to),
        };
        assert_eq!(
            summarize(
                "shop",
                all.clone(),
                &window(at, at + 1),
                Counters::default()
            )
            .events,
            3
        );
        assert_eq!(
            summarize("shop", all, &window(at + 1, at + 2), Counters::default()).events,
            0
        );
    }

    #[test]
    fn query_filters() {
        let f = Filter::parse(
            Some("f".into()),
            Some("2026-12-01"),
            Some("2026-12-01T10:00:00Z"),
        )
        .unwrap();
        assert_eq!(f.from_ms, Some(1_796_083_200_000));
        assert_eq!(f.to_ms, Some(1_796_119_200_000));
        assert!(f.admits_partition("2026-12-01", "09"));
        assert!(!f.admits_partition("2026-12-01", "10"));
        assert!(!f.admits_partition("2026-11-30", "23"));
        assert_eq!(
            Filter::parse(None, Some("today"), None).unwrap_err(),
            "from=\"today\" is not a UTC time: use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.mmm]Z"
        );
        assert!(Filter::parse(None, Some("2026-12-02"), Some("2026-12-01")).is_err());
        assert!(Filter::default().admits_partition("2026-12-01", "09"));
    }
}
