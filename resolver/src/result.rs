//! Evaluation results in the shapes of OFREP (`evaluationSuccess`,
//! `evaluationFailure`, `flagNotFound` in the OFREP OpenAPI 0.3.0) with
//! OpenFeature reasons and error codes.

use std::borrow::Cow;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

/// Why a value was chosen (OpenFeature reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The flag has no targeting: its default variant.
    Static,
    /// A rule or flagd targeting chose the variant.
    TargetingMatch,
    /// A weighted split in a Vane rule chose the variant.
    Split,
    /// No rule matched: the default variant (or none: code default).
    Default,
    /// The flag is disabled: no value, the caller's code default applies.
    Disabled,
    /// Evaluation failed; see the error code.
    Error,
}

impl Reason {
    /// The OpenFeature spelling, e.g. `TARGETING_MATCH`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Static => "STATIC",
            Reason::TargetingMatch => "TARGETING_MATCH",
            Reason::Split => "SPLIT",
            Reason::Default => "DEFAULT",
            Reason::Disabled => "DISABLED",
            Reason::Error => "ERROR",
        }
    }
}

/// OpenFeature error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// No flag with that key in the tenant's snapshot.
    FlagNotFound,
    /// The flag's targeting could not be parsed (flagd semantics).
    ParseError,
    /// The value's type differs from what the caller asked for (client side).
    TypeMismatch,
    /// A split needs a bucketing unit the context does not have.
    TargetingKeyMissing,
    /// The context is not a usable JSON object.
    InvalidContext,
    /// Anything else, e.g. targeting named a variant the flag lacks.
    General,
}

impl ErrorCode {
    /// The OpenFeature spelling, e.g. `FLAG_NOT_FOUND`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::FlagNotFound => "FLAG_NOT_FOUND",
            ErrorCode::ParseError => "PARSE_ERROR",
            ErrorCode::TypeMismatch => "TYPE_MISMATCH",
            ErrorCode::TargetingKeyMissing => "TARGETING_KEY_MISSING",
            ErrorCode::InvalidContext => "INVALID_CONTEXT",
            ErrorCode::General => "GENERAL",
        }
    }
}

/// The result of evaluating one flag. Borrows from the snapshot, so building
/// it allocates nothing on the success path.
///
/// Serialises to exactly the OFREP JSON: on success
/// `{"key","value"?,"reason","variant"?,"metadata"}` (no `value` when the
/// caller's code default applies); on failure
/// `{"key","errorCode","errorDetails","metadata"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluationResult<'a> {
    /// The flag key.
    pub key: Cow<'a, str>,
    /// The resolved value; `None` when the code default applies.
    pub value: Option<&'a Value>,
    /// The name of the chosen variant.
    pub variant: Option<&'a str>,
    /// Why.
    pub reason: Reason,
    /// Set on failure (`reason` is then [`Reason::Error`]).
    pub error_code: Option<ErrorCode>,
    /// Human-readable failure detail.
    pub error_details: Option<String>,
    /// Flag metadata; `None` serialises as `{}`.
    pub metadata: Option<&'a Map<String, Value>>,
}

impl<'a> EvaluationResult<'a> {
    /// A failure result.
    pub fn error(
        key: Cow<'a, str>,
        code: ErrorCode,
        details: String,
        metadata: Option<&'a Map<String, Value>>,
    ) -> Self {
        EvaluationResult {
            key,
            value: None,
            variant: None,
            reason: Reason::Error,
            error_code: Some(code),
            error_details: Some(details),
            metadata,
        }
    }

    /// This result as a `serde_json::Value` (the OFREP object).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// The OFREP bulk evaluation body (`bulkEvaluationSuccess`):
/// `{"flags":[...]}` plus `"metadata"` when the snapshot has flag-set
/// metadata. Built by [`crate::Snapshot::evaluate_bulk`].
#[derive(Debug, Clone, PartialEq)]
pub struct BulkEvaluation<'a> {
    /// One result per flag, in key order.
    pub flags: Vec<EvaluationResult<'a>>,
    /// Flag-set metadata, when there is any.
    pub metadata: Option<&'a Map<String, Value>>,
}

impl Serialize for BulkEvaluation<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("flags", &self.flags)?;
        if let Some(meta) = self.metadata {
            m.serialize_entry("metadata", meta)?;
        }
        m.end()
    }
}

struct MetadataOrEmpty<'m>(Option<&'m Map<String, Value>>);

impl Serialize for MetadataOrEmpty<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(m) => m.serialize(s),
            None => s.serialize_map(Some(0))?.end(),
        }
    }
}

impl Serialize for EvaluationResult<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("key", &self.key)?;
        match self.error_code {
            Some(code) => {
                m.serialize_entry("errorCode", code.as_str())?;
                m.serialize_entry("errorDetails", self.error_details.as_deref().unwrap_or(""))?;
            }
            None => {
                if let Some(v) = self.value {
                    m.serialize_entry("value", v)?;
                }
                m.serialize_entry("reason", self.reason.as_str())?;
                if let Some(v) = self.variant {
                    m.serialize_entry("variant", v)?;
                }
            }
        }
        m.serialize_entry("metadata", &MetadataOrEmpty(self.metadata))?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn success_serialises_to_ofrep_shape() {
        let v = json!(true);
        let meta: Map<String, Value> = json!({"team": "web"}).as_object().unwrap().clone();
        let r = EvaluationResult {
            key: "f".into(),
            value: Some(&v),
            variant: Some("on"),
            reason: Reason::TargetingMatch,
            error_code: None,
            error_details: None,
            metadata: Some(&meta),
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"key":"f","value":true,"reason":"TARGETING_MATCH","variant":"on","metadata":{"team":"web"}}"#
        );
    }

    #[test]
    fn failure_and_code_default_shapes() {
        let r = EvaluationResult::error(
            "x".into(),
            ErrorCode::FlagNotFound,
            "flag 'x' not found".into(),
            None,
        );
        assert_eq!(
            r.to_json(),
            json!({"key":"x","errorCode":"FLAG_NOT_FOUND","errorDetails":"flag 'x' not found","metadata":{}})
        );
        let d = EvaluationResult {
            key: "d".into(),
            value: None,
            variant: None,
            reason: Reason::Disabled,
            error_code: None,
            error_details: None,
            metadata: None,
        };
        assert_eq!(
            d.to_json(),
            json!({"key":"d","reason":"DISABLED","metadata":{}})
        );
    }
}
