//! Layers and holdouts (`docs/rules.md`, "Layers" and "Holdouts"), lowered
//! to the resolver's bucket spaces and bucket-range tests.
//!
//! A layer is a space (salt, unit, bucket count) whose experiments — flags
//! whose rule says `layer: NAME` — claim disjoint ranges, given explicitly
//! or as a share the builder places (first free range that fits, in the
//! order the experiments are listed). The experiment's rule gets the test
//! "the unit's bucket is in my range" added to its condition, so a unit is
//! in at most one experiment of a layer and units in no range fall through.
//!
//! A holdout is a space of its own holding out `[0, share)` of its buckets.
//! Before every experiment rule it covers (a layer's rules, a flag's split
//! and layer rules, or all of them) the builder puts a rule with the same
//! condition and window plus "the unit is held out", serving the holdout's
//! variant (the flag's default unless `serve` names one) with metadata
//! `holdout: NAME`.

use serde_json::Value;
use vane_resolver::bucket::HashScheme;
use vane_resolver::expr::{Expr, Op, Path};
use vane_resolver::model::{Flag, Holdout, Rule, Serve, Targeting};
use vane_resolver::space::{BucketRanges, BucketSpace, Range};

use super::condition;
use super::reader::{describe, join, scalar, Cx};
use super::yaml::{Kind, Node, Pos, Typed};

const LAYER_FIELDS: [&str; 5] = ["description", "salt", "bucket_by", "buckets", "experiments"];
const EXPERIMENT_FIELDS: [&str; 3] = ["description", "share", "range"];
const HOLDOUT_FIELDS: [&str; 7] = [
    "description",
    "salt",
    "bucket_by",
    "buckets",
    "share",
    "from",
    "serve",
];

/// Bucket count of a layer or holdout without `buckets:` (parts per million).
pub const DEFAULT_BUCKETS: u64 = 1_000_000;

/// The salt, unit and resolution of a layer or holdout.
struct SpaceDef {
    name: String,
    pos: Pos,
    path: String,
    salt: String,
    unit: Option<Path>,
    count: u64,
}

struct Experiment {
    flag: String,
    pos: Pos,
    path: String,
    range: Range,
}

struct Layer {
    space: SpaceDef,
    experiments: Vec<Experiment>,
}

enum Covers {
    All,
    /// Layer names or flag keys, each with where it is written.
    Names(Vec<(String, Pos, String)>),
}

struct HoldoutDef {
    space: SpaceDef,
    end: u64,
    covers: Covers,
    serve: Option<(String, Pos, String)>,
}

/// The file's layers and holdouts, checked and placed.
#[derive(Default)]
pub struct Layers {
    layers: Vec<Layer>,
    holdouts: Vec<HoldoutDef>,
}

/// A flag rule that names a layer (`layer: NAME`), found while reading flags.
pub struct LayerRef {
    /// Flag key.
    pub flag: String,
    /// Index of the rule among the flag's rules.
    pub rule: usize,
    /// The layer named.
    pub layer: String,
    /// Where the name is written.
    pub pos: Pos,
    /// Document path of the `layer` field.
    pub path: String,
}

/// Reads the top-level `layers` and `holdouts` mappings; problems go to `cx`.
pub fn read(cx: &mut Cx, layers: Option<&Node>, holdouts: Option<&Node>) -> Layers {
    let mut out = Layers::default();
    if let Some(node) = layers {
        for (name, key, value) in cx.entries(node, "layers", "layers").unwrap_or_default() {
            if let Some(layer) = layer(cx, name, key.pos, value) {
                out.layers.push(layer);
            }
        }
    }
    if let Some(node) = holdouts {
        for (name, key, value) in cx.entries(node, "holdouts", "holdouts").unwrap_or_default() {
            if let Some(h) = holdout(cx, name, key.pos, value) {
                out.holdouts.push(h);
            }
        }
    }
    out
}

/// Salt, `bucket_by` and `buckets` of a layer or holdout.
fn space(
    cx: &mut Cx,
    name: &str,
    pos: Pos,
    path: &str,
    fields: &super::reader::Fields,
) -> Option<SpaceDef> {
    let salt = match fields.get("salt") {
        Some(n) => cx.text(n, &join(path, "salt"), "a salt").map(str::to_owned),
        None => Some(name.to_owned()),
    };
    let unit = match fields.get("bucket_by") {
        Some(n) => {
            let here = join(path, "bucket_by");
            cx.text(n, &here, "an attribute path")
                .and_then(|t| condition::attribute_path(cx, t, &here, n.pos))
                .map(Some)
        }
        None => Some(None),
    };
    let count = match fields.get("buckets") {
        Some(n) => whole(cx, n, &join(path, "buckets"), "a bucket count").and_then(|c| {
            if (1..=1u64 << 32).contains(&c) {
                Some(c)
            } else {
                cx.error(
                    n.pos,
                    &join(path, "buckets"),
                    format!("bucket count {c} is not between 1 and 4294967296 (2^32)"),
                );
                None
            }
        }),
        None => Some(DEFAULT_BUCKETS),
    };
    Some(SpaceDef {
        name: name.to_owned(),
        pos,
        path: path.to_owned(),
        salt: salt?,
        unit: unit?,
        count: count?,
    })
}

fn layer(cx: &mut Cx, name: &str, pos: Pos, node: &Node) -> Option<Layer> {
    let path = join("layers", name);
    let fields = cx.fields(node, &path, "a layer", &LAYER_FIELDS)?;
    let space = space(cx, name, pos, &path, &fields);
    let listed = match fields.get("experiments") {
        Some(n) => cx.entries(n, &join(&path, "experiments"), "experiments")?,
        None => {
            cx.error(
                pos,
                &path,
                "a layer needs `experiments:`, a mapping of flag keys to a `share` or `range`",
            );
            return None;
        }
    };
    let space = space?;
    // Explicit ranges first, then shares placed in the free ranges left.
    let mut claims = Vec::new();
    let mut ok = true;
    for (flag, key, value) in listed {
        let here = join(&join(&path, "experiments"), flag);
        match claim(cx, value, &here, space.count) {
            Some(c) => claims.push((flag, key.pos, here, c)),
            None => ok = false,
        }
    }
    let claimed: u64 = claims
        .iter()
        .map(|(_, _, _, c)| match c {
            Claim::Range(s, e) => e - s,
            Claim::Share(n) => *n,
        })
        .sum();
    if claimed > space.count {
        cx.error(
            pos,
            &path,
            format!(
                "the experiments of layer '{name}' claim {claimed} of its {} buckets ({:.4} %): a layer holds at most 100 %",
                space.count,
                claimed as f64 * 100.0 / space.count as f64
            ),
        );
        return None;
    }
    let mut taken: Vec<(Range, &str)> = Vec::new();
    for (flag, _, here, c) in &claims {
        let &Claim::Range(s, e) = c else { continue };
        if let Some((_, other)) = taken.iter().find(|((a, b), _)| s < *b && *a < e) {
            cx.error(
                claims_pos(&claims, flag),
                here,
                format!("range [{s}, {e}) of experiment '{flag}' overlaps experiment '{other}' in layer '{name}'"),
            );
            ok = false;
        }
        taken.push(((s, e), flag));
    }
    let mut experiments = Vec::new();
    for (flag, pos, here, c) in &claims {
        let range = match *c {
            Claim::Range(s, e) => (s, e),
            Claim::Share(n) => match free_range(&taken, space.count, n) {
                Some(r) => {
                    taken.push((r, flag));
                    r
                }
                None => {
                    cx.error(
                        *pos,
                        here,
                        format!("no free range of {n} buckets is left in layer '{name}' for experiment '{flag}' (the free buckets are not contiguous: give explicit ranges)"),
                    );
                    ok = false;
                    continue;
                }
            },
        };
        experiments.push(Experiment {
            flag: (*flag).to_owned(),
            pos: *pos,
            path: here.clone(),
            range,
        });
    }
    ok.then_some(Layer { space, experiments })
}

fn claims_pos(claims: &[(&str, Pos, String, Claim)], flag: &str) -> Pos {
    claims
        .iter()
        .find(|(f, ..)| *f == flag)
        .map_or(Pos { line: 1, column: 1 }, |c| c.1)
}

/// The lowest free range of `n` buckets among the `taken` ones.
fn free_range(taken: &[(Range, &str)], count: u64, n: u64) -> Option<Range> {
    let mut used: Vec<Range> = taken.iter().map(|(r, _)| *r).collect();
    used.sort_unstable();
    let mut start = 0;
    for (s, e) in used.into_iter().chain([(count, count)]) {
        if s >= start + n {
            return Some((start, start + n));
        }
        start = start.max(e);
    }
    None
}

enum Claim {
    Range(u64, u64),
    /// A share, already in buckets.
    Share(u64),
}

/// An experiment's `share` (percent) or `range` ([start, end) in buckets).
fn claim(cx: &mut Cx, node: &Node, path: &str, count: u64) -> Option<Claim> {
    let fields = cx.fields(node, path, "an experiment", &EXPERIMENT_FIELDS)?;
    match (fields.get("share"), fields.get("range")) {
        (Some(s), None) => share(cx, s, &join(path, "share"), count).map(Claim::Share),
        (None, Some(r)) => {
            range(cx, r, &join(path, "range"), count).map(|(s, e)| Claim::Range(s, e))
        }
        (Some(_), Some(r)) => {
            cx.error(
                r.pos,
                path,
                "an experiment takes a `share` or a `range`, not both",
            );
            None
        }
        (None, None) => {
            cx.error(
                node.pos,
                path,
                "an experiment needs `share: PERCENT` or `range: [START, END]` (buckets)",
            );
            None
        }
    }
}

/// A share in percent, above 0 and at most 100, as a whole number of the
/// `count` buckets (rounded down).
fn share(cx: &mut Cx, node: &Node, path: &str, count: u64) -> Option<u64> {
    let percent = cx.number(node, path, "a share")?.as_f64()?;
    if !(percent > 0.0 && percent <= 100.0) {
        cx.error(
            node.pos,
            path,
            format!("a share is a percentage above 0 and at most 100, found {percent}"),
        );
        return None;
    }
    let buckets = (percent * count as f64 / 100.0).floor() as u64;
    if buckets == 0 {
        cx.error(
            node.pos,
            path,
            format!("a share of {percent} % is less than one of the {count} buckets"),
        );
        return None;
    }
    Some(buckets)
}

/// `[start, end]`: whole buckets, `start < end <= count` (end exclusive).
fn range(cx: &mut Cx, node: &Node, path: &str, count: u64) -> Option<Range> {
    let items = cx.seq(node, path, "two bucket numbers")?;
    let [a, b] = items else {
        cx.error(
            node.pos,
            path,
            format!(
                "a range is [START, END] (two bucket numbers, END exclusive), found {} items",
                items.len()
            ),
        );
        return None;
    };
    let (s, e) = (
        whole(cx, a, path, "a range start")?,
        whole(cx, b, path, "a range end")?,
    );
    if s >= e || e > count {
        cx.error(
            node.pos,
            path,
            format!("range [{s}, {e}) is empty or not within the layer's {count} buckets"),
        );
        return None;
    }
    Some((s, e))
}

/// A whole, non-negative number.
fn whole(cx: &mut Cx, node: &Node, path: &str, what: &str) -> Option<u64> {
    match scalar(node).map(|s| s.typed()) {
        Some(Typed::Number(n)) if n.is_u64() => n.as_u64(),
        _ => {
            cx.error(
                node.pos,
                path,
                format!(
                    "{what} must be a whole number from 0, found {}",
                    describe(node)
                ),
            );
            None
        }
    }
}

fn holdout(cx: &mut Cx, name: &str, pos: Pos, node: &Node) -> Option<HoldoutDef> {
    let path = join("holdouts", name);
    let fields = cx.fields(node, &path, "a holdout", &HOLDOUT_FIELDS)?;
    let space = space(cx, name, pos, &path, &fields);
    let end = match (fields.get("share"), &space) {
        (Some(s), Some(sp)) => share(cx, s, &join(&path, "share"), sp.count),
        (None, _) => {
            cx.error(pos, &path, "a holdout needs `share: PERCENT`");
            None
        }
        _ => None,
    };
    let covers = match fields.get("from") {
        Some(n) => covers(cx, n, &join(&path, "from")),
        None => {
            cx.error(
                pos,
                &path,
                "a holdout needs `from: all` or `from: [LAYER or FLAG, ...]`",
            );
            None
        }
    };
    let serve = match fields.get("serve") {
        Some(n) => cx
            .text(n, &join(&path, "serve"), "a variant name")
            .map(|v| (v.to_owned(), n.pos, join(&path, "serve"))),
        None => None,
    };
    if fields.get("serve").is_some() && serve.is_none() {
        return None;
    }
    Some(HoldoutDef {
        space: space?,
        end: end?,
        covers: covers?,
        serve,
    })
}

fn covers(cx: &mut Cx, node: &Node, path: &str) -> Option<Covers> {
    if let Kind::Scalar(s) = &node.kind {
        if s.text == "all" {
            return Some(Covers::All);
        }
    }
    let Kind::Seq(items) = &node.kind else {
        cx.error(
            node.pos,
            path,
            format!(
                "`from` is `all` or a list of layer names and flag keys, found {}",
                describe(node)
            ),
        );
        return None;
    };
    let mut names = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let here = format!("{path}[{i}]");
        names.push((
            cx.text(item, &here, "a layer name or flag key")?.to_owned(),
            item.pos,
            here,
        ));
    }
    if names.is_empty() {
        cx.error(node.pos, path, "`from` lists no layer or flag");
        return None;
    }
    Some(Covers::Names(names))
}

impl Layers {
    /// Adds the layer and holdout tests to `flags` (sorted by key, each
    /// complete with its metadata) and returns the bucket spaces they use.
    /// `refs` are the rules that name a layer. Problems go to `cx`.
    pub fn apply(&self, cx: &mut Cx, refs: &[LayerRef], flags: &mut [Flag]) -> Vec<BucketSpace> {
        let mut spaces: Vec<BucketSpace> = Vec::new();
        let mut space_of = |cx: &mut Cx, def: &SpaceDef| -> u32 {
            let new = BucketSpace {
                name: def.name.clone(),
                scheme: HashScheme::Murmur3X86_32,
                salt: def.salt.clone(),
                unit: def.unit.clone(),
            };
            if let Some(other) = spaces
                .iter()
                .find(|s| (&s.salt, &s.unit) == (&new.salt, &new.unit))
            {
                cx.error(
                    def.pos,
                    &def.path,
                    format!(
                        "'{}' buckets units exactly as '{}' does (same salt and unit): give it its own `salt`",
                        def.name, other.name
                    ),
                );
            }
            spaces.push(new);
            (spaces.len() - 1) as u32
        };
        let layer_spaces: Vec<u32> = self.layers.iter().map(|l| space_of(cx, &l.space)).collect();
        let holdout_spaces: Vec<u32> = self
            .holdouts
            .iter()
            .map(|h| space_of(cx, &h.space))
            .collect();

        // Every rule naming a layer is one of its listed experiments, once.
        let mut layer_rules: Vec<(usize, usize, usize)> = Vec::new(); // (flag index, rule, layer index)
        for r in refs {
            let Some(li) = self.layers.iter().position(|l| l.space.name == r.layer) else {
                cx.error(
                    r.pos,
                    &r.path,
                    format!("unknown layer '{}'{}", r.layer, self.known_layers()),
                );
                continue;
            };
            let layer = &self.layers[li];
            if !layer.experiments.iter().any(|e| e.flag == r.flag) {
                cx.error(
                    r.pos,
                    &r.path,
                    format!("flag '{}' is not an experiment of layer '{}': list it under layers.{}.experiments", r.flag, r.layer, r.layer),
                );
                continue;
            }
            if let Some(first) = refs
                .iter()
                .find(|o| o.flag == r.flag && o.layer == r.layer && o.rule < r.rule)
            {
                cx.error(
                    r.pos,
                    &r.path,
                    format!("experiment '{}' is in two places of layer '{}': rules {} and {} both name it", r.flag, r.layer, first.rule, r.rule),
                );
                continue;
            }
            let Some(fi) = flags.iter().position(|f| f.key == r.flag) else {
                continue;
            };
            layer_rules.push((fi, r.rule, li));
        }
        for layer in &self.layers {
            for e in &layer.experiments {
                if !refs
                    .iter()
                    .any(|r| r.flag == e.flag && r.layer == layer.space.name)
                {
                    cx.error(
                        e.pos,
                        &e.path,
                        format!("experiment '{}' of layer '{}' has no rule: give a rule of flag '{}' `layer: {}`", e.flag, layer.space.name, e.flag, layer.space.name),
                    );
                }
            }
        }
        for &(fi, ri, li) in &layer_rules {
            let layer = &self.layers[li];
            let Some(e) = layer.experiments.iter().find(|e| e.flag == flags[fi].key) else {
                continue;
            };
            let test = in_buckets(layer_spaces[li], layer.space.count, vec![e.range]);
            if let Some(rule) = rules_mut(&mut flags[fi]).and_then(|r| r.get_mut(ri)) {
                rule.when = Some(and(rule.when.take(), test));
            }
        }

        // Holdouts: a rule before each experiment rule they cover.
        for h in &self.holdouts {
            if let Covers::Names(names) = &h.covers {
                for (name, pos, path) in names {
                    let known = self.layers.iter().any(|l| &l.space.name == name)
                        || flags.iter().any(|f| &f.key == name);
                    if !known {
                        cx.error(
                            *pos,
                            path,
                            format!("'{name}' is neither a layer nor a flag"),
                        );
                    }
                }
            }
        }
        for (fi, flag) in flags.iter_mut().enumerate() {
            let layer_of = |ri: usize| {
                layer_rules
                    .iter()
                    .find(|&&(f, r, _)| (f, r) == (fi, ri))
                    .map(|&(_, _, li)| self.layers[li].space.name.as_str())
            };
            let Targeting::Rules(rules) = &flag.targeting else {
                continue;
            };
            let mut out = Vec::with_capacity(rules.len());
            for (ri, rule) in rules.iter().enumerate() {
                let layer = layer_of(ri);
                let experiment = layer.is_some() || matches!(rule.serve, Serve::Split(_));
                for (h, &space) in self.holdouts.iter().zip(&holdout_spaces) {
                    let covered = experiment
                        && match &h.covers {
                            Covers::All => true,
                            Covers::Names(names) => names
                                .iter()
                                .any(|(n, ..)| *n == flag.key || Some(n.as_str()) == layer),
                        };
                    if !covered {
                        continue;
                    }
                    let variant = match &h.serve {
                        None => None,
                        Some((name, pos, path)) => {
                            match flag.variants.iter().position(|v| &v.name == name) {
                                Some(i) => Some(i as u32),
                                None => {
                                    cx.error(
                                        *pos,
                                        path,
                                        format!("holdout '{}' serves '{name}', which flag '{}' (an experiment it holds out of) does not define", h.space.name, flag.key),
                                    );
                                    continue;
                                }
                            }
                        }
                    };
                    let test = in_buckets(space, h.space.count, vec![(0, h.end)]);
                    out.push(Rule {
                        when: Some(and(rule.when.clone(), test)),
                        serve: holdout_serve(&h.space.name, variant, flag),
                        active_from: rule.active_from,
                        active_until: rule.active_until,
                    });
                }
                out.push(rule.clone());
            }
            flag.targeting = Targeting::Rules(out);
        }
        spaces
    }

    fn known_layers(&self) -> String {
        if self.layers.is_empty() {
            "; the file defines no `layers`".to_owned()
        } else {
            let names: Vec<&str> = self.layers.iter().map(|l| l.space.name.as_str()).collect();
            format!("; layers: {}", names.join(", "))
        }
    }
}

fn rules_mut(flag: &mut Flag) -> Option<&mut Vec<Rule>> {
    match &mut flag.targeting {
        Targeting::Rules(rules) => Some(rules),
        _ => None,
    }
}

fn in_buckets(space: u32, count: u64, ranges: Vec<Range>) -> Expr {
    Expr::InBuckets(BucketRanges {
        space,
        count,
        ranges,
    })
}

/// `when` and `test` (the rule's own condition first).
fn and(when: Option<Expr>, test: Expr) -> Expr {
    match when {
        None => test,
        Some(w) => Expr::Op(Op::And, vec![w, test]),
    }
}

/// What a holdout serves in `flag`: `variant` (or the default) with the
/// flag's metadata plus `holdout: NAME`.
fn holdout_serve(name: &str, variant: Option<u32>, flag: &Flag) -> Serve {
    let mut metadata = flag.metadata.clone();
    metadata.insert("holdout".to_owned(), Value::String(name.to_owned()));
    Serve::Holdout(Holdout {
        name: name.to_owned(),
        variant,
        metadata,
    })
}
