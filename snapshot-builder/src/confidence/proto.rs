//! The Confidence `ResolverState` messages the builder reads, declared by
//! field number (the public protocol of `confidence.flags.admin.v1`,
//! `confidence.flags.types.v1` and `confidence.iam.v1`), each readable from
//! binary protobuf (`prost`) and from its proto3-JSON form (`serde`).
//!
//! Only the fields resolution needs are declared; protobuf decoding skips the
//! others and JSON decoding ignores them. A `oneof` is declared as its
//! members, each an optional field: the wire format is the same, and the
//! proto3-JSON form writes exactly one member's name.

use std::collections::BTreeMap;

use serde::de::{Deserializer, Error as _};
use serde::Deserialize;
use serde_json::Value;

/// `confidence.flags.admin.v1.ResolverState`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ResolverState {
    /// Field 1.
    #[prost(message, repeated, tag = "1")]
    pub flags: Vec<Flag>,
    /// Field 2.
    #[prost(message, repeated, tag = "2")]
    pub segments_no_bitsets: Vec<Segment>,
    /// Field 5.
    #[prost(message, repeated, tag = "5")]
    pub bitsets: Vec<PackedBitset>,
    /// Field 6.
    #[prost(message, repeated, tag = "6")]
    pub clients: Vec<Client>,
    /// Field 7.
    #[prost(message, repeated, tag = "7")]
    pub client_credentials: Vec<ClientCredential>,
    /// Field 10.
    #[prost(message, repeated, tag = "10")]
    pub bloom_filters: Vec<BloomFilter>,
}

/// `ResolverState.PackedBitset`: a segment's allocation.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PackedBitset {
    /// Field 1: the segment's name.
    #[prost(string, tag = "1")]
    pub segment: String,
    /// Field 2 (oneof `bitset`): a gzip-compressed bitset, bit `i` of the
    /// allocation being bit `i % 8` (least significant first) of byte `i / 8`.
    #[prost(bytes = "vec", optional, tag = "2")]
    #[serde(deserialize_with = "base64_bytes")]
    pub gzipped_bitset: Option<Vec<u8>>,
    /// Field 3 (oneof `bitset`): every bit set.
    #[prost(bool, optional, tag = "3")]
    pub full_bitset: Option<bool>,
}

/// `ResolverState.BloomFilter`: a materialized segment as a Guava bloom filter.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BloomFilter {
    /// Field 1.
    #[prost(string, tag = "1")]
    pub materialized_segment: String,
    /// Field 2: Guava's `long[]` bit array, big-endian longs.
    #[prost(bytes = "vec", tag = "2")]
    #[serde(deserialize_with = "base64_vec")]
    pub data: Vec<u8>,
    /// Field 3.
    #[prost(int32, tag = "3")]
    #[serde(deserialize_with = "int")]
    pub hash_function_count: i32,
    /// Field 4.
    #[prost(int64, tag = "4")]
    #[serde(deserialize_with = "int")]
    pub bit_count: i64,
    /// Field 5: 1 = `MURMUR128_MITZ_64`.
    #[prost(int32, tag = "5")]
    #[serde(deserialize_with = "int")]
    pub strategy: i32,
}

/// `confidence.iam.v1.Client`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Client {
    /// Field 1: `clients/{id}`.
    #[prost(string, tag = "1")]
    pub name: String,
}

/// `confidence.iam.v1.ClientCredential`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ClientCredential {
    /// Field 1: `clients/{client}/credentials/{id}`.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Field 3 (oneof `credential`).
    #[prost(message, optional, tag = "3")]
    pub client_secret: Option<ClientSecret>,
    /// Field 16: the environments the credential resolves in.
    #[prost(string, repeated, tag = "16")]
    pub environments: Vec<String>,
}

/// `ClientCredential.ClientSecret`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default)]
pub struct ClientSecret {
    /// Field 1: the plaintext secret (never written to a snapshot).
    #[prost(string, tag = "1")]
    pub secret: String,
}

/// `confidence.flags.admin.v1.Flag`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Flag {
    /// Field 1: `flags/{id}`.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Field 2: the schema of the values.
    #[prost(message, optional, tag = "2")]
    pub schema: Option<StructSchema>,
    /// Field 3.
    #[prost(message, repeated, tag = "3")]
    pub variants: Vec<Variant>,
    /// Field 4: 1 = ACTIVE, 2 = ARCHIVED.
    #[prost(int32, tag = "4")]
    #[serde(deserialize_with = "flag_state")]
    pub state: i32,
    /// Field 5.
    #[prost(message, repeated, tag = "5")]
    pub rules: Vec<Rule>,
    /// Field 12: the clients that may resolve the flag.
    #[prost(string, repeated, tag = "12")]
    pub clients: Vec<String>,
}

/// `Flag.State.ACTIVE`.
pub const FLAG_ACTIVE: i32 = 1;

/// `Flag.Variant`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default)]
pub struct Variant {
    /// Field 1.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Field 2: a `google.protobuf.Struct`.
    #[prost(message, optional, tag = "2")]
    pub value: Option<Struct>,
}

/// `Flag.Rule`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Rule {
    /// Field 1: `flags/{flag}/rules/{id}`.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Field 2: `segments/{id}`.
    #[prost(string, tag = "2")]
    pub segment: String,
    /// Field 5: dotted context path of the unit; blank = `targeting_key`.
    #[prost(string, tag = "5")]
    pub targeting_key_selector: String,
    /// Field 11.
    #[prost(bool, tag = "11")]
    pub enabled: bool,
    /// Field 12.
    #[prost(message, optional, tag = "12")]
    pub assignment_spec: Option<AssignmentSpec>,
    /// Field 13.
    #[prost(message, optional, tag = "13")]
    pub materialization_spec: Option<MaterializationSpec>,
    /// Field 16: empty = every environment.
    #[prost(string, repeated, tag = "16")]
    pub environments: Vec<String>,
}

/// `Rule.MaterializationSpec`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MaterializationSpec {
    /// Field 1.
    #[prost(string, tag = "1")]
    pub write_materialization: String,
    /// Field 2.
    #[prost(string, tag = "2")]
    pub read_materialization: String,
    /// Field 3.
    #[prost(message, optional, tag = "3")]
    pub mode: Option<ReadMode>,
}

/// `MaterializationSpec.MaterializationReadMode`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ReadMode {
    /// Field 1.
    #[prost(bool, tag = "1")]
    pub materialization_must_match: bool,
    /// Field 2.
    #[prost(bool, tag = "2")]
    pub segment_targeting_can_be_ignored: bool,
}

/// `Rule.AssignmentSpec`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AssignmentSpec {
    /// Field 1.
    #[prost(int32, tag = "1")]
    #[serde(deserialize_with = "int")]
    pub bucket_count: i32,
    /// Field 2.
    #[prost(message, repeated, tag = "2")]
    pub assignments: Vec<Assignment>,
}

/// `Rule.Assignment`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Assignment {
    /// Field 1.
    #[prost(string, tag = "1")]
    pub assignment_id: String,
    /// Field 2 (oneof `assignment`).
    #[prost(message, optional, tag = "2")]
    pub variant: Option<VariantAssignment>,
    /// Field 3 (oneof `assignment`).
    #[prost(message, optional, tag = "3")]
    pub fallthrough: Option<Empty>,
    /// Field 4 (oneof `assignment`).
    #[prost(message, optional, tag = "4")]
    pub client_default: Option<Empty>,
    /// Field 5.
    #[prost(message, repeated, tag = "5")]
    pub bucket_ranges: Vec<BucketRange>,
}

/// `Assignment.VariantAssignment`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default)]
pub struct VariantAssignment {
    /// Field 1: the variant's name.
    #[prost(string, tag = "1")]
    pub variant: String,
}

/// A message without fields (`FallthroughAssignment`, `ClientDefaultAssignment`).
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
pub struct Empty {}

/// `Rule.BucketRange`: `[lower, upper)`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default)]
pub struct BucketRange {
    /// Field 1.
    #[prost(int32, tag = "1")]
    #[serde(deserialize_with = "int")]
    pub lower: i32,
    /// Field 2.
    #[prost(int32, tag = "2")]
    #[serde(deserialize_with = "int")]
    pub upper: i32,
}

/// `confidence.flags.admin.v1.Segment`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default)]
pub struct Segment {
    /// Field 1: `segments/{id}`.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Field 2.
    #[prost(message, optional, tag = "2")]
    pub targeting: Option<Targeting>,
}

/// `confidence.flags.types.v1.Targeting`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default)]
pub struct Targeting {
    /// Field 1.
    #[prost(btree_map = "string, message", tag = "1")]
    pub criteria: BTreeMap<String, Criterion>,
    /// Field 2.
    #[prost(message, optional, tag = "2")]
    pub expression: Option<Expression>,
}

/// `Targeting.Criterion`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Criterion {
    /// Field 1 (oneof `criterion`).
    #[prost(message, optional, tag = "1")]
    pub attribute: Option<AttributeCriterion>,
    /// Field 2 (oneof `criterion`).
    #[prost(message, optional, tag = "2")]
    pub segment: Option<SegmentCriterion>,
    /// Field 3 (oneof `criterion`).
    #[prost(message, optional, tag = "3")]
    pub materialized_segment: Option<MaterializedSegmentCriterion>,
}

/// `Criterion.SegmentCriterion`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default)]
pub struct SegmentCriterion {
    /// Field 1.
    #[prost(string, tag = "1")]
    pub segment: String,
}

/// `Criterion.MaterializedSegmentCriterion`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct MaterializedSegmentCriterion {
    /// Field 1.
    #[prost(string, tag = "1")]
    pub materialized_segment: String,
}

/// `Criterion.AttributeCriterion`: the rule fields are the oneof `rule`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AttributeCriterion {
    /// Field 1: dotted context path.
    #[prost(string, tag = "1")]
    pub attribute_name: String,
    /// Field 2.
    #[prost(message, optional, tag = "2")]
    pub eq_rule: Option<EqRule>,
    /// Field 3.
    #[prost(message, optional, tag = "3")]
    pub set_rule: Option<SetRule>,
    /// Field 4.
    #[prost(message, optional, tag = "4")]
    pub range_rule: Option<RangeRule>,
    /// Field 5.
    #[prost(message, optional, tag = "5")]
    pub any_rule: Option<ListRule>,
    /// Field 6.
    #[prost(message, optional, tag = "6")]
    pub all_rule: Option<ListRule>,
    /// Field 7.
    #[prost(message, optional, tag = "7")]
    pub starts_with_rule: Option<TextRule>,
    /// Field 8.
    #[prost(message, optional, tag = "8")]
    pub ends_with_rule: Option<TextRule>,
    /// Field 9.
    #[prost(message, optional, tag = "9")]
    pub contains_rule: Option<TextRule>,
}

/// `Targeting.AnyRule` / `Targeting.AllRule`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default)]
pub struct ListRule {
    /// Field 1.
    #[prost(message, optional, tag = "1")]
    pub rule: Option<InnerRule>,
}

/// `Targeting.InnerRule`: the oneof `rule`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct InnerRule {
    /// Field 1.
    #[prost(message, optional, tag = "1")]
    pub eq_rule: Option<EqRule>,
    /// Field 2.
    #[prost(message, optional, tag = "2")]
    pub set_rule: Option<SetRule>,
    /// Field 3.
    #[prost(message, optional, tag = "3")]
    pub range_rule: Option<RangeRule>,
    /// Field 4.
    #[prost(message, optional, tag = "4")]
    pub starts_with_rule: Option<TextRule>,
    /// Field 5.
    #[prost(message, optional, tag = "5")]
    pub ends_with_rule: Option<TextRule>,
    /// Field 6.
    #[prost(message, optional, tag = "6")]
    pub contains_rule: Option<TextRule>,
}

/// `Targeting.EqRule`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default)]
pub struct EqRule {
    /// Field 1.
    #[prost(message, optional, tag = "1")]
    pub value: Option<TargetValue>,
}

/// `Targeting.SetRule`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default)]
pub struct SetRule {
    /// Field 1.
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<TargetValue>,
}

/// `Targeting.RangeRule`: oneofs `start` and `end`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RangeRule {
    /// Field 1.
    #[prost(message, optional, tag = "1")]
    pub start_inclusive: Option<TargetValue>,
    /// Field 2.
    #[prost(message, optional, tag = "2")]
    pub start_exclusive: Option<TargetValue>,
    /// Field 3.
    #[prost(message, optional, tag = "3")]
    pub end_inclusive: Option<TargetValue>,
    /// Field 4.
    #[prost(message, optional, tag = "4")]
    pub end_exclusive: Option<TargetValue>,
}

/// `Targeting.StartsWithRule` / `EndsWithRule` / `ContainsRule`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default)]
pub struct TextRule {
    /// Field 1.
    #[prost(string, tag = "1")]
    pub value: String,
}

/// `Targeting.Value`: the oneof `value`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TargetValue {
    /// Field 1.
    #[prost(bool, optional, tag = "1")]
    pub bool_value: Option<bool>,
    /// Field 4.
    #[prost(string, optional, tag = "4")]
    pub string_value: Option<String>,
    /// Field 5.
    #[prost(message, optional, tag = "5")]
    pub timestamp_value: Option<Timestamp>,
    /// Field 6.
    #[prost(message, optional, tag = "6")]
    pub version_value: Option<SemanticVersion>,
    /// Field 7.
    #[prost(double, optional, tag = "7")]
    #[serde(deserialize_with = "number")]
    pub number_value: Option<f64>,
    /// Field 8.
    #[prost(message, optional, tag = "8")]
    pub list_value: Option<ListValue>,
}

/// `Targeting.ListValue`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default)]
pub struct ListValue {
    /// Field 1.
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<TargetValue>,
}

/// `Targeting.SemanticVersion`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default)]
pub struct SemanticVersion {
    /// Field 1.
    #[prost(string, tag = "1")]
    pub version: String,
}

/// `confidence.flags.types.v1.Expression`: the oneof `expression`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default)]
pub struct Expression {
    /// Field 1: a criterion's key.
    #[prost(string, optional, tag = "1")]
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    /// Field 2.
    #[prost(message, optional, boxed, tag = "2")]
    pub not: Option<Box<Expression>>,
    /// Field 3.
    #[prost(message, optional, tag = "3")]
    pub and: Option<Operands>,
    /// Field 4.
    #[prost(message, optional, tag = "4")]
    pub or: Option<Operands>,
}

/// `Expression.Operands`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default)]
pub struct Operands {
    /// Field 1.
    #[prost(message, repeated, tag = "1")]
    pub operands: Vec<Expression>,
}

/// `google.protobuf.Timestamp`; proto3 JSON writes it as an RFC 3339 string.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Timestamp {
    /// Field 1.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Field 2.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        vane_resolver::expr::typed::parse_rfc3339(&text)
            .map(|(seconds, nanos)| Timestamp {
                seconds,
                nanos: nanos as i32,
            })
            .ok_or_else(|| D::Error::custom(format!("{text:?} is not an RFC 3339 timestamp")))
    }
}

/// `confidence.flags.types.v1.FlagSchema.StructFlagSchema`, kept as its
/// proto3-JSON form (`{"schema": {"field": {"boolSchema": {}}}}`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct StructSchema {
    /// Field 1.
    #[prost(btree_map = "string, message", tag = "1")]
    pub schema: BTreeMap<String, FieldSchema>,
}

/// `FlagSchema`: the oneof `schema_type`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FieldSchema {
    /// Field 1.
    #[prost(message, optional, tag = "1")]
    pub struct_schema: Option<StructSchema>,
    /// Field 2.
    #[prost(message, optional, boxed, tag = "2")]
    pub list_schema: Option<Box<ListSchema>>,
    /// Field 3.
    #[prost(message, optional, tag = "3")]
    pub int_schema: Option<Empty>,
    /// Field 4.
    #[prost(message, optional, tag = "4")]
    pub double_schema: Option<Empty>,
    /// Field 5.
    #[prost(message, optional, tag = "5")]
    pub string_schema: Option<Empty>,
    /// Field 6.
    #[prost(message, optional, tag = "6")]
    pub bool_schema: Option<Empty>,
}

/// `FlagSchema.ListFlagSchema`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ListSchema {
    /// Field 1.
    #[prost(message, optional, tag = "1")]
    pub element_schema: Option<FieldSchema>,
}

impl StructSchema {
    /// The proto3-JSON form.
    pub fn to_json(&self) -> Value {
        let fields = self
            .schema
            .iter()
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect();
        serde_json::json!({ "schema": Value::Object(fields) })
    }
}

impl FieldSchema {
    fn to_json(&self) -> Value {
        let empty = || Value::Object(Default::default());
        let (name, inner) = if let Some(s) = &self.struct_schema {
            ("structSchema", s.to_json())
        } else if let Some(l) = &self.list_schema {
            let element = l
                .element_schema
                .as_ref()
                .map_or_else(empty, |e| e.to_json());
            (
                "listSchema",
                serde_json::json!({ "elementSchema": element }),
            )
        } else if self.int_schema.is_some() {
            ("intSchema", empty())
        } else if self.double_schema.is_some() {
            ("doubleSchema", empty())
        } else if self.string_schema.is_some() {
            ("stringSchema", empty())
        } else if self.bool_schema.is_some() {
            ("boolSchema", empty())
        } else {
            return empty();
        };
        serde_json::json!({ name: inner })
    }
}

impl<'de> Deserialize<'de> for StructSchema {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        schema_from_json(&Value::deserialize(d)?).map_err(D::Error::custom)
    }
}

fn schema_from_json(v: &Value) -> Result<StructSchema, String> {
    let mut out = StructSchema::default();
    let Some(fields) = v.get("schema") else {
        return Ok(out);
    };
    let fields = fields
        .as_object()
        .ok_or("a struct schema's `schema` must be an object")?;
    for (name, field) in fields {
        out.schema
            .insert(name.clone(), field_schema_from_json(field)?);
    }
    Ok(out)
}

fn field_schema_from_json(v: &Value) -> Result<FieldSchema, String> {
    let mut out = FieldSchema::default();
    let object = v.as_object().ok_or("a field schema must be an object")?;
    for (kind, inner) in object {
        match kind.as_str() {
            "structSchema" => out.struct_schema = Some(schema_from_json(inner)?),
            "listSchema" => {
                let element = match inner.get("elementSchema") {
                    Some(e) => Some(field_schema_from_json(e)?),
                    None => None,
                };
                out.list_schema = Some(Box::new(ListSchema {
                    element_schema: element,
                }))
            }
            "intSchema" => out.int_schema = Some(Empty {}),
            "doubleSchema" => out.double_schema = Some(Empty {}),
            "stringSchema" => out.string_schema = Some(Empty {}),
            "boolSchema" => out.bool_schema = Some(Empty {}),
            other => return Err(format!("unknown field schema `{other}`")),
        }
    }
    Ok(out)
}

/// `google.protobuf.Struct`, kept as the JSON object it stands for.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Struct {
    /// Field 1.
    #[prost(btree_map = "string, message", tag = "1")]
    pub fields: BTreeMap<String, ProtoValue>,
}

/// `google.protobuf.Value`: the oneof `kind`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoValue {
    /// Field 1: `NullValue`.
    #[prost(int32, optional, tag = "1")]
    pub null_value: Option<i32>,
    /// Field 2.
    #[prost(double, optional, tag = "2")]
    pub number_value: Option<f64>,
    /// Field 3.
    #[prost(string, optional, tag = "3")]
    pub string_value: Option<String>,
    /// Field 4.
    #[prost(bool, optional, tag = "4")]
    pub bool_value: Option<bool>,
    /// Field 5.
    #[prost(message, optional, tag = "5")]
    pub struct_value: Option<Struct>,
    /// Field 6.
    #[prost(message, optional, tag = "6")]
    pub list_value: Option<ProtoList>,
}

/// `google.protobuf.ListValue`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoList {
    /// Field 1.
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<ProtoValue>,
}

impl Struct {
    /// The JSON object (numbers that are whole and within ±2^53 become integers).
    pub fn to_json(&self) -> Value {
        Value::Object(
            self.fields
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect(),
        )
    }
}

impl ProtoValue {
    fn to_json(&self) -> Value {
        if let Some(n) = self.number_value {
            number_json(n)
        } else if let Some(s) = &self.string_value {
            Value::String(s.clone())
        } else if let Some(b) = self.bool_value {
            Value::Bool(b)
        } else if let Some(s) = &self.struct_value {
            s.to_json()
        } else if let Some(l) = &self.list_value {
            Value::Array(l.values.iter().map(ProtoValue::to_json).collect())
        } else {
            Value::Null
        }
    }
}

/// A protobuf double as JSON: whole numbers within ±2^53 as integers (so
/// the binary and the JSON form of a state give the same snapshot).
pub fn number_json(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_992.0 {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

impl<'de> Deserialize<'de> for Struct {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Object(m) => Ok(Struct {
                fields: m.into_iter().map(|(k, v)| (k, proto_value(v))).collect(),
            }),
            other => Err(D::Error::custom(format!(
                "a variant value must be a JSON object, found {other}"
            ))),
        }
    }
}

fn proto_value(v: Value) -> ProtoValue {
    let mut out = ProtoValue::default();
    match v {
        Value::Null => out.null_value = Some(0),
        Value::Bool(b) => out.bool_value = Some(b),
        Value::Number(n) => out.number_value = n.as_f64(),
        Value::String(s) => out.string_value = Some(s),
        Value::Array(items) => {
            out.list_value = Some(ProtoList {
                values: items.into_iter().map(proto_value).collect(),
            })
        }
        Value::Object(m) => {
            out.struct_value = Some(Struct {
                fields: m.into_iter().map(|(k, v)| (k, proto_value(v))).collect(),
            })
        }
    }
    out
}

/// An integer written as a JSON number or, as proto3 JSON allows, a string.
fn int<'de, D: Deserializer<'de>, T: TryFrom<i64>>(d: D) -> Result<T, D::Error> {
    let n = match Value::deserialize(d)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    };
    n.and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| D::Error::custom("expected an integer"))
}

/// A double written as a JSON number or a string (`"NaN"`, `"1.5"`).
fn number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) => Ok(n.as_f64()),
        Value::String(s) => s
            .parse()
            .map(Some)
            .map_err(|_| D::Error::custom(format!("{s:?} is not a number"))),
        other => Err(D::Error::custom(format!(
            "expected a number, found {other}"
        ))),
    }
}

/// A flag state: `"ACTIVE"`, `"ARCHIVED"` or the enum number.
fn flag_state<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => match s.as_str() {
            "STATE_UNSPECIFIED" => Ok(0),
            "ACTIVE" => Ok(FLAG_ACTIVE),
            "ARCHIVED" => Ok(2),
            other => Err(D::Error::custom(format!(
                "unknown flag state {other:?} (ACTIVE, ARCHIVED)"
            ))),
        },
        Value::Number(n) => n
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| D::Error::custom("a flag state must be a small integer")),
        other => Err(D::Error::custom(format!(
            "a flag state must be a string, found {other}"
        ))),
    }
}

/// Bytes in proto3 JSON: base64, standard or URL-safe alphabet, padding optional.
fn base64_vec<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    use base64::alphabet::{STANDARD, URL_SAFE};
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    use base64::Engine as _;
    let config =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let text = String::deserialize(d)?;
    let alphabet = if text.contains(['-', '_']) {
        &URL_SAFE
    } else {
        &STANDARD
    };
    GeneralPurpose::new(alphabet, config)
        .decode(text.as_bytes())
        .map_err(|e| D::Error::custom(format!("not base64: {e}")))
}

fn base64_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
    base64_vec(d).map(Some)
}
