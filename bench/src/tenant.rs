//! The seeded tenant generator: a realistic tenant of N flags, written in
//! every dialect the benchmarks feed to an engine.
//!
//! One neutral description ([`GenFlag`]) is drawn from the seed, then
//! emitted three ways, so every engine gets the same rules:
//!
//! - Vane YAML (`docs/rules.md`): typed conditions, segments, splits;
//! - flagd JSON: JsonLogic targeting with `$evaluators`/`$ref` for
//!   segments and `fractional` for splits (default bucketing: flag key
//!   followed by the targeting key);
//! - Unleash client features (for `unleash-yggdrasil`): constraints and
//!   `flexibleRollout` strategies with variants, segments as Unleash
//!   segments.
//!
//! The mix, per flag (percent): static 30, split 18, in-set 14, semver 10,
//! string prefix/suffix 10, numeric compare 8, segment + split 7,
//! disabled 3. In-set sizes are log-uniform over 1–1,000 values. A third
//! of the rule flags put an "internal users" rule (email suffix) before
//! their main rule, as real tenants do. Contexts are drawn from the same
//! value spaces, so set lookups hit and miss.
//!
//! Equivalence: Vane YAML and flagd JSON agree on every non-split flag for
//! every context; splits agree in distribution, not per unit, because
//! Vane hashes `"{salt}|{unit}"` and flagd hashes `flagKey + unit`. The
//! Unleash form is the nearest Unleash has (`SEMVER_GT` against the
//! version just below for `>=`; Unleash rollouts hash with their own seed).

use std::fmt::Write as _;

use serde_json::{json, Map, Value};

use vane_resolver::snapshot::{hex, sha256};

use crate::rng::Rng;

/// Tenant sizes the benchmarks use.
pub const SIZES: [usize; 4] = [10, 100, 1_000, 10_000];

/// The client key of a generated tenant (Vane YAML form), for the HTTP
/// load test: `{tenant}-key` (a key belongs to one tenant only). The rules
/// hold only its sha256.
pub fn client_key(tenant: &str) -> String {
    format!("{tenant}-key")
}

/// The default seed of the generated tenants.
pub const SEED: u64 = 0x005e_ed0f_fa9e;

const COUNTRIES: [&str; 12] = [
    "DE", "AT", "CH", "FR", "NL", "US", "GB", "ES", "IT", "PL", "SE", "JP",
];
const PLANS: [&str; 4] = ["free", "starter", "pro", "enterprise"];
const PLATFORMS: [&str; 4] = ["web", "ios", "android", "tv"];
const REGIONS: [&str; 6] = [
    "eu-west-1",
    "eu-central-1",
    "us-east-1",
    "us-west-2",
    "ap-south-1",
    "sa-east-1",
];
const DOMAINS: [&str; 5] = [
    "gmail.com",
    "outlook.com",
    "proton.me",
    "corp.example",
    "shop.example",
];
/// Users in the generated population: emails and ids are drawn from it.
const USERS: u64 = 20_000;
const INTERNAL_SUFFIX: &str = "@corp.example";

/// A variant value of a generated flag.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `on: true`, `off: false`.
    Boolean,
    /// Two to four named string variants.
    Text,
    /// Numbers.
    Number,
    /// Small JSON objects.
    Object,
}

/// A typed test of one attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// The string attribute is in the set.
    InStrings(&'static str, Vec<String>),
    /// The numeric attribute is in the set.
    InNumbers(&'static str, Vec<i64>),
    /// The attribute holds a version `>=` the operand.
    SemverGte(&'static str, String),
    /// The string attribute ends with the suffix.
    EndsWith(&'static str, String),
    /// The string attribute starts with the prefix.
    StartsWith(&'static str, String),
    /// The numeric attribute is `>=` the operand.
    NumberGte(&'static str, i64),
    /// A named segment: every listed condition holds.
    Segment(String),
}

/// What a generated rule serves.
#[derive(Debug, Clone, PartialEq)]
pub enum Serve {
    /// One variant, by index.
    Variant(usize),
    /// A split: `(variant index, weight)`.
    Split(Vec<(usize, u32)>),
}

/// A generated rule: an optional condition and what it serves.
#[derive(Debug, Clone, PartialEq)]
pub struct GenRule {
    /// `None` always matches.
    pub when: Option<Cond>,
    /// What it serves.
    pub serve: Serve,
}

/// One generated flag, dialect-neutral.
#[derive(Debug, Clone, PartialEq)]
pub struct GenFlag {
    /// The key (`f00042-…`), unique.
    pub key: String,
    /// Value kind.
    pub kind: Kind,
    /// `(name, value)` in order.
    pub variants: Vec<(String, Value)>,
    /// Index of the default variant.
    pub default: usize,
    /// Disabled flags serve no value.
    pub disabled: bool,
    /// Ordered rules (empty: static).
    pub rules: Vec<GenRule>,
    /// Flag metadata.
    pub metadata: Vec<(&'static str, String)>,
}

/// A generated segment: every condition must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct GenSegment {
    /// Segment name.
    pub name: String,
    /// Conditions, all of which must hold.
    pub all: Vec<Cond>,
}

/// A generated tenant in all its forms.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// Tenant name (`bench-{n}`).
    pub name: String,
    /// Flags, in generation order.
    pub flags: Vec<GenFlag>,
    /// Segments used by the flags.
    pub segments: Vec<GenSegment>,
}

impl Tenant {
    /// Generates a tenant of `n` flags from `seed`. Deterministic.
    pub fn generate(seed: u64, n: usize) -> Tenant {
        let mut rng = Rng::new(seed ^ (n as u64).wrapping_mul(0x9e37_79b9));
        let segment_count = (n / 20).clamp(1, 200);
        let segments = (0..segment_count)
            .map(|i| GenSegment {
                name: format!("seg-{i:03}"),
                all: vec![
                    Cond::InStrings("country", pick_set(&mut rng, &COUNTRIES, 2, 6)),
                    Cond::InStrings("plan", pick_set(&mut rng, &PLANS, 1, 3)),
                ],
            })
            .collect::<Vec<_>>();
        let flags = (0..n)
            .map(|i| gen_flag(&mut rng, i, &segments))
            .collect::<Vec<_>>();
        Tenant {
            name: format!("bench-{n}"),
            flags,
            segments,
        }
    }

    /// The first flag of each shape the single-flag benchmarks need,
    /// `None` where the tenant has none.
    pub fn first(&self, shape: Shape) -> Option<&GenFlag> {
        self.flags.iter().find(|f| !f.disabled && shape.fits(f))
    }

    /// The tenant as Vane YAML.
    pub fn vane_yaml(&self) -> String {
        let mut y = String::new();
        writeln!(y, "tenant: {}", self.name).unwrap();
        y.push_str("clients:\n  bench-web:\n    key_sha256: [");
        let digest = sha256(client_key(&self.name).as_bytes());
        y.push_str(&hex(&digest));
        y.push_str("]\nmetadata: {flagSetId: bench}\nsegments:\n");
        for s in &self.segments {
            writeln!(y, "  {}:", s.name).unwrap();
            for c in &s.all {
                writeln!(y, "    {}", vane_cond(c)).unwrap();
            }
        }
        y.push_str("flags:\n");
        for f in &self.flags {
            writeln!(y, "  {}:", f.key).unwrap();
            if f.disabled {
                y.push_str("    enabled: false\n");
            }
            y.push_str("    variants:\n");
            for (name, value) in &f.variants {
                writeln!(y, "      {name}: {value}").unwrap();
            }
            writeln!(y, "    default: {}", f.variants[f.default].0).unwrap();
            if !f.metadata.is_empty() {
                let m: Vec<String> = f
                    .metadata
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", Value::from(v.as_str())))
                    .collect();
                writeln!(y, "    metadata: {{{}}}", m.join(", ")).unwrap();
            }
            if f.rules.is_empty() {
                continue;
            }
            y.push_str("    rules:\n");
            for r in &f.rules {
                let mut lead = "      - ";
                if let Some(c) = &r.when {
                    writeln!(y, "{lead}when: {{{}}}", vane_cond(c)).unwrap();
                    lead = "        ";
                }
                match &r.serve {
                    Serve::Variant(i) => writeln!(y, "{lead}serve: {}", f.variants[*i].0),
                    Serve::Split(w) => {
                        let parts: Vec<String> = w
                            .iter()
                            .map(|(i, w)| format!("{}: {w}", f.variants[*i].0))
                            .collect();
                        writeln!(y, "{lead}split: {{{}}}", parts.join(", "))
                    }
                }
                .unwrap();
            }
        }
        y
    }

    /// The tenant as a flagd flag-definition file (pretty JSON, as people
    /// keep them in repositories).
    pub fn flagd_json(&self) -> String {
        serde_json::to_string_pretty(&self.flagd_value()).unwrap()
    }

    /// The tenant as a flagd flag-definition JSON value.
    pub fn flagd_value(&self) -> Value {
        let mut evaluators = Map::new();
        for s in &self.segments {
            let all: Vec<Value> = s.all.iter().map(flagd_cond).collect();
            evaluators.insert(s.name.clone(), json!({ "and": all }));
        }
        let mut flags = Map::new();
        for f in &self.flags {
            let mut o = Map::new();
            o.insert(
                "state".into(),
                (if f.disabled { "DISABLED" } else { "ENABLED" }).into(),
            );
            let variants: Map<String, Value> = f.variants.iter().cloned().collect();
            o.insert("variants".into(), Value::Object(variants));
            o.insert(
                "defaultVariant".into(),
                f.variants[f.default].0.clone().into(),
            );
            if !f.rules.is_empty() {
                o.insert("targeting".into(), flagd_targeting(f));
            }
            if !f.metadata.is_empty() {
                let m: Map<String, Value> = f
                    .metadata
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), Value::from(v.as_str())))
                    .collect();
                o.insert("metadata".into(), Value::Object(m));
            }
            flags.insert(f.key.clone(), Value::Object(o));
        }
        json!({
            "$schema": "https://flagd.dev/schema/v0/flags.json",
            "metadata": {"flagSetId": "bench"},
            "flags": flags,
            "$evaluators": evaluators,
        })
    }

    /// The tenant as Unleash client features (the `/api/client/features`
    /// body that `unleash-yggdrasil` compiles).
    pub fn unleash_json(&self) -> Value {
        let segments: Vec<Value> = self
            .segments
            .iter()
            .enumerate()
            .map(|(i, s)| {
                json!({"id": i + 1, "constraints": s.all.iter().map(unleash_constraint).collect::<Vec<_>>()})
            })
            .collect();
        let features: Vec<Value> = self
            .flags
            .iter()
            .map(|f| unleash_feature(f, &self.segments))
            .collect();
        json!({"version": 2, "features": features, "segments": segments})
    }

    /// `count` evaluation contexts drawn from `seed`: a targeting key and
    /// the attributes the rules read (each attribute present most of the
    /// time, as in real traffic).
    pub fn contexts(seed: u64, count: usize) -> Vec<Value> {
        let mut rng = Rng::new(seed);
        (0..count).map(|_| context(&mut rng)).collect()
    }
}

/// A shape of flag the single-flag benchmarks pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// No rules.
    Static,
    /// A 50/50 split and nothing else.
    Split,
    /// One rule: the email in a set of exactly 100 strings.
    In100,
    /// One rule: a semver comparison.
    Semver,
    /// One rule: an email suffix.
    EndsWith,
}

impl Shape {
    fn fits(self, f: &GenFlag) -> bool {
        match (self, f.rules.as_slice()) {
            (Shape::Static, []) => true,
            (Shape::Split, [r]) => {
                r.when.is_none()
                    && matches!(&r.serve, Serve::Split(w) if w.len() == 2 && w[0].1 == w[1].1)
            }
            (Shape::In100, [r]) => {
                matches!(&r.when, Some(Cond::InStrings("email", s)) if s.len() == 100)
            }
            (Shape::Semver, [r]) => matches!(&r.when, Some(Cond::SemverGte(..))),
            (Shape::EndsWith, [r]) => matches!(&r.when, Some(Cond::EndsWith(..))),
            _ => false,
        }
    }
}

/// Flags whose shapes the single-flag benchmarks need, planted at fixed
/// positions so every tenant of 10 or more flags has them.
fn planted(i: usize) -> Option<Shape> {
    match i {
        0 => Some(Shape::Static),
        1 => Some(Shape::Split),
        2 => Some(Shape::In100),
        3 => Some(Shape::Semver),
        4 => Some(Shape::EndsWith),
        _ => None,
    }
}

fn pick_set(rng: &mut Rng, from: &[&str], lo: u64, hi: u64) -> Vec<String> {
    let n = rng.range(lo, hi) as usize;
    let mut out: Vec<String> = Vec::new();
    while out.len() < n {
        let v = rng.pick(from).to_string();
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

fn email(rng: &mut Rng) -> String {
    let user = rng.below(USERS);
    format!("user{user}@{}", rng.pick(&DOMAINS))
}

fn version(rng: &mut Rng) -> String {
    format!(
        "{}.{}.{}",
        rng.range(1, 6),
        rng.range(0, 12),
        rng.range(0, 20)
    )
}

fn emails(rng: &mut Rng, n: usize) -> Vec<String> {
    let mut set = std::collections::BTreeSet::new();
    while set.len() < n {
        set.insert(email(rng));
    }
    // Source order is random, as people write them; builders sort.
    let mut v: Vec<String> = set.into_iter().collect();
    for i in (1..v.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        v.swap(i, j);
    }
    v
}

fn gen_variants(rng: &mut Rng, key: &str) -> (Kind, Vec<(String, Value)>) {
    match rng.below(10) {
        0..=4 => (
            Kind::Boolean,
            vec![("on".into(), true.into()), ("off".into(), false.into())],
        ),
        5..=7 => {
            let n = rng.range(2, 4) as usize;
            let names = ["control", "treatment-a", "treatment-b", "treatment-c"];
            (
                Kind::Text,
                names[..n]
                    .iter()
                    .map(|s| ((*s).to_owned(), Value::from(format!("{key}-{s}"))))
                    .collect(),
            )
        }
        8 => (
            Kind::Number,
            vec![
                ("low".into(), json!(10)),
                ("standard".into(), json!(25)),
                ("high".into(), json!(49.9)),
            ],
        ),
        _ => (
            Kind::Object,
            vec![
                (
                    "compact".into(),
                    json!({"slots": 4, "layout": "row", "ttl": 300}),
                ),
                (
                    "rich".into(),
                    json!({"slots": 8, "layout": "grid", "ttl": 600}),
                ),
            ],
        ),
    }
}

fn split_weights(rng: &mut Rng, variants: usize) -> Vec<(usize, u32)> {
    match variants.min(rng.range(2, 4) as usize) {
        2 => {
            let on = *rng.pick(&[50u32, 50, 10, 20, 5, 1]);
            vec![(0, on), (1, 100 - on)]
        }
        3 => vec![(0, 34), (1, 33), (2, 33)],
        _ => vec![(0, 25), (1, 25), (2, 25), (3, 25)],
    }
}

fn gen_flag(rng: &mut Rng, i: usize, segments: &[GenSegment]) -> GenFlag {
    let key = format!(
        "f{i:05}-{}",
        rng.pick(&[
            "checkout",
            "search",
            "banner",
            "pricing",
            "player",
            "onboarding",
            "ranking",
            "promo"
        ])
    );
    let shape = planted(i);
    let (kind, variants) = match shape {
        // Planted shapes are boolean, so every engine can answer them.
        Some(_) => (
            Kind::Boolean,
            vec![("on".into(), true.into()), ("off".into(), false.into())],
        ),
        _ => gen_variants(rng, &key),
    };
    let on = 0;
    let default = variants.len() - 1;
    let roll = rng.below(100);
    let mut rules = Vec::new();
    let mut disabled = false;
    let main = match shape {
        Some(Shape::Static) => None,
        Some(Shape::Split) => Some(GenRule {
            when: None,
            serve: Serve::Split(vec![(0, 50), (1, 50)]),
        }),
        Some(Shape::In100) => Some(serve_on(Cond::InStrings("email", emails(rng, 100)))),
        Some(Shape::Semver) => Some(serve_on(Cond::SemverGte("appVersion", "4.2.0".into()))),
        Some(Shape::EndsWith) => Some(serve_on(Cond::EndsWith("email", INTERNAL_SUFFIX.into()))),
        None => match roll {
            0..=29 => None,
            30..=47 => Some(GenRule {
                when: None,
                serve: Serve::Split(split_weights(rng, variants.len())),
            }),
            48..=61 => {
                let n = (10f64.powf(rng.below(3001) as f64 / 1000.0)) as usize;
                let cond = if rng.chance(75) {
                    Cond::InStrings("email", emails(rng, n.max(1)))
                } else {
                    let mut ids: Vec<i64> = (0..n.clamp(1, 200))
                        .map(|_| rng.below(5000) as i64)
                        .collect();
                    ids.dedup();
                    Cond::InNumbers("storeId", ids)
                };
                Some(serve_on(cond))
            }
            62..=71 => Some(serve_on(Cond::SemverGte("appVersion", version(rng)))),
            72..=81 => Some(serve_on(if rng.chance(50) {
                Cond::EndsWith("email", format!("@{}", rng.pick(&DOMAINS)))
            } else {
                Cond::StartsWith("region", (*rng.pick(&["eu-", "us-", "ap-"])).to_owned())
            })),
            82..=89 => {
                const NUMERIC: [&str; 3] = ["age", "cartTotal", "sessions"];
                let attribute = NUMERIC[rng.below(3) as usize];
                Some(serve_on(Cond::NumberGte(
                    attribute,
                    rng.range(1, 100) as i64,
                )))
            }
            90..=96 => Some(GenRule {
                when: Some(Cond::Segment(rng.pick(segments).name.clone())),
                serve: Serve::Split(split_weights(rng, variants.len())),
            }),
            _ => {
                disabled = true;
                None
            }
        },
    };
    if let Some(main) = main {
        if shape.is_none() && rng.chance(33) {
            rules.push(GenRule {
                when: Some(Cond::EndsWith("email", INTERNAL_SUFFIX.into())),
                serve: Serve::Variant(on),
            });
        }
        rules.push(main);
    }
    let metadata = if rng.chance(40) {
        vec![
            (
                "owner",
                (*rng.pick(&["growth", "payments", "search", "platform"])).to_owned(),
            ),
            ("ticket", format!("PRJ-{}", rng.range(100, 9999))),
        ]
    } else {
        Vec::new()
    };
    GenFlag {
        key,
        kind,
        variants,
        default,
        disabled,
        rules,
        metadata,
    }
}

fn serve_on(cond: Cond) -> GenRule {
    GenRule {
        when: Some(cond),
        serve: Serve::Variant(0),
    }
}

fn context(rng: &mut Rng) -> Value {
    let mut c = Map::new();
    c.insert(
        "targetingKey".into(),
        format!("user-{}", rng.below(USERS)).into(),
    );
    let attrs: [(&str, u64); 9] = [
        ("email", 90),
        ("country", 95),
        ("plan", 90),
        ("appVersion", 70),
        ("platform", 95),
        ("region", 80),
        ("age", 60),
        ("cartTotal", 50),
        ("storeId", 40),
    ];
    for (name, percent) in attrs {
        if !rng.chance(percent) {
            continue;
        }
        let v: Value = match name {
            "email" => email(rng).into(),
            "country" => (*rng.pick(&COUNTRIES)).into(),
            "plan" => (*rng.pick(&PLANS)).into(),
            "appVersion" => version(rng).into(),
            "platform" => (*rng.pick(&PLATFORMS)).into(),
            "region" => (*rng.pick(&REGIONS)).into(),
            "age" => rng.range(13, 90).into(),
            "cartTotal" => json!(rng.range(0, 50_000) as f64 / 100.0),
            _ => rng.below(5000).into(),
        };
        c.insert(name.into(), v);
    }
    c.insert("sessions".into(), rng.range(0, 200).into());
    Value::Object(c)
}

fn yaml_list(items: impl Iterator<Item = String>) -> String {
    format!("[{}]", items.collect::<Vec<_>>().join(", "))
}

fn vane_cond(c: &Cond) -> String {
    let q = |s: &str| Value::from(s).to_string();
    match c {
        Cond::InStrings(a, set) => format!("{a}: {{in: {}}}", yaml_list(set.iter().map(|s| q(s)))),
        Cond::InNumbers(a, set) => format!(
            "{a}: {{in: {}}}",
            yaml_list(set.iter().map(|n| n.to_string()))
        ),
        Cond::SemverGte(a, v) => format!("{a}: {{semver_gte: {}}}", q(v)),
        Cond::EndsWith(a, s) => format!("{a}: {{ends_with: {}}}", q(s)),
        Cond::StartsWith(a, s) => format!("{a}: {{starts_with: {}}}", q(s)),
        Cond::NumberGte(a, n) => format!("{a}: {{gte: {n}}}"),
        Cond::Segment(name) => format!("segment: {name}"),
    }
}

fn flagd_cond(c: &Cond) -> Value {
    match c {
        Cond::InStrings(a, set) => json!({"in": [{"var": a}, set]}),
        Cond::InNumbers(a, set) => json!({"in": [{"var": a}, set]}),
        Cond::SemverGte(a, v) => json!({"sem_ver": [{"var": a}, ">=", v]}),
        Cond::EndsWith(a, s) => json!({"ends_with": [{"var": a}, s]}),
        Cond::StartsWith(a, s) => json!({"starts_with": [{"var": a}, s]}),
        Cond::NumberGte(a, n) => json!({">=": [{"var": a}, n]}),
        Cond::Segment(name) => json!({"$ref": name}),
    }
}

fn flagd_serve(f: &GenFlag, s: &Serve) -> Value {
    match s {
        Serve::Variant(i) => f.variants[*i].0.clone().into(),
        Serve::Split(w) => {
            let entries: Vec<Value> = w
                .iter()
                .map(|(i, w)| json!([f.variants[*i].0, w]))
                .collect();
            json!({ "fractional": entries })
        }
    }
}

/// `if` with a `[condition, serve]` pair per rule and `null` (the default
/// variant) at the end; a rule without a condition ends the chain.
fn flagd_targeting(f: &GenFlag) -> Value {
    let mut args = Vec::new();
    for r in &f.rules {
        match &r.when {
            Some(c) => {
                args.push(flagd_cond(c));
                args.push(flagd_serve(f, &r.serve));
            }
            None => {
                if args.is_empty() {
                    return flagd_serve(f, &r.serve);
                }
                args.push(flagd_serve(f, &r.serve));
                return json!({ "if": args });
            }
        }
    }
    args.push(Value::Null);
    json!({ "if": args })
}

fn unleash_constraint(c: &Cond) -> Value {
    match c {
        Cond::InStrings(a, set) => json!({"contextName": a, "operator": "IN", "values": set}),
        Cond::InNumbers(a, set) => json!({"contextName": a, "operator": "IN",
            "values": set.iter().map(i64::to_string).collect::<Vec<_>>()}),
        Cond::SemverGte(a, v) => {
            json!({"contextName": a, "operator": "SEMVER_GT", "value": below_version(v)})
        }
        Cond::EndsWith(a, s) => {
            json!({"contextName": a, "operator": "STR_ENDS_WITH", "values": [s]})
        }
        Cond::StartsWith(a, s) => {
            json!({"contextName": a, "operator": "STR_STARTS_WITH", "values": [s]})
        }
        Cond::NumberGte(a, n) => {
            json!({"contextName": a, "operator": "NUM_GTE", "value": n.to_string()})
        }
        Cond::Segment(_) => unreachable!("segments are Unleash segments"),
    }
}

/// A version just below `v` in precedence (`4.2.0` → `4.2.0-0`), so
/// Unleash's `SEMVER_GT` reads as `>=`.
fn below_version(v: &str) -> String {
    format!("{v}-0")
}

fn unleash_feature(f: &GenFlag, segments: &[GenSegment]) -> Value {
    // A boolean flag is a toggle (`is_enabled`): a rule serving `on` is a
    // strategy, a split is a rollout percentage. Other flags carry their
    // variants on each strategy (`get_variant`).
    let boolean = f.kind == Kind::Boolean;
    let variants_of = |w: &[(usize, u32)]| -> Vec<Value> {
        w.iter()
            .map(|(i, w)| {
                let (name, value) = &f.variants[*i];
                json!({"name": name, "weight": w * 10, "weightType": "variable", "stickiness": "default",
                       "payload": {"type": "json", "value": value.to_string()}})
            })
            .collect()
    };
    let mut strategies = Vec::new();
    for r in &f.rules {
        let (constraints, segs) = match &r.when {
            None => (vec![], vec![]),
            Some(Cond::Segment(name)) => (
                vec![],
                vec![segments.iter().position(|s| &s.name == name).unwrap() + 1],
            ),
            Some(c) => (vec![unleash_constraint(c)], vec![]),
        };
        let (rollout, variants) = match (&r.serve, boolean) {
            (Serve::Variant(_), true) => (100, vec![]),
            (Serve::Split(w), true) => (w[0].1, vec![]),
            (Serve::Variant(i), false) => (100, variants_of(&[(*i, 100)])),
            (Serve::Split(w), false) => (100, variants_of(w)),
        };
        strategies.push(json!({
            "name": "flexibleRollout",
            "parameters": {"rollout": rollout.to_string(), "stickiness": "default", "groupId": f.key},
            "constraints": constraints,
            "segments": segs,
            "variants": variants,
        }));
    }
    let static_on = f.rules.is_empty() && !(boolean && f.default != 0);
    if f.rules.is_empty() && !boolean {
        strategies.push(
            json!({"name": "default", "parameters": {}, "constraints": [],
                                "variants": variants_of(&[(f.default, 100)])}),
        );
    }
    json!({
        "name": f.key,
        "type": "release",
        "enabled": !f.disabled && (static_on || !f.rules.is_empty()),
        "strategies": strategies,
        "variants": [],
        "project": "default",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_sized() {
        let a = Tenant::generate(SEED, 100);
        let b = Tenant::generate(SEED, 100);
        assert_eq!(a.flags, b.flags);
        assert_eq!(a.flags.len(), 100);
        assert_eq!(a.vane_yaml(), b.vane_yaml());
        assert_ne!(Tenant::generate(SEED + 1, 100).flags, a.flags);
    }

    #[test]
    fn every_benchmarked_shape_is_planted() {
        let t = Tenant::generate(SEED, 10);
        for shape in [
            Shape::Static,
            Shape::Split,
            Shape::In100,
            Shape::Semver,
            Shape::EndsWith,
        ] {
            assert!(t.first(shape).is_some(), "{shape:?}");
        }
    }

    #[test]
    fn the_mix_is_realistic() {
        let t = Tenant::generate(SEED, 1000);
        let statics = t
            .flags
            .iter()
            .filter(|f| f.rules.is_empty() && !f.disabled)
            .count();
        let splits = t
            .flags
            .iter()
            .filter(|f| f.rules.iter().any(|r| matches!(r.serve, Serve::Split(_))))
            .count();
        let big_sets = t.flags.iter().filter(|f| {
            f.rules
                .iter()
                .any(|r| matches!(&r.when, Some(Cond::InStrings(_, s)) if s.len() >= 300))
        });
        assert!((250..=350).contains(&statics), "{statics}");
        assert!((200..=300).contains(&splits), "{splits}");
        assert!(big_sets.count() > 10);
    }
}
