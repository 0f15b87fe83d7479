//! Typed attribute tests of Vane YAML conditions. (Placeholder: being written.)

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A typed test applied to one context attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Test {
    /// The attribute equals the value (same JSON type and value).
    #[serde(rename = "eq")]
    Equals(Value),
}
