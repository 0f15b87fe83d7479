//! The Confidence front end: a Spotify Confidence resolver state (binary
//! protobuf, encrypted or not, proto3 JSON, or the resolver specification's
//! test form; see [`read`]) compiled to the IR.
//!
//! - each flag becomes a flag with assignment rules
//!   ([`vane_resolver::model::Assigned`]); an archived flag is disabled;
//! - each client credential becomes a snapshot client named by the
//!   credential, holding the sha256 of its secret (never the secret);
//!   a flag's clients and a rule's environments become the credentials
//!   allowed;
//! - a segment's targeting becomes a condition of converting criteria
//!   ([`vane_resolver::expr::criterion`]); referenced segments are inlined
//!   (a reference back into the chain being inlined never matches);
//! - a segment's allocation bitset becomes bucket ranges over 1,000,000
//!   buckets in the space `"MegaSalt-{account}"` (MurmurHash3 x64 128) of
//!   the rule's unit, and the variant assignments ranges over
//!   `bucketCount` in the space named by the segment's id.
//!
//! `docs/rules.md` ("Confidence flags") documents the semantics.

mod proto;
mod read;

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use vane_resolver::bucket::HashScheme;
use vane_resolver::expr::criterion::{Bound, Criterion, Kind, Operand, Rule as CRule};
use vane_resolver::expr::typed::SemVer;
use vane_resolver::expr::{Bloom, Expr, Member, Op, Path};
use vane_resolver::model::{
    AssignRule, Assigned, Assignment, Body, Client, Flag, KeyDigest, Outcome, Sticky, Targeting,
    Variant,
};
use vane_resolver::snapshot::sha256;
use vane_resolver::space::{BucketBitmap, BucketRanges, BucketSpace};

use crate::compiled::Compiled;
use crate::diagnostic::Diagnostic;
use read::{Bits, State};

/// Buckets of a Confidence segment allocation.
pub const ALLOCATION_BUCKETS: u64 = 1_000_000;

/// Most expression nodes one rule's inlined segment condition may have.
const MAX_CONDITION_NODES: usize = 100_000;

/// What the state itself may lack.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// The account id (`confidence-demo-june`), when the state does not name
    /// it (binary and proto3-JSON states never do).
    pub account: Option<String>,
    /// The AES-256 key of an encrypted state.
    pub state_key: Option<[u8; 32]>,
}

/// True when a JSON text is a Confidence state rather than flagd JSON: a
/// top-level `segmentsNoBitsets`, `clientCredentials`, `bitsets`,
/// `segments` or `account`, or `flags` given as a list.
pub fn looks_like_state(text: &str) -> bool {
    let Ok(Value::Object(top)) = serde_json::from_str::<Value>(text) else {
        return false;
    };
    [
        "segmentsNoBitsets",
        "clientCredentials",
        "bitsets",
        "segments",
        "account",
    ]
    .iter()
    .any(|k| top.contains_key(*k))
        || top.get("flags").is_some_and(Value::is_array)
}

/// Compiles a Confidence state. The tenant it names is the account id.
/// Errors: every problem found, located by JSON path, flag and segment.
pub fn compile(file: &str, bytes: &[u8], options: &Options) -> Result<Compiled, Vec<Diagnostic>> {
    let state = read::read(file, bytes, options.state_key.as_ref()).map_err(|d| vec![d])?;
    let Some(account) = options.account.clone().or(state.account.clone()) else {
        return Err(vec![Diagnostic::error(
            file,
            "",
            "the state names no account (binary and proto3-JSON states never do): pass --account ID",
        )]);
    };
    let mut lower = Lower {
        file,
        state: &state,
        account: &account,
        spaces: Vec::new(),
        errors: Vec::new(),
        warnings: Vec::new(),
        credentials: BTreeMap::new(),
    };
    let clients = lower.clients();
    let mut flags: Vec<&proto::Flag> = state.flags.iter().collect();
    flags.sort_by(|a, b| a.name.cmp(&b.name));
    let flags: Vec<Flag> = flags.into_iter().map(|f| lower.flag(f)).collect();
    if !lower.errors.is_empty() {
        lower.errors.extend(lower.warnings);
        return Err(lower.errors);
    }
    Ok(Compiled {
        tenant: Some(account.clone()),
        body: Body {
            flags,
            clients,
            cors_origins: Vec::new(),
            metadata: Map::new(),
            spaces: lower.spaces,
            exposure_log: Default::default(),
        },
        warnings: lower.warnings,
    })
}

/// Parses a `--state-key` file: 64 hex digits (surrounding whitespace allowed).
pub fn parse_key(text: &str) -> Result<[u8; 32], String> {
    let hex = text.trim();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "a state key is 64 hex digits (AES-256), found {} characters",
            hex.len()
        ));
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|e| e.to_string())?;
    }
    Ok(key)
}

struct Lower<'s> {
    file: &'s str,
    state: &'s State,
    account: &'s str,
    spaces: Vec<BucketSpace>,
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
    /// Credential name → (Confidence client, environments).
    credentials: BTreeMap<String, (String, Vec<String>)>,
}

impl Lower<'_> {
    /// One snapshot client per credential with a secret: the secret's sha256.
    fn clients(&mut self) -> Vec<Client> {
        let mut out = Vec::new();
        for (i, credential) in self.state.credentials.iter().enumerate() {
            let Some(secret) = &credential.client_secret else {
                continue;
            };
            let owner = self
                .state
                .clients
                .iter()
                .find(|c| credential.name.starts_with(&format!("{}/", c.name)));
            let Some(owner) = owner else {
                self.warnings.push(Diagnostic::warning(
                    self.file,
                    format!("clientCredentials[{i}]"),
                    format!(
                        "credential '{}' belongs to no client of the state: it resolves nothing",
                        credential.name
                    ),
                ));
                continue;
            };
            self.credentials.insert(
                credential.name.clone(),
                (owner.name.clone(), credential.environments.clone()),
            );
            out.push(Client {
                name: credential.name.clone(),
                key_digests: vec![KeyDigest(sha256(secret.secret.as_bytes()))],
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    fn error(&mut self, flag: &str, path: String, message: String) {
        self.errors
            .push(Diagnostic::error(self.file, path, message).for_flag(flag));
    }

    fn flag(&mut self, flag: &proto::Flag) -> Flag {
        let variants: Vec<Variant> = flag
            .variants
            .iter()
            .map(|v| Variant {
                name: v.name.clone(),
                value: v
                    .value
                    .as_ref()
                    .map_or_else(|| Value::Object(Map::new()), proto::Struct::to_json),
            })
            .collect();
        let clients: Vec<String> = self
            .credentials
            .iter()
            .filter(|(_, (client, _))| flag.clients.contains(client))
            .map(|(name, _)| name.clone())
            .collect();
        let rules = flag
            .rules
            .iter()
            .enumerate()
            .filter_map(|(i, r)| self.rule(flag, &variants, i, r))
            .collect();
        Flag {
            key: flag.name.clone(),
            variants,
            default_variant: None,
            disabled: flag.state != proto::FLAG_ACTIVE,
            targeting: Targeting::Assigned(Box::new(Assigned {
                clients,
                rules,
                schema: flag
                    .schema
                    .as_ref()
                    .map_or(Value::Null, proto::StructSchema::to_json),
            })),
            metadata: Map::new(),
        }
    }

    fn space(&mut self, salt: String, unit: &Option<Path>) -> u32 {
        let found = self
            .spaces
            .iter()
            .position(|s| s.salt == salt && &s.unit == unit);
        let index = found.unwrap_or_else(|| {
            self.spaces.push(BucketSpace {
                name: salt.clone(),
                scheme: HashScheme::Murmur3X64_128,
                salt,
                unit: unit.clone(),
            });
            self.spaces.len() - 1
        });
        index as u32
    }

    fn rule(
        &mut self,
        flag: &proto::Flag,
        variants: &[Variant],
        index: usize,
        rule: &proto::Rule,
    ) -> Option<AssignRule> {
        let path = format!("flags.{}.rules[{index}]", flag.name);
        if !rule.enabled {
            return None;
        }
        let Some(segment) = self.state.segments.get(&rule.segment) else {
            self.warnings.push(
                Diagnostic::warning(
                    self.file,
                    format!("{path}.segment"),
                    format!(
                        "rule '{}' targets segment '{}', which the state lacks: the rule never applies",
                        rule.name, rule.segment
                    ),
                )
                .for_flag(&flag.name),
            );
            return None;
        };
        let Some(spec) = &rule.assignment_spec else {
            self.warnings.push(
                Diagnostic::warning(
                    self.file,
                    format!("{path}.assignmentSpec"),
                    format!(
                        "rule '{}' has no assignment spec: it never applies",
                        rule.name
                    ),
                )
                .for_flag(&flag.name),
            );
            return None;
        };
        let Ok(bucket_count) = u32::try_from(spec.bucket_count) else {
            self.error(
                &flag.name,
                format!("{path}.assignmentSpec.bucketCount"),
                "bucketCount must be at least 1".into(),
            );
            return None;
        };
        if bucket_count == 0 {
            self.error(
                &flag.name,
                format!("{path}.assignmentSpec.bucketCount"),
                "bucketCount must be at least 1".into(),
            );
            return None;
        }
        let unit_path: Option<Path> = (!rule.targeting_key_selector.is_empty()).then(|| {
            rule.targeting_key_selector
                .split('.')
                .map(str::to_owned)
                .collect()
        });
        let clients = (!rule.environments.is_empty()).then(|| {
            self.credentials
                .iter()
                .filter(|(_, (_, envs))| envs.iter().any(|e| rule.environments.contains(e)))
                .map(|(name, _)| name.clone())
                .collect::<Vec<_>>()
        });
        let mut budget = MAX_CONDITION_NODES;
        let mut stack = vec![segment.name.clone()];
        let when = self.targeting(segment, &unit_path, &mut stack, &mut budget);
        if budget == 0 {
            self.error(
                &flag.name,
                format!("{path}.segment"),
                format!(
                    "segment '{}' inlines to more than {MAX_CONDITION_NODES} nodes (segments referring to each other many times over)",
                    segment.name
                ),
            );
        }
        let allocation = self.allocation(&segment.name, &unit_path);
        let segment_id = segment
            .name
            .split('/')
            .nth(1)
            .unwrap_or(&segment.name)
            .to_owned();
        let space = self.space(segment_id, &unit_path);
        let mut assignments = Vec::new();
        for (j, a) in spec.assignments.iter().enumerate() {
            let apath = format!("{path}.assignmentSpec.assignments[{j}]");
            let outcome = if let Some(v) = &a.variant {
                match variants.iter().position(|x| x.name == v.variant) {
                    Some(i) => Outcome::Variant(i as u32),
                    None => {
                        self.error(
                            &flag.name,
                            format!("{apath}.variant"),
                            format!(
                                "assignment '{}' names variant '{}', which flag '{}' does not have",
                                a.assignment_id, v.variant, flag.name
                            ),
                        );
                        continue;
                    }
                }
            } else if a.fallthrough.is_some() {
                Outcome::Fallthrough
            } else if a.client_default.is_some() {
                Outcome::ClientDefault
            } else {
                self.warnings.push(
                    Diagnostic::warning(
                        self.file,
                        apath,
                        format!(
                            "assignment '{}' assigns nothing (no variant, fallthrough or clientDefault): its buckets match no assignment",
                            a.assignment_id
                        ),
                    )
                    .for_flag(&flag.name),
                );
                continue;
            };
            let mut ranges = Vec::new();
            for (k, r) in a.bucket_ranges.iter().enumerate() {
                let ok = r.lower >= 0 && r.lower <= r.upper && r.upper as u32 <= bucket_count;
                if !ok {
                    self.error(
                        &flag.name,
                        format!("{apath}.bucketRanges[{k}]"),
                        format!(
                            "bucket range [{}, {}) is not within 0..{bucket_count}",
                            r.lower, r.upper
                        ),
                    );
                } else if r.lower < r.upper {
                    ranges.push((r.lower as u32, r.upper as u32));
                }
            }
            ranges.sort_unstable();
            assignments.push(Assignment {
                id: a.assignment_id.clone(),
                outcome,
                ranges,
            });
        }
        let sticky = rule.materialization_spec.as_ref().map(|m| {
            let mode = m.mode.clone().unwrap_or_default();
            Sticky {
                read: (!m.read_materialization.is_empty()).then(|| m.read_materialization.clone()),
                write: (!m.write_materialization.is_empty())
                    .then(|| m.write_materialization.clone()),
                must_match: mode.materialization_must_match,
                ignore_targeting: mode.segment_targeting_can_be_ignored,
            }
        });
        Some(AssignRule {
            name: rule.name.clone(),
            segment: segment.name.clone(),
            clients,
            unit: unit_path,
            when,
            allocation,
            space,
            bucket_count,
            assignments,
            sticky: sticky.filter(|s| s.read.is_some() || s.write.is_some()),
        })
    }

    /// A segment's allocation as a bucket-set test on `unit`; `None` when it
    /// admits everyone (no bitset, `ALL`, or every bit set). Runs of set
    /// bits become ranges, unless a bitmap is smaller (a scattered set).
    fn allocation(&mut self, segment: &str, unit: &Option<Path>) -> Option<Expr> {
        let Some(Bits::Set(set)) = self.state.bitsets.get(segment) else {
            return None;
        };
        let mut ranges: Vec<(u64, u64)> = Vec::new();
        for &bit in set.iter().filter(|&&b| u64::from(b) < ALLOCATION_BUCKETS) {
            let bit = u64::from(bit);
            match ranges.last_mut() {
                Some((_, end)) if *end == bit => *end = bit + 1,
                _ => ranges.push((bit, bit + 1)),
            }
        }
        if ranges == [(0, ALLOCATION_BUCKETS)] {
            return None;
        }
        let space = self.space(format!("MegaSalt-{}", self.account), unit);
        // A range is two CBOR integers below 2^20: about 9 bytes.
        let bitmap_bytes = ALLOCATION_BUCKETS.div_ceil(8);
        if (ranges.len() as u64) * 9 <= bitmap_bytes {
            BucketRanges::new(space, ALLOCATION_BUCKETS, ranges)
                .ok()
                .map(Expr::InBuckets)
        } else {
            let mut bits = vec![0u8; bitmap_bytes as usize];
            for (start, end) in ranges {
                for b in start..end {
                    bits[(b / 8) as usize] |= 1 << (b % 8);
                }
            }
            BucketBitmap::new(space, ALLOCATION_BUCKETS, bits)
                .ok()
                .map(Expr::InBitmap)
        }
    }

    /// A segment's targeting; `None` = always.
    fn targeting(
        &mut self,
        segment: &proto::Segment,
        unit: &Option<Path>,
        stack: &mut Vec<String>,
        budget: &mut usize,
    ) -> Option<Expr> {
        let targeting = segment.targeting.as_ref()?;
        let expression = targeting.expression.as_ref()?;
        let e = self.expression(
            &segment.name,
            &targeting.criteria,
            expression,
            unit,
            stack,
            budget,
        );
        (e != Expr::Lit(Value::Bool(true))).then_some(e)
    }

    fn expression(
        &mut self,
        segment: &str,
        criteria: &BTreeMap<String, proto::Criterion>,
        e: &proto::Expression,
        unit: &Option<Path>,
        stack: &mut Vec<String>,
        budget: &mut usize,
    ) -> Expr {
        if *budget == 0 {
            return lit(false);
        }
        *budget -= 1;
        let mut each = |this: &mut Self, ops: &[proto::Expression], stack: &mut Vec<String>| {
            ops.iter()
                .map(|o| this.expression(segment, criteria, o, unit, stack, budget))
                .collect::<Vec<_>>()
        };
        if let Some(reference) = &e.reference {
            match criteria.get(reference) {
                Some(c) => self.criterion(segment, reference, c, unit, stack, budget),
                None => {
                    self.warnings.push(Diagnostic::warning(
                        self.file,
                        format!("segments.{segment}.targeting.expression"),
                        format!("segment '{segment}' refers to criterion '{reference}', which it lacks: it never matches"),
                    ));
                    lit(false)
                }
            }
        } else if let Some(inner) = &e.not {
            match self.expression(segment, criteria, inner, unit, stack, budget) {
                Expr::Lit(Value::Bool(b)) => lit(!b),
                other => Expr::Op(Op::Not, vec![other]),
            }
        } else if let Some(and) = &e.and {
            combine(Op::And, each(self, &and.operands, stack))
        } else if let Some(or) = &e.or {
            combine(Op::Or, each(self, &or.operands, stack))
        } else {
            lit(false)
        }
    }

    fn criterion(
        &mut self,
        segment: &str,
        key: &str,
        c: &proto::Criterion,
        unit: &Option<Path>,
        stack: &mut Vec<String>,
        budget: &mut usize,
    ) -> Expr {
        let path = format!("segments.{segment}.targeting.criteria.{key}");
        if let Some(a) = &c.attribute {
            let attribute: Path = a.attribute_name.split('.').map(str::to_owned).collect();
            let (kind, rule) = match attribute_rule(a) {
                Ok(r) => r,
                Err(message) => {
                    self.warnings.push(Diagnostic::warning(
                        self.file,
                        path,
                        format!(
                            "segment '{segment}' criterion '{key}': {message}: it never matches"
                        ),
                    ));
                    (Kind::String, CRule::Never)
                }
            };
            Expr::Criterion(attribute, Box::new(Criterion { kind, rule }))
        } else if let Some(s) = &c.segment {
            if stack.contains(&s.segment) {
                return lit(false);
            }
            let Some(referenced) = self.state.segments.get(&s.segment) else {
                self.warnings.push(Diagnostic::warning(
                    self.file,
                    path,
                    format!("segment '{segment}' refers to segment '{}', which the state lacks: it never matches", s.segment),
                ));
                return lit(false);
            };
            stack.push(s.segment.clone());
            let targeting = self.targeting(referenced, unit, stack, budget);
            stack.pop();
            let allocation = self.allocation(&s.segment, unit);
            combine(Op::And, targeting.into_iter().chain(allocation).collect())
        } else if let Some(m) = &c.materialized_segment {
            let bloom = self
                .state
                .blooms
                .get(&m.materialized_segment)
                .and_then(|b| {
                    (b.strategy == 1 && b.bit_count > 0 && b.hash_function_count > 0).then(|| {
                        Bloom {
                            words: b.data.clone(),
                            bits: b.bit_count as u64,
                            hashes: b.hash_function_count as u32,
                        }
                    })
                });
            Expr::Member(Box::new(Member {
                name: m.materialized_segment.clone(),
                unit: unit.clone(),
                bloom,
            }))
        } else {
            lit(false)
        }
    }
}

fn lit(b: bool) -> Expr {
    Expr::Lit(Value::Bool(b))
}

/// `and`/`or` of conditions with constants folded (`and` of none is true,
/// `or` of none false).
fn combine(op: Op, parts: Vec<Expr>) -> Expr {
    let unit = op == Op::And;
    let mut kept = Vec::new();
    for p in parts {
        match p {
            Expr::Lit(Value::Bool(b)) if b == unit => {}
            Expr::Lit(Value::Bool(_)) => return lit(!unit),
            other => kept.push(other),
        }
    }
    match kept.len() {
        0 => lit(unit),
        1 => kept.pop().expect("one part"),
        _ => Expr::Op(op, kept),
    }
}

/// An attribute criterion's rule and the kind its operands have.
fn attribute_rule(a: &proto::AttributeCriterion) -> Result<(Kind, CRule), String> {
    if let Some(r) = &a.any_rule {
        let inner = r
            .rule
            .as_ref()
            .ok_or("an `anyRule` without an inner rule")?;
        let (kind, rule) = inner_rule(inner)?;
        return Ok((kind, CRule::Any(Box::new(rule))));
    }
    if let Some(r) = &a.all_rule {
        let inner = r
            .rule
            .as_ref()
            .ok_or("an `allRule` without an inner rule")?;
        let (kind, rule) = inner_rule(inner)?;
        return Ok((kind, CRule::All(Box::new(rule))));
    }
    inner_rule(&proto::InnerRule {
        eq_rule: a.eq_rule.clone(),
        set_rule: a.set_rule.clone(),
        range_rule: a.range_rule.clone(),
        starts_with_rule: a.starts_with_rule.clone(),
        ends_with_rule: a.ends_with_rule.clone(),
        contains_rule: a.contains_rule.clone(),
    })
}

fn inner_rule(r: &proto::InnerRule) -> Result<(Kind, CRule), String> {
    if let Some(eq) = &r.eq_rule {
        let value = eq.value.as_ref().ok_or("an `eqRule` without a value")?;
        let o = operand(value)?;
        return Ok((o.kind(), CRule::Eq(o)));
    }
    if let Some(set) = &r.set_rule {
        let operands = set
            .values
            .iter()
            .map(operand)
            .collect::<Result<Vec<_>, _>>()?;
        let kind = operands.first().map_or(Kind::String, Operand::kind);
        return Ok((kind, CRule::Set(operands)));
    }
    if let Some(range) = &r.range_rule {
        let bound = |v: &Option<proto::TargetValue>, inclusive| -> Result<Option<Bound>, String> {
            v.as_ref()
                .map(|v| operand(v).map(|value| Bound { value, inclusive }))
                .transpose()
        };
        let start = bound(&range.start_inclusive, true)?.or(bound(&range.start_exclusive, false)?);
        let end = bound(&range.end_inclusive, true)?.or(bound(&range.end_exclusive, false)?);
        let kind = start
            .as_ref()
            .or(end.as_ref())
            .map_or(Kind::Number, |b| b.value.kind());
        return Ok((kind, CRule::Range(start, end)));
    }
    if let Some(t) = &r.starts_with_rule {
        return Ok((Kind::String, CRule::StartsWith(t.value.clone())));
    }
    if let Some(t) = &r.ends_with_rule {
        return Ok((Kind::String, CRule::EndsWith(t.value.clone())));
    }
    if let Some(t) = &r.contains_rule {
        return Ok((Kind::String, CRule::Contains(t.value.clone())));
    }
    Err("a rule of no known kind (eq, set, range, any, all, startsWith, endsWith, contains)".into())
}

fn operand(v: &proto::TargetValue) -> Result<Operand, String> {
    Ok(if let Some(b) = v.bool_value {
        Operand::Bool(b)
    } else if let Some(n) = v.number_value {
        match proto::number_json(n) {
            Value::Number(n) => Operand::Number(n),
            _ => return Err(format!("number {n} is not finite")),
        }
    } else if let Some(s) = &v.string_value {
        Operand::String(s.clone())
    } else if let Some(t) = &v.timestamp_value {
        Operand::Timestamp(t.seconds, t.nanos.max(0) as u32)
    } else if let Some(version) = &v.version_value {
        Operand::Version(SemVer::parse(&version.version).map_err(|e| {
            format!(
                "version {:?} is not a semantic version: {e}",
                version.version
            )
        })?)
    } else if v.list_value.is_some() {
        return Err("a list operand is not supported".into());
    } else {
        Operand::Null
    })
}
