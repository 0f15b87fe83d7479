//! The in-process evaluator of `open-feature-flagd` 0.3.0 (its
//! `FileResolver`, feature `in-process`), driven through the OpenFeature
//! provider trait on a single-threaded tokio runtime, without its cache.

use std::path::PathBuf;

use open_feature::provider::FeatureProvider;
use open_feature::EvaluationContext;
use open_feature_flagd::resolver::in_process::resolver::FileResolver;
use serde_json::Value;
use tokio::runtime::Runtime;

/// A resolver over a flagd file and the runtime that drives it.
pub struct Flagd {
    /// The runtime `block_on` runs each call on.
    pub rt: Runtime,
    /// The file resolver.
    pub resolver: FileResolver,
}

impl Flagd {
    /// Writes `json` to a file under the target directory and loads it.
    pub fn load(name: &str, json: &str) -> Flagd {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let path = dir.join(format!("{name}.flagd.json"));
        std::fs::write(&path, json).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let resolver = rt
            .block_on(FileResolver::new(path.display().to_string(), None))
            .unwrap_or_else(|e| panic!("open-feature-flagd refuses {name}: {e:?}"));
        Flagd { rt, resolver }
    }

    /// Resolves a boolean flag.
    pub fn bool(&self, key: &str, ctx: &EvaluationContext) -> Option<bool> {
        self.rt
            .block_on(self.resolver.resolve_bool_value(key, ctx))
            .ok()
            .map(|d| d.value)
    }
}

/// An OpenFeature context from a JSON object.
pub fn context(v: &Value) -> EvaluationContext {
    let mut c = EvaluationContext::default();
    for (k, v) in v.as_object().unwrap() {
        match (k.as_str(), v) {
            ("targetingKey", Value::String(s)) => c = c.with_targeting_key(s.clone()),
            (_, Value::String(s)) => c = c.with_custom_field(k.clone(), s.clone()),
            (_, Value::Bool(b)) => c = c.with_custom_field(k.clone(), *b),
            (_, Value::Number(n)) => match n.as_i64() {
                Some(i) => c = c.with_custom_field(k.clone(), i),
                None => c = c.with_custom_field(k.clone(), n.as_f64().unwrap()),
            },
            _ => {}
        }
    }
    c
}
