//! `vane diff`: what changes between two snapshots, flag by flag, and the
//! share of units whose variant changes (`docs/rules.md`, "Diff").
//!
//! The share is **exact** when both versions of a flag are Vane rules that
//! differ only in hash-decided parts (split weights, layer and holdout
//! ranges, salts) and test nothing but buckets: every hash that decides the
//! flag (one per salt and unit) is cut at every boundary either version
//! puts on it, and the flag is evaluated once per cell of the product of
//! those cuts, each cell weighted by its share of the hash space (hashes
//! taken as uniform and independent across salts). Otherwise the share is
//! **estimated** by evaluating both snapshots over a sample of contexts.
//!
//! A **reshuffle** is a change that moves units of a running experiment
//! more than the change needs: a salt (of a split or of a layer or holdout)
//! changed, or, where the share is exact, more units switch than the
//! difference between the two variant distributions (a range moved rather
//! than grown, variants reordered).

use std::collections::BTreeMap;

use vane_resolver::bucket::HashScheme;
use vane_resolver::expr::{Expr, Op, Path};
use vane_resolver::model::{Flag, Rule, Serve, Split, Targeting};
use vane_resolver::space::{BucketSpace, Range};
use vane_resolver::{Context, Snapshot};

/// How the share of switching units was found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Share {
    /// From cut points: the exact share of the hash space.
    Exact(f64),
    /// Measured over this many sample contexts.
    Estimated(f64, usize),
}

impl Share {
    /// The share, 0 to 1.
    pub fn value(self) -> f64 {
        match self {
            Share::Exact(s) | Share::Estimated(s, _) => s,
        }
    }
}

/// What changed in one flag.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagDiff {
    /// Flag key.
    pub key: String,
    /// What changed, one line each ("added", "rule 1: split weights …").
    pub changes: Vec<String>,
    /// Share of units whose variant changes.
    pub switching: Share,
    /// Why the change reshuffles units of a running experiment; empty when
    /// it does not.
    pub reshuffles: Vec<String>,
}

/// Most cells the exact method evaluates before it estimates instead.
const MAX_CELLS: usize = 1 << 16;
const SPAN: u64 = 1 << 32;

/// Every flag that differs between `old` and `new` (added, removed or
/// changed), in key order. `sample` is the contexts the estimate uses.
pub fn diff(old: &Snapshot, new: &Snapshot, sample: &[Context]) -> Vec<FlagDiff> {
    let mut keys: Vec<&str> = old
        .flags()
        .chain(new.flags())
        .map(|f| f.key.as_str())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys.into_iter()
        .filter_map(|key| {
            let (o, n) = (old.flag(key), new.flag(key));
            let changes = match (o, n) {
                (Some(o), Some(n)) => changes(old, o, new, n),
                (None, _) => vec!["added".to_owned()],
                (_, None) => vec!["removed".to_owned()],
            };
            if changes.is_empty() {
                return None;
            }
            let exact = o.zip(n).and_then(|(o, n)| exact(old, o, new, n));
            let mut reshuffles = o.zip(n).map(|(o, n)| salt_changes(old, o, new, n)).unwrap_or_default();
            let switching = match exact {
                Some((share, needed)) => {
                    if share > needed + 1e-9 && reshuffles.is_empty() {
                        reshuffles.push(format!(
                            "{:.2} % of units switch where the new distribution needs only {:.2} %: a range moved or variants reordered",
                            share * 100.0,
                            needed * 100.0
                        ));
                    }
                    Share::Exact(share)
                }
                None => Share::Estimated(measured(old, new, key, sample), sample.len()),
            };
            Some(FlagDiff { key: key.to_owned(), changes, switching, reshuffles })
        })
        .collect()
}

/// Share of `sample` whose variant of `key` differs between the snapshots.
pub fn measured(old: &Snapshot, new: &Snapshot, key: &str, sample: &[Context]) -> f64 {
    if sample.is_empty() {
        return 0.0;
    }
    let switched = sample
        .iter()
        .filter(|c| old.evaluate(key, c).variant != new.evaluate(key, c).variant)
        .count();
    switched as f64 / sample.len() as f64
}

fn rules(flag: &Flag) -> &[Rule] {
    match &flag.targeting {
        Targeting::Rules(r) => r,
        _ => &[],
    }
}

/// One line per difference.
fn changes(os: &Snapshot, o: &Flag, ns: &Snapshot, n: &Flag) -> Vec<String> {
    let mut out = Vec::new();
    if o.variants != n.variants {
        out.push("variants".to_owned());
    }
    let name = |f: &Flag, i: Option<u32>| {
        i.and_then(|i| f.variants.get(i as usize))
            .map_or("none".to_owned(), |v| v.name.clone())
    };
    if name(o, o.default_variant) != name(n, n.default_variant) {
        out.push(format!(
            "default {} -> {}",
            name(o, o.default_variant),
            name(n, n.default_variant)
        ));
    }
    if o.disabled != n.disabled {
        out.push(if n.disabled { "disabled" } else { "enabled" }.to_owned());
    }
    if o.metadata != n.metadata {
        out.push("metadata".to_owned());
    }
    let attributes = |s: &Snapshot, f: &Flag| {
        let paths = s.exposure_log().attributes_of(&f.key);
        let names: Vec<String> = paths.iter().map(|p| p.join(".")).collect();
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    };
    let (oa, na) = (attributes(os, o), attributes(ns, n));
    if oa != na {
        out.push(format!("exposure attributes {oa} -> {na}"));
    }
    if std::mem::discriminant(&o.targeting) != std::mem::discriminant(&n.targeting) {
        out.push("targeting kind".to_owned());
    } else if let (Targeting::JsonLogic(a), Targeting::JsonLogic(b)) = (&o.targeting, &n.targeting)
    {
        if a != b {
            out.push("targeting".to_owned());
        }
    }
    let (or, nr) = (rules(o), rules(n));
    if or.len() != nr.len() {
        out.push(format!("rules: {} -> {}", or.len(), nr.len()));
        return out;
    }
    for (i, (a, b)) in or.iter().zip(nr).enumerate() {
        if strip(a.when.as_ref()) != strip(b.when.as_ref()) {
            out.push(format!("rule {i}: condition"));
        }
        if (a.active_from, a.active_until) != (b.active_from, b.active_until) {
            out.push(format!("rule {i}: active window"));
        }
        let (ta, tb) = (tests(os, a), tests(ns, b));
        if ta != tb {
            let show = |t: &[TestShape]| {
                t.iter()
                    .map(|(name, salt, r)| format!("{name} (salt {salt}) {r:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            out.push(format!("rule {i}: buckets {} -> {}", show(&ta), show(&tb)));
        }
        match (&a.serve, &b.serve) {
            (Serve::Split(x), Serve::Split(y)) => {
                let w = |f: &Flag, s: &Split| {
                    s.weights
                        .iter()
                        .map(|&(v, w)| format!("{} {w}", name(f, Some(v))))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                if w(o, x) != w(n, y) {
                    out.push(format!(
                        "rule {i}: split weights {} -> {}",
                        w(o, x),
                        w(n, y)
                    ));
                }
                if (&x.salt, &x.bucket_by) != (&y.salt, &y.bucket_by) {
                    out.push(format!("rule {i}: split salt {} -> {}", x.salt, y.salt));
                }
            }
            (Serve::Variant(x), Serve::Variant(y)) if name(o, Some(*x)) == name(n, Some(*y)) => {}
            (Serve::Holdout(x), Serve::Holdout(y))
                if (&x.name, name(o, x.variant.or(o.default_variant)))
                    == (&y.name, name(n, y.variant.or(n.default_variant))) => {}
            _ => out.push(format!("rule {i}: serves")),
        }
    }
    out
}

/// A condition without its bucket tests.
fn strip(e: Option<&Expr>) -> Option<Expr> {
    match e? {
        Expr::InBuckets(_) => None,
        Expr::Op(Op::And, args) => {
            let kept: Vec<Expr> = args.iter().filter_map(|a| strip(Some(a))).collect();
            match kept.len() {
                0 => None,
                1 => kept.into_iter().next(),
                _ => Some(Expr::Op(Op::And, kept)),
            }
        }
        other => Some(other.clone()),
    }
}

/// A bucket test as the diff shows it: space name, salt, ranges.
type TestShape = (String, String, Vec<Range>);

/// The bucket tests of a rule.
fn tests(s: &Snapshot, rule: &Rule) -> Vec<TestShape> {
    let mut out = Vec::new();
    if let Some(e) = &rule.when {
        e.visit(&mut |e| {
            if let Expr::InBuckets(t) = e {
                if let Some(sp) = s.spaces().get(t.space as usize) {
                    out.push((sp.name.clone(), sp.salt.clone(), t.ranges.clone()));
                }
            }
        });
    }
    out
}

/// Salt or unit changes of splits and spaces a flag uses, rule by rule.
fn salt_changes(os: &Snapshot, o: &Flag, ns: &Snapshot, n: &Flag) -> Vec<String> {
    let mut out = Vec::new();
    for (i, (a, b)) in rules(o).iter().zip(rules(n)).enumerate() {
        if let (Serve::Split(x), Serve::Split(y)) = (&a.serve, &b.serve) {
            if (&x.salt, &x.bucket_by) != (&y.salt, &y.bucket_by) {
                out.push(format!(
                    "rule {i}: the split's salt or unit changed ({} -> {})",
                    x.salt, y.salt
                ));
            }
        }
        for ((na, sa, _), (nb, sb, _)) in tests(os, a).iter().zip(&tests(ns, b)) {
            if na == nb && sa != sb {
                out.push(format!("rule {i}: '{na}' changed salt ({sa} -> {sb})"));
            }
        }
    }
    out
}

/// A hash that decides a flag: salt and unit.
type HashKey = (String, Option<Path>);

/// The hash a weighted serve reads and its weights: a split's salt and
/// unit; a lowered flagd `fractional` hashes the flag key and the targeting
/// key (another function than a split's, so its own key).
fn weighted<'f>(flag: &Flag, serve: &'f Serve) -> Option<(HashKey, &'f [(u32, u32)])> {
    match serve {
        Serve::Split(s) => Some(((s.salt.clone(), s.bucket_by.clone()), &s.weights)),
        Serve::Fractional(f) => Some(((format!("\u{0}fractional:{}", flag.key), None), &f.weights)),
        _ => None,
    }
}

/// Where a flag reads a hash: the split of a rule, or a bucket test.
struct Model<'a> {
    flag: &'a Flag,
    spaces: &'a [BucketSpace],
}

impl Model<'_> {
    /// The variant name served when each hash key has the given hash.
    fn variant(&self, hashes: &BTreeMap<&HashKey, u64>) -> Option<&str> {
        let f = self.flag;
        let index = rules(f)
            .iter()
            .find(|r| r.when.as_ref().is_none_or(|w| self.holds(w, hashes)))
            .map_or(f.default_variant, |r| match &r.serve {
                Serve::Variant(i) => Some(*i),
                Serve::Holdout(h) => h.variant.or(f.default_variant),
                Serve::Split(_) | Serve::Fractional(_) => {
                    let (key, weights) = weighted(f, &r.serve)?;
                    let total: u64 = weights.iter().map(|&(_, w)| u64::from(w)).sum();
                    let b = (hashes.get(&key).copied().unwrap_or(0) * total) >> 32;
                    let mut cum = 0;
                    weights
                        .iter()
                        .find(|&&(_, w)| {
                            cum += u64::from(w);
                            b < cum
                        })
                        .map(|&(v, _)| v)
                }
            });
        index
            .and_then(|i| f.variants.get(i as usize))
            .map(|v| v.name.as_str())
    }

    fn holds(&self, e: &Expr, hashes: &BTreeMap<&HashKey, u64>) -> bool {
        match e {
            Expr::Op(Op::And, args) => args.iter().all(|a| self.holds(a, hashes)),
            Expr::InBuckets(t) => {
                let sp = &self.spaces[t.space as usize];
                let h = hashes
                    .get(&(sp.salt.clone(), sp.unit.clone()))
                    .copied()
                    .unwrap_or(0);
                t.contains(HashScheme::Murmur3X86_32.bucket(h, t.count))
            }
            _ => false,
        }
    }

    /// Every hash key and the hash boundaries this flag puts on it; `None`
    /// when the flag tests anything but x86 buckets.
    fn cuts(&self, out: &mut BTreeMap<HashKey, Vec<u64>>) -> Option<()> {
        // ceil(c * 2^32 / n): the first hash whose bucket among n is c.
        let at = |c: u64, n: u64| (c as u128 * SPAN as u128).div_ceil(n as u128) as u64;
        for r in rules(self.flag) {
            if let Some(w) = &r.when {
                self.test_cuts(w, out, &at)?;
            }
            if let Some((key, weights)) = weighted(self.flag, &r.serve) {
                let total: u64 = weights.iter().map(|&(_, w)| u64::from(w)).sum();
                let cuts = out.entry(key).or_default();
                let mut cum = 0;
                for &(_, w) in weights {
                    cum += u64::from(w);
                    cuts.push(at(cum, total));
                }
            }
        }
        Some(())
    }

    fn test_cuts(
        &self,
        e: &Expr,
        out: &mut BTreeMap<HashKey, Vec<u64>>,
        at: &dyn Fn(u64, u64) -> u64,
    ) -> Option<()> {
        match e {
            Expr::Op(Op::And, args) => args.iter().try_for_each(|a| self.test_cuts(a, out, at)),
            Expr::InBuckets(t) => {
                let sp = self.spaces.get(t.space as usize)?;
                if sp.scheme != HashScheme::Murmur3X86_32 {
                    return None;
                }
                let cuts = out.entry((sp.salt.clone(), sp.unit.clone())).or_default();
                for &(s, e) in &t.ranges {
                    cuts.extend([at(s, t.count), at(e, t.count)]);
                }
                Some(())
            }
            _ => None,
        }
    }
}

/// The exact switching share and the least share any change to the new
/// variant distribution must switch; `None` when not computable exactly.
fn exact(os: &Snapshot, o: &Flag, ns: &Snapshot, n: &Flag) -> Option<(f64, f64)> {
    let (mo, mn) = (
        Model {
            flag: o,
            spaces: os.spaces(),
        },
        Model {
            flag: n,
            spaces: ns.spaces(),
        },
    );
    let both_rules =
        matches!(o.targeting, Targeting::Rules(_)) && matches!(n.targeting, Targeting::Rules(_));
    if !both_rules
        || o.disabled
        || n.disabled
        || rules(o)
            .iter()
            .chain(rules(n))
            .any(|r| r.active_from.is_some() || r.active_until.is_some())
    {
        return None;
    }
    let mut cuts = BTreeMap::new();
    mo.cuts(&mut cuts)?;
    mn.cuts(&mut cuts)?;
    let intervals: Vec<(&HashKey, Vec<(u64, u64)>)> = cuts
        .iter()
        .map(|(k, c)| {
            let mut c: Vec<u64> = c
                .iter()
                .copied()
                .chain([0, SPAN])
                .filter(|&x| x <= SPAN)
                .collect();
            c.sort_unstable();
            c.dedup();
            (k, c.windows(2).map(|w| (w[0], w[1])).collect())
        })
        .collect();
    let cells = intervals.iter().try_fold(1usize, |n, (_, iv)| {
        n.checked_mul(iv.len()).filter(|&n| n <= MAX_CELLS)
    })?;
    let (mut switching, mut dist) = (0.0, BTreeMap::<Option<&str>, f64>::new());
    for cell in 0..cells {
        let (mut rest, mut weight, mut hashes) = (cell, 1.0, BTreeMap::new());
        for (k, iv) in &intervals {
            let (lo, hi) = iv[rest % iv.len()];
            rest /= iv.len();
            weight *= (hi - lo) as f64 / SPAN as f64;
            hashes.insert(*k, lo);
        }
        let (a, b) = (mo.variant(&hashes), mn.variant(&hashes));
        if a != b {
            switching += weight;
        }
        *dist.entry(a).or_default() += weight;
        *dist.entry(b).or_default() -= weight;
    }
    let needed = dist.values().map(|d| d.abs()).sum::<f64>() / 2.0;
    Some((switching, needed))
}
