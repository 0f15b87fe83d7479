//! Sticky assignments (Confidence's materializations): what each unit was
//! assigned, kept so that a unit keeps its variant when a republish changes
//! the weights, and so that a paused rule (`must match`) admits only the
//! units it already holds. Semantics: `docs/rules.md`; storage and its
//! consistency: `docs/confidence.md`.
//!
//! Storage: Durable Objects, each holding a range of units of one tenant.
//! A unit's range is [`shard_of`] (a hash of tenant and unit over
//! [`SHARDS`] ranges); the object is named `{tenant}/{range}` and keeps one
//! storage entry per unit, `u/{unit}` → the unit's [`UnitRecords`] as JSON.
//! A Durable Object runs one request at a time over strongly consistent
//! storage, so a write is seen by every later read of the same unit, from
//! any location, and two writes to one unit never interleave. Workers KV
//! would not do: its reads may serve a value up to a minute old in other
//! locations, so a unit resolving twice in quick succession after a
//! republish could be assigned twice.
//!
//! Reads happen before the resolve (one object per range involved, one
//! storage read per unit); writes happen after the answer is sent
//! (`waitUntil`). A store that fails degrades that resolve to one without
//! stickiness: logged, never an error for the client.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
pub use vane_resolver::assign::{Materializations, StickyWrite as Write, StoredAssignments};
use vane_resolver::snapshot::sha256;

/// Number of unit ranges (Durable Objects) per tenant. Part of the storage
/// layout: changing it moves units to other objects, which lose their
/// sticky assignments.
pub const SHARDS: u32 = 64;

/// Longest unit kept, in bytes (Durable Object storage keys are limited to
/// 2,048 bytes; the resolver's units are at most 100). Longer units are
/// resolved without stickiness.
pub const MAX_UNIT_BYTES: usize = 1024;

/// A unit's records, by materialization name.
pub type UnitRecords = BTreeMap<String, StoredAssignments>;

/// The range (0..[`SHARDS`]) holding `unit` of `tenant`: the first four
/// bytes of sha256(`tenant` ‖ 0 ‖ `unit`), big-endian, modulo [`SHARDS`].
pub fn shard_of(tenant: &str, unit: &str) -> u32 {
    let digest = sha256(&[tenant.as_bytes(), &[0], unit.as_bytes()].concat());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % SHARDS
}

/// The name of the Durable Object holding range `shard` of `tenant`.
pub fn object_name(tenant: &str, shard: u32) -> String {
    format!("{tenant}/{shard:02}")
}

/// The storage key of a unit inside its object.
pub fn storage_key(unit: &str) -> String {
    format!("u/{unit}")
}

/// Groups `units` by the object holding them: object name → units, each
/// unit once, units over [`MAX_UNIT_BYTES`] left out.
pub fn by_object<'a>(
    tenant: &str,
    units: impl IntoIterator<Item = &'a str>,
) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for unit in units {
        if unit.len() > MAX_UNIT_BYTES {
            continue;
        }
        let units = out
            .entry(object_name(tenant, shard_of(tenant, unit)))
            .or_default();
        if !units.iter().any(|u| u == unit) {
            units.push(unit.to_owned());
        }
    }
    out
}

/// Groups writes by the object holding their unit (see [`by_object`]).
pub fn writes_by_object(tenant: &str, writes: Vec<Write>) -> BTreeMap<String, Vec<Write>> {
    let mut out: BTreeMap<String, Vec<Write>> = BTreeMap::new();
    for w in writes
        .into_iter()
        .filter(|w| w.unit.len() <= MAX_UNIT_BYTES)
    {
        out.entry(object_name(tenant, shard_of(tenant, &w.unit)))
            .or_default()
            .push(w);
    }
    out
}

/// Applies `writes` of one unit to its records: the unit is in each
/// written materialization, and the rule's variant is recorded (a later
/// write of the same rule replaces it: the resolver writes only when the
/// stored assignment is missing or unusable). True when anything changed.
pub fn merge(records: &mut UnitRecords, writes: &[&Write]) -> bool {
    let before = records.clone();
    for w in writes {
        let record = records.entry(w.materialization.clone()).or_default();
        record.is_unit_in_materialization = true;
        record
            .rule_to_variant
            .insert(w.rule.clone(), w.variant.clone());
    }
    *records != before
}

/// The sticky store as the Confidence pipeline sees it: one Durable Object
/// per unit range, addressed by [`object_name`]. The runtime implements it
/// over Durable Object stubs; tests over memory.
#[allow(async_fn_in_trait)] // one thread per isolate: futures need not be Send
pub trait StickyStore {
    /// The records of `units` (all in range `object`); units without any
    /// are absent from the answer.
    ///
    /// Errors: the store's message (the caller resolves without
    /// stickiness and logs it).
    async fn read(&self, object: &str, units: &[String]) -> Result<Materializations, String>;

    /// Stores `writes` (units all in range `object`), merged into what
    /// each unit has ([`merge`]).
    ///
    /// Errors: the store's message (logged; the assignment is not kept).
    async fn write(&self, object: &str, writes: &[Write]) -> Result<(), String>;

    /// Replaces the records of `units` (all in range `object`); a unit with
    /// no records is deleted.
    ///
    /// Errors: the store's message.
    async fn replace(&self, object: &str, units: &Materializations) -> Result<(), String>;
}

/// Replaces the records of the units `units` names (seeding and
/// operators' fixes), one request per range; returns how many units.
///
/// Errors: the message of the first range that failed (earlier ranges
/// are replaced).
pub async fn replace_units<S: StickyStore>(
    store: &S,
    tenant: &str,
    units: &Materializations,
) -> Result<usize, String> {
    let mut replaced = 0;
    for (object, names) in by_object(tenant, units.0.keys().map(String::as_str)) {
        let part = Materializations(
            names
                .iter()
                .filter_map(|u| units.0.get(u).map(|r| (u.clone(), r.clone())))
                .collect(),
        );
        store.replace(&object, &part).await?;
        replaced += part.0.len();
    }
    Ok(replaced)
}

/// Reads the records of `units` of `tenant`, one request per range
/// involved. A range that fails to answer is left out and its message
/// returned with the rest, so the resolve goes on without those units'
/// stickiness.
pub async fn read_units<'a, S: StickyStore>(
    store: &S,
    tenant: &str,
    units: impl IntoIterator<Item = &'a str>,
) -> (Materializations, Vec<String>) {
    let mut found = Materializations::default();
    let mut problems = Vec::new();
    for (object, units) in by_object(tenant, units) {
        match store.read(&object, &units).await {
            Ok(records) => found.0.extend(records.0),
            Err(e) => problems.push(format!(
                "sticky assignments of {} unit(s) in {object} unreadable, resolved without them: {e}",
                units.len()
            )),
        }
    }
    (found, problems)
}

/// Writes `writes` of `tenant`, one request per range involved; returns
/// the message of each range that failed.
pub async fn write_units<S: StickyStore>(
    store: &S,
    tenant: &str,
    writes: Vec<Write>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (object, writes) in writes_by_object(tenant, writes) {
        if let Err(e) = store.write(&object, &writes).await {
            problems.push(format!(
                "{} sticky assignment(s) in {object} not written: {e}",
                writes.len()
            ));
        }
    }
    problems
}

/// The body of a read request to an object: the units to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadRequest {
    /// Units of this object's range.
    pub units: Vec<String>,
}

/// The body of a write request to an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteRequest {
    /// New assignments of units of this object's range.
    pub writes: Vec<Write>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(unit: &str, mat: &str, rule: &str, variant: &str) -> Write {
        Write {
            unit: unit.into(),
            materialization: mat.into(),
            rule: rule.into(),
            variant: variant.into(),
        }
    }

    #[test]
    fn units_spread_over_the_ranges_of_their_tenant() {
        let mut counts = vec![0u32; SHARDS as usize];
        for i in 0..6_400 {
            counts[shard_of("demo", &format!("user-{i}")) as usize] += 1;
        }
        // 100 expected per range; a fair hash stays well within 50..150.
        assert!(counts.iter().all(|&c| (50..150).contains(&c)), "{counts:?}");
        // The tenant takes part: the same unit of two tenants lands apart
        // for most units.
        let apart = (0..100)
            .filter(|i| shard_of("a", &format!("u{i}")) != shard_of("b", &format!("u{i}")))
            .count();
        assert!(apart > 90, "{apart}");
        assert_eq!(object_name("demo", 7), "demo/07");
        assert_eq!(storage_key("user1"), "u/user1");
    }

    #[test]
    fn units_are_grouped_by_object_once_each_and_long_units_left_out() {
        let long = "x".repeat(MAX_UNIT_BYTES + 1);
        let groups = by_object("demo", ["user1", "user2", "user1", long.as_str()]);
        let all: Vec<&String> = groups.values().flatten().collect();
        assert_eq!(all.len(), 2);
        assert!(groups[&object_name("demo", shard_of("demo", "user1"))].contains(&"user1".into()));
        let writes = writes_by_object(
            "demo",
            vec![write("user1", "m", "r", "v"), write(&long, "m", "r", "v")],
        );
        assert_eq!(writes.values().flatten().count(), 1);
    }

    #[test]
    fn merging_records_the_unit_and_the_rules_variant() {
        let mut records = UnitRecords::new();
        let w1 = write(
            "user1",
            "materializations/mat1",
            "flags/f/rules/r1",
            "treatment",
        );
        assert!(merge(&mut records, &[&w1]));
        assert!(!merge(&mut records, &[&w1]));
        let w2 = write("user1", "materializations/mat1", "flags/g/rules/r1", "on");
        assert!(merge(&mut records, &[&w2]));
        let json = serde_json::to_value(&records).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"materializations/mat1": {
                "isUnitInMaterialization": true,
                "ruleToVariant": {"flags/f/rules/r1": "treatment", "flags/g/rules/r1": "on"}}})
        );
        // The resolver spec's shape reads back.
        let spec: UnitRecords = serde_json::from_value(
            serde_json::json!({"materializations/mat-seg": {"isUnitInMaterialization": false, "ruleToVariant": {}}}),
        )
        .unwrap();
        assert!(!spec["materializations/mat-seg"].is_unit_in_materialization);
    }
}
