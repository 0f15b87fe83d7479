//! Flags: typed variants, the default variant, `enabled`, metadata and
//! ordered rules (condition, `serve` or `split`, active window), lowered to
//! the resolver's [`Flag`].

use serde_json::{Map, Value};
use vane_resolver::expr::Path;
use vane_resolver::model::{Flag, Rule, Serve, Split, Targeting, Variant};

use super::condition;
use super::exposures;
use super::layers::LayerRef;
use super::reader::{describe, join, scalar, Cx};
use super::segments::Segments;
use super::timestamp;
use super::yaml::{to_json, Kind, Node, Pos, Typed};
use vane_resolver::limits::{flag_key_too_long, MAX_FLAG_KEY_BYTES};

const FLAG_FIELDS: [&str; 8] = [
    "type",
    "description",
    "enabled",
    "variants",
    "default",
    "rules",
    "metadata",
    "exposures",
];

const RULE_FIELDS: [&str; 9] = [
    "description",
    "layer",
    "when",
    "serve",
    "split",
    "bucket_by",
    "salt",
    "active_from",
    "active_until",
];

const TYPES: [&str; 4] = ["boolean", "string", "number", "object"];

/// The type of a variant value, `None` for values no variant may have.
fn type_of(v: &Value) -> Option<&'static str> {
    match v {
        Value::Bool(_) => Some("boolean"),
        Value::String(_) => Some("string"),
        Value::Number(_) => Some("number"),
        Value::Object(_) => Some("object"),
        Value::Null | Value::Array(_) => None,
    }
}

/// True for a flag key usable in OFREP URLs: letters, digits, `-`, `_`, `.`.
fn valid_key(key: &str) -> bool {
    key.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Reads and lowers one flag. `set_metadata` (the file's top-level
/// `metadata`) is merged under the flag's own; rules naming a layer are
/// added to `layer_refs` (the layer's test is added later). With the flag
/// come the context attributes its `exposures:` opts in, and where they are
/// written. `None` when the flag has errors, all of them reported.
pub fn flag(
    cx: &mut Cx,
    segments: &mut Segments,
    key: &str,
    key_node: &Node,
    node: &Node,
    set_metadata: &Map<String, Value>,
    layer_refs: &mut Vec<LayerRef>,
) -> Option<(Flag, Option<exposures::Opted>)> {
    cx.flag = Some(key.to_owned());
    let result = read_flag(cx, segments, key, key_node, node, set_metadata, layer_refs);
    cx.flag = None;
    result
}

fn read_flag(
    cx: &mut Cx,
    segments: &mut Segments,
    key: &str,
    key_node: &Node,
    node: &Node,
    set_metadata: &Map<String, Value>,
    layer_refs: &mut Vec<LayerRef>,
) -> Option<(Flag, Option<exposures::Opted>)> {
    let path = format!("flags.{key}");
    let mut ok = true;
    if !valid_key(key) {
        cx.error(
            key_node.pos,
            &path,
            format!("flag key '{key}' may only use letters, digits, '-', '_' and '.'"),
        );
        ok = false;
    }
    if key.len() > MAX_FLAG_KEY_BYTES {
        cx.error(key_node.pos, &path, flag_key_too_long(key.len()));
        ok = false;
    }
    let fields = cx.fields(node, &path, "a flag", &FLAG_FIELDS)?;
    let declared = match fields.get("type") {
        Some(t) => match cx.text(t, &join(&path, "type"), "a flag type") {
            Some(ty) if TYPES.contains(&ty) => Some(ty),
            Some(ty) => {
                cx.error(
                    t.pos,
                    &join(&path, "type"),
                    format!("unknown flag type '{ty}'; types: {}", TYPES.join(", ")),
                );
                ok = false;
                None
            }
            None => {
                ok = false;
                None
            }
        },
        None => None,
    };
    let variants_path = join(&path, "variants");
    let variants = match fields.get("variants") {
        Some(v) => variants(cx, v, &variants_path, declared),
        None => {
            cx.error(
                key_node.pos,
                &path,
                "a flag needs `variants:`, a mapping of variant names to values",
            );
            None
        }
    };
    let enabled = match fields.get("enabled") {
        Some(n) => cx.boolean(n, &join(&path, "enabled"), "`enabled`"),
        None => Some(true),
    };
    let metadata = match fields.get("metadata") {
        Some(m) => metadata(cx, m, &join(&path, "metadata")),
        None => Some(Map::new()),
    };
    let exposure_attributes = match fields.get("exposures") {
        Some(n) => exposures::attributes(cx, n, &path).map(|a| Some((a, n.pos))),
        None => Some(None),
    };
    let Some(variants) = variants else {
        // Rules and the default name variants; without them, still check
        // the rules' conditions so their errors are reported too.
        if let Some(rules) = fields.get("rules") {
            check_rule_conditions(cx, segments, rules, &join(&path, "rules"));
        }
        return None;
    };
    let default_variant = match fields.get("default") {
        Some(d) => variant_index(cx, &variants, d, &join(&path, "default")),
        None => {
            cx.error(
                key_node.pos,
                &path,
                format!(
                    "default variant missing: add `default:` naming one of: {}",
                    names(&variants)
                ),
            );
            None
        }
    };
    let targeting = match fields.get("rules") {
        None => Some(Targeting::Static),
        Some(r) => rules(
            cx,
            segments,
            key,
            &variants,
            r,
            &join(&path, "rules"),
            layer_refs,
        )
        .map(|rules| {
            if rules.is_empty() {
                Targeting::Static
            } else {
                Targeting::Rules(rules)
            }
        }),
    };
    let (
        Some(default_variant),
        Some(enabled),
        Some(mut metadata),
        Some(targeting),
        Some(exposure_attributes),
        true,
    ) = (
        default_variant,
        enabled,
        metadata,
        targeting,
        exposure_attributes,
        ok,
    )
    else {
        return None;
    };
    for (k, v) in set_metadata {
        metadata.entry(k.clone()).or_insert_with(|| v.clone());
    }
    let flag = Flag {
        key: key.to_owned(),
        variants,
        default_variant: Some(default_variant),
        disabled: !enabled,
        targeting,
        metadata,
    };
    Some((flag, exposure_attributes))
}

/// The variants, all of one type (`declared`, or the first variant's).
fn variants(cx: &mut Cx, node: &Node, path: &str, declared: Option<&str>) -> Option<Vec<Variant>> {
    let entries = cx.entries(node, path, "variants")?;
    if entries.is_empty() {
        // Entries with unusable names were reported where they are.
        if matches!(&node.kind, Kind::Map(written) if written.is_empty()) {
            cx.error(node.pos, path, "a flag needs at least one variant");
        }
        return None;
    }
    let mut out = Vec::with_capacity(entries.len());
    let mut first: Option<(&str, &str)> = None;
    let mut ok = true;
    for (name, _, value) in entries {
        let here = join(path, name);
        let json = match to_json(value) {
            Ok(v) => v,
            Err((pos, message)) => {
                cx.error(pos, &here, message);
                ok = false;
                continue;
            }
        };
        let Some(ty) = type_of(&json) else {
            cx.error(
                value.pos,
                &here,
                format!(
                    "variant '{name}' must be a boolean, string, number or object, found {}",
                    describe(value)
                ),
            );
            ok = false;
            continue;
        };
        match (declared, first) {
            (Some(expected), _) if ty != expected => {
                cx.error(
                    value.pos,
                    &here,
                    format!("variant '{name}' is a {ty}, but the flag's type is {expected}"),
                );
                ok = false;
            }
            (None, Some((first_name, first_ty))) if ty != first_ty => {
                cx.error(
                    value.pos,
                    &here,
                    format!(
                        "mixed variant types: variant '{name}' is a {ty}, but variant '{first_name}' is a {first_ty}"
                    ),
                );
                ok = false;
            }
            (None, None) => first = Some((name, ty)),
            _ => {}
        }
        out.push(Variant {
            name: name.to_owned(),
            value: json,
        });
    }
    ok.then_some(out)
}

fn names(variants: &[Variant]) -> String {
    variants
        .iter()
        .map(|v| v.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The index of the variant a scalar names.
fn variant_index(cx: &mut Cx, variants: &[Variant], node: &Node, path: &str) -> Option<u32> {
    let name = cx.text(node, path, "a variant name")?;
    match variants.iter().position(|v| v.name == name) {
        Some(i) => u32::try_from(i).ok(),
        None => {
            cx.error(
                node.pos,
                path,
                format!("unknown variant '{name}'; variants: {}", names(variants)),
            );
            None
        }
    }
}

/// Flag metadata: a mapping of names to strings, numbers or booleans.
pub fn metadata(cx: &mut Cx, node: &Node, path: &str) -> Option<Map<String, Value>> {
    let entries = cx.entries(node, path, "metadata")?;
    let mut map = Map::new();
    let mut ok = true;
    for (name, _, value) in entries {
        match cx.scalar_value(value, &join(path, name), "a metadata value") {
            Some(v) => {
                map.insert(name.to_owned(), v);
            }
            None => ok = false,
        }
    }
    ok.then_some(map)
}

/// Parses the conditions of rules whose flag has unusable variants, only to
/// report their errors.
fn check_rule_conditions(cx: &mut Cx, segments: &mut Segments, node: &Node, path: &str) {
    let Some(items) = cx.seq(node, path, "rules") else {
        return;
    };
    for (i, item) in items.iter().enumerate() {
        let here = format!("{path}[{i}]");
        if let Some(when) = cx
            .fields(item, &here, "a rule", &RULE_FIELDS)
            .and_then(|f| f.get("when"))
        {
            let when_path = join(&here, "when");
            if let Some(cond) = condition::parse(cx, when, &when_path) {
                segments.lower(cx, &cond, when.pos, &when_path);
            }
        }
    }
}

/// The ordered rules; those naming a layer go to `layer_refs` too.
fn rules(
    cx: &mut Cx,
    segments: &mut Segments,
    flag_key: &str,
    variants: &[Variant],
    node: &Node,
    path: &str,
    layer_refs: &mut Vec<LayerRef>,
) -> Option<Vec<Rule>> {
    let items = cx.seq(node, path, "rules")?;
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    let mut always: Option<usize> = None;
    for (i, item) in items.iter().enumerate() {
        let here = format!("{path}[{i}]");
        if let Some(first) = always {
            cx.warning(
                item.pos,
                &here,
                format!("this rule never applies: rule {first} above always matches"),
            );
        }
        match rule(cx, segments, flag_key, variants, item, &here) {
            Some((r, layer)) => {
                let in_layer = layer.is_some();
                if let Some((name, pos)) = layer {
                    layer_refs.push(LayerRef {
                        flag: flag_key.to_owned(),
                        rule: i,
                        layer: name,
                        pos,
                        path: join(&here, "layer"),
                    });
                }
                if r.when.is_none()
                    && !in_layer
                    && r.active_from.is_none()
                    && r.active_until.is_none()
                {
                    always.get_or_insert(i);
                }
                out.push(r);
            }
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// One rule, and the layer it names (with where the name is written).
fn rule(
    cx: &mut Cx,
    segments: &mut Segments,
    flag_key: &str,
    variants: &[Variant],
    node: &Node,
    path: &str,
) -> Option<(Rule, Option<(String, Pos)>)> {
    let fields = cx.fields(node, path, "a rule", &RULE_FIELDS)?;
    let mut ok = true;
    let layer = match fields.get("layer") {
        Some(n) => {
            let name = cx.text(n, &join(path, "layer"), "a layer name");
            ok &= name.is_some();
            name.map(|t| (t.to_owned(), n.pos))
        }
        None => None,
    };
    let when = match fields.get("when") {
        Some(w) => {
            let when_path = join(path, "when");
            let cond = condition::parse(cx, w, &when_path);
            let expr = cond.and_then(|c| segments.lower(cx, &c, w.pos, &when_path));
            ok &= expr.is_some();
            expr
        }
        None => None,
    };
    let mut window = |name: &str| match fields.get(name) {
        Some(n) => match timestamp::parse(n) {
            Ok(t) => Some(t),
            Err(e) => {
                cx.error(n.pos, &join(path, name), e);
                ok = false;
                None
            }
        },
        None => None,
    };
    let active_from = window("active_from");
    let active_until = window("active_until");
    if let (Some(from), Some(until)) = (active_from, active_until) {
        if from >= until {
            let at = fields.get("active_until").map_or(node.pos, |n| n.pos);
            cx.error(
                at,
                &join(path, "active_until"),
                format!("empty window: active_from ({from}) is not before active_until ({until})"),
            );
            ok = false;
        }
    }
    let serve = match (fields.get("serve"), fields.get("split")) {
        (Some(v), None) => {
            for extra in ["bucket_by", "salt"] {
                if let Some(n) = fields.get(extra) {
                    cx.error(
                        n.pos,
                        &join(path, extra),
                        format!("`{extra}` only applies to a `split`, not to `serve`"),
                    );
                    ok = false;
                }
            }
            variant_index(cx, variants, v, &join(path, "serve")).map(Serve::Variant)
        }
        (None, Some(s)) => split(cx, flag_key, variants, s, &fields, path).map(Serve::Split),
        (Some(_), Some(s)) => {
            cx.error(
                s.pos,
                path,
                "a rule serves one variant (`serve`) or a split (`split`), not both",
            );
            None
        }
        (None, None) => {
            cx.error(
                node.pos,
                path,
                "a rule needs `serve: <variant>` or `split: {variant: weight, ...}`",
            );
            None
        }
    };
    let serve = serve?;
    ok.then_some((
        Rule {
            when,
            serve,
            active_from,
            active_until,
        },
        layer,
    ))
}

/// A weighted split with its bucketing attribute and salt.
fn split(
    cx: &mut Cx,
    flag_key: &str,
    variants: &[Variant],
    node: &Node,
    fields: &super::reader::Fields,
    path: &str,
) -> Option<Split> {
    let split_path = join(path, "split");
    let entries = cx.entries(node, &split_path, "split weights")?;
    if entries.is_empty() {
        cx.error(
            node.pos,
            &split_path,
            "empty split: give each variant a weight",
        );
        return None;
    }
    let mut weights = Vec::with_capacity(entries.len());
    let mut total: u64 = 0;
    let mut ok = true;
    for (name, key, value) in entries {
        let here = join(&split_path, name);
        let index = variant_index(cx, variants, key, &here);
        let weight = weight(cx, value, &here);
        if let (Some(i), Some(w)) = (index, weight) {
            total += u64::from(w);
            weights.push((i, w));
        } else {
            ok = false;
        }
    }
    let bucket_by = match fields.get("bucket_by") {
        Some(n) => bucket_by(cx, n, &join(path, "bucket_by")).map(Some),
        None => Some(None),
    };
    let salt = match fields.get("salt") {
        Some(n) => cx.text(n, &join(path, "salt"), "a salt").map(str::to_owned),
        None => Some(flag_key.to_owned()),
    };
    if ok && total == 0 {
        cx.error(
            node.pos,
            &split_path,
            "split weights are all zero: give at least one variant a positive weight",
        );
        ok = false;
    }
    if total > u64::from(u32::MAX) {
        cx.error(
            node.pos,
            &split_path,
            format!("split weights add up to {total}, more than {}", u32::MAX),
        );
        ok = false;
    }
    weights.retain(|&(_, w)| w > 0);
    Some(Split {
        bucket_by: bucket_by?,
        salt: salt?,
        weights,
    })
    .filter(|_| ok)
}

/// A split weight: a whole number from 0 to `u32::MAX`.
fn weight(cx: &mut Cx, node: &Node, path: &str) -> Option<u32> {
    let number = match scalar(node).map(|s| s.typed()) {
        Some(Typed::Number(n)) => n,
        _ => {
            cx.error(
                node.pos,
                path,
                format!(
                    "a split weight must be a whole number, found {}",
                    describe(node)
                ),
            );
            return None;
        }
    };
    let message = if number.as_i64().is_some_and(|w| w < 0) {
        format!("split weight must not be negative, found {number}")
    } else if !(number.is_u64() || number.is_i64()) {
        format!("split weights are whole numbers, found {number}")
    } else {
        match number.as_u64().map(u32::try_from) {
            Some(Ok(w)) => return Some(w),
            _ => format!("split weight {number} is more than {}", u32::MAX),
        }
    };
    cx.error(node.pos, path, message);
    None
}

/// The attribute path a split buckets by.
fn bucket_by(cx: &mut Cx, node: &Node, path: &str) -> Option<Path> {
    let text = cx.text(node, path, "an attribute path")?;
    condition::attribute_path(cx, text, path, node.pos)
}
