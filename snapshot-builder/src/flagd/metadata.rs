//! flagd metadata: flag-set metadata at the top of a file and flag metadata,
//! both objects whose values are strings, numbers or booleans (flagd schema
//! `definitions.metadata`).

use serde_json::{Map, Value};
use vane_resolver::context::json_type;

use super::path::JsonPath;
use super::report::Report;

/// Reads the metadata object at `path`; absent is empty. Members whose value
/// is not a scalar are left out with a warning (flagd's schema refuses them
/// but flagd loads the file); metadata that is not an object makes flagd
/// refuse the file, and is an error.
pub fn read(report: &mut Report<'_>, path: &JsonPath, value: Option<&Value>) -> Map<String, Value> {
    let map = match value {
        None => return Map::new(),
        Some(Value::Object(map)) => map,
        Some(other) => {
            report.error(
                path,
                format!("metadata must be an object, found {}", json_type(other)),
            );
            return Map::new();
        }
    };
    let mut out = Map::new();
    for (key, value) in map {
        match value {
            Value::String(_) | Value::Number(_) | Value::Bool(_) => {
                out.insert(key.clone(), value.clone());
            }
            other => report.warning(
                &path.key(key),
                format!(
                    "metadata values should be strings, numbers or booleans; '{key}' is {}, \
                     and is left out (OFREP metadata holds scalars only)",
                    json_type(other)
                ),
            ),
        }
    }
    out
}
