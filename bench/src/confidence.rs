//! Generated Confidence resolver states and contexts, for the differential
//! test and the benchmark against Spotify's own resolver
//! (`confidence_resolver` on crates.io).
//!
//! A state is written in its proto3-JSON form (`flags` as a list,
//! `segmentsNoBitsets`, `bitsets` with gzipped allocations, `clients`,
//! `clientCredentials`): segments whose targeting uses every attribute rule
//! (eq, set, range over numbers, versions and timestamps, startsWith,
//! endsWith, contains, any, all, segment references, and/or/not) and whose
//! allocations are random bitsets, and flags whose rules split their buckets
//! over variants with fall-through and client-default slices and gaps.
//!
//! Left out, because the two resolvers are documented to differ there
//! (`docs/rules.md`, "Confidence targeting"): empty `eqRule` values, ranges
//! without bounds, and `all` over a missing attribute (contexts always carry
//! `scores`). Values that do not convert are generated; Spotify's Rust
//! resolver fails the whole resolve on them, which the test counts apart.

use std::io::Write as _;

use serde_json::{json, Value};

use crate::rng::Rng;

/// The account of generated states.
pub const ACCOUNT: &str = "bench-account";
/// The client secret of generated states.
pub const SECRET: &str = "bench-secret-0123456789";

const COUNTRIES: [&str; 6] = ["SE", "DE", "US", "GB", "NO", "FR"];
const TAGS: [&str; 5] = ["vip", "beta", "staff", "new", "churned"];

/// A state with `flags` flags and `flags / 2 + 2` segments.
pub fn state(seed: u64, flags: usize) -> Value {
    let mut rng = Rng::new(seed);
    let segments = flags / 2 + 2;
    let mut segs = Vec::new();
    let mut bitsets = Vec::new();
    for i in 0..segments {
        let name = format!("segments/s{i}");
        segs.push(json!({"name": name, "state": "OK", "targeting": targeting(&mut rng, i)}));
        bitsets.push(if rng.chance(40) {
            json!({"segment": name, "fullBitset": true})
        } else {
            json!({"segment": name, "gzippedBitset": allocation(&mut rng)})
        });
    }
    let flag_list: Vec<Value> = (0..flags).map(|i| flag(&mut rng, i, segments)).collect();
    json!({
        "flags": flag_list,
        "segmentsNoBitsets": segs,
        "bitsets": bitsets,
        "clients": [{"name": "clients/bench"}],
        "clientCredentials": [{
            "name": "clients/bench/clientCredentials/c1",
            "clientSecret": {"secret": SECRET}
        }],
    })
}

/// A random allocation of 1,000,000 buckets (20 %-90 % of them), gzipped
/// and base64-encoded as proto3 JSON writes bytes.
fn allocation(rng: &mut Rng) -> String {
    use base64::Engine as _;
    let share = rng.range(20, 90);
    let mut bits = vec![0u8; 125_000];
    for (i, byte) in bits.iter_mut().enumerate() {
        for b in 0..8 {
            if i * 8 + b < 1_000_000 && rng.chance(share) {
                *byte |= 1 << b;
            }
        }
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&bits).expect("gzip to memory");
    base64::engine::general_purpose::STANDARD.encode(gz.finish().expect("gzip to memory"))
}

fn number(n: f64) -> Value {
    json!({"numberValue": n})
}

/// One criterion of every kind in turn (`i` picks), random operands.
fn criterion(rng: &mut Rng, i: u64, segment: usize) -> Value {
    let country = *rng.pick(&COUNTRIES);
    let attr = |name: &str, rule: &str, body: Value| json!({"attribute": {"attributeName": name, rule: body}});
    match i % 12 {
        0 => attr(
            "country",
            "eqRule",
            json!({"value": {"stringValue": country}}),
        ),
        1 => {
            let a = *rng.pick(&COUNTRIES);
            attr(
                "country",
                "setRule",
                json!({"values": [{"stringValue": country}, {"stringValue": a}]}),
            )
        }
        2 => attr(
            "age",
            "rangeRule",
            json!({"startInclusive": number(rng.range(10, 40) as f64), "endExclusive": number(rng.range(41, 90) as f64)}),
        ),
        3 => attr(
            "email",
            "startsWithRule",
            json!({"value": *rng.pick(&["admin", "ana", "bob"])}),
        ),
        4 => attr(
            "email",
            "endsWithRule",
            json!({"value": *rng.pick(&[".com", ".se", "example.org"])}),
        ),
        5 => attr(
            "email",
            "containsRule",
            json!({"value": *rng.pick(&["shop", "@", "corp"])}),
        ),
        6 => attr(
            "tags",
            "anyRule",
            json!({"rule": {"eqRule": {"value": {"stringValue": *rng.pick(&TAGS)}}}}),
        ),
        7 => attr(
            "scores",
            "allRule",
            json!({"rule": {"rangeRule": {"startInclusive": number(0.0), "endInclusive": number(rng.range(50, 100) as f64)}}}),
        ),
        8 => attr(
            "version",
            "rangeRule",
            json!({"startInclusive": {"versionValue": {"version": format!("{}.{}.0", rng.range(1, 3), rng.range(0, 9))}}}),
        ),
        9 => attr(
            "created",
            "rangeRule",
            json!({"startExclusive": {"timestampValue": format!("2024-{:02}-01T00:00:00Z", rng.range(1, 12))}}),
        ),
        10 => attr(
            "premium",
            "eqRule",
            json!({"value": {"boolValue": rng.chance(50)}}),
        ),
        _ if segment > 0 => {
            json!({"segment": {"segment": format!("segments/s{}", rng.below(segment as u64))}})
        }
        _ => attr("age", "rangeRule", json!({"endInclusive": number(30.0)})),
    }
}

fn targeting(rng: &mut Rng, segment: usize) -> Value {
    if rng.chance(15) {
        return json!({});
    }
    let n = rng.range(1, 3);
    let mut criteria = serde_json::Map::new();
    let mut refs = Vec::new();
    for k in 0..n {
        let key = format!("c{k}");
        let kind = rng.below(12);
        criteria.insert(key.clone(), criterion(rng, kind, segment));
        let r = json!({"ref": key});
        refs.push(if rng.chance(20) { json!({"not": r}) } else { r });
    }
    let expression = if refs.len() == 1 {
        refs.pop().expect("one")
    } else if rng.chance(50) {
        json!({"and": {"operands": refs}})
    } else {
        json!({"or": {"operands": refs}})
    };
    json!({"criteria": criteria, "expression": expression})
}

fn flag(rng: &mut Rng, i: usize, segments: usize) -> Value {
    let name = format!("flags/f{i}");
    let variants: Vec<Value> = (0..rng.range(2, 4))
        .map(|v| json!({"name": format!("{name}/variants/v{v}"), "value": {"n": v, "label": format!("v{v}")}}))
        .collect();
    let rules: Vec<Value> = (0..rng.range(1, 3))
        .map(|r| rule(rng, &name, r, segments, variants.len() as u64))
        .collect();
    json!({
        "name": name,
        "state": "ACTIVE",
        "variants": variants,
        "rules": rules,
        "clients": ["clients/bench"],
        "schema": {"schema": {"n": {"intSchema": {}}, "label": {"stringSchema": {}}}},
    })
}

fn rule(rng: &mut Rng, flag: &str, r: u64, segments: usize, variants: u64) -> Value {
    let count = *rng.pick(&[100u64, 1000, 10_000]);
    // Cut points splitting 0..count into 1-4 slices.
    let slices = rng.range(1, 4);
    let mut cuts: Vec<u64> = (1..slices).map(|_| rng.range(1, count - 1)).collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut bounds = vec![0];
    bounds.extend(cuts);
    bounds.push(count);
    let mut assignments = Vec::new();
    for (k, w) in bounds.windows(2).enumerate() {
        let range = json!([{"lower": w[0], "upper": w[1]}]);
        let id = format!("a{k}");
        let roll = rng.below(100);
        assignments.push(match roll {
            0..=9 => json!({"assignmentId": id, "fallthrough": {}, "bucketRanges": range}),
            10..=14 => json!({"assignmentId": id, "clientDefault": {}, "bucketRanges": range}),
            15..=19 => continue, // a gap: no assignment for these buckets
            _ => json!({"assignmentId": id, "variant": {"variant": format!("{flag}/variants/v{}", rng.below(variants))}, "bucketRanges": range}),
        });
    }
    json!({
        "name": format!("{flag}/rules/r{r}"),
        "segment": format!("segments/s{}", rng.below(segments as u64)),
        "enabled": rng.chance(95),
        "targetingKeySelector": if rng.chance(50) { "" } else { "user_id" },
        "assignmentSpec": {"bucketCount": count, "assignments": assignments},
    })
}

/// A random evaluation context over the attributes the criteria read,
/// sometimes with values of another type or missing (never `scores`).
pub fn context(rng: &mut Rng) -> Value {
    let mut c = serde_json::Map::new();
    let unit = format!("user-{}", rng.below(1_000_000));
    if rng.chance(90) {
        c.insert("targeting_key".into(), json!(unit));
    } else if rng.chance(50) {
        c.insert("targeting_key".into(), json!(rng.below(100_000)));
    }
    if rng.chance(85) {
        c.insert(
            "user_id".into(),
            json!(format!("u{}", rng.below(1_000_000))),
        );
    }
    if rng.chance(90) {
        c.insert("country".into(), json!(*rng.pick(&COUNTRIES)));
    }
    match rng.below(10) {
        0 => {}
        1 => {
            c.insert("age".into(), json!(rng.range(1, 99).to_string()));
        }
        _ => {
            c.insert("age".into(), json!(rng.range(1, 99)));
        }
    }
    if rng.chance(90) {
        let who = *rng.pick(&["admin", "ana", "bob", "eve"]);
        let host = *rng.pick(&["shop.com", "corp.se", "example.org", "mail.com"]);
        c.insert("email".into(), json!(format!("{who}@{host}")));
    }
    let tags: Vec<&str> = TAGS.iter().copied().filter(|_| rng.chance(30)).collect();
    c.insert("tags".into(), json!(tags));
    let scores: Vec<u64> = (0..rng.below(4)).map(|_| rng.below(120)).collect();
    c.insert("scores".into(), json!(scores));
    if rng.chance(90) {
        c.insert(
            "version".into(),
            json!(format!(
                "{}.{}.{}",
                rng.range(0, 4),
                rng.range(0, 9),
                rng.range(0, 9)
            )),
        );
    }
    if rng.chance(90) {
        c.insert(
            "created".into(),
            json!(format!(
                "2024-{:02}-{:02}T12:00:00Z",
                rng.range(1, 12),
                rng.range(1, 28)
            )),
        );
    }
    if rng.chance(90) {
        c.insert("premium".into(), json!(rng.chance(50)));
    }
    Value::Object(c)
}
