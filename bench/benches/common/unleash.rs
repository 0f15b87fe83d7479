//! `unleash-yggdrasil` 0.21.7 loaded with the tenant's Unleash form
//! ([`vane_bench::tenant::Tenant::unleash_json`]).

use std::collections::HashMap;

use serde_json::Value;
use unleash_yggdrasil::{ClientFeatures, Context, EngineState, UpdateMessage};

/// Builds engine state from the Unleash client-features JSON.
pub fn engine(features: &Value) -> EngineState {
    let features: ClientFeatures = serde_json::from_value(features.clone()).unwrap();
    let engine = EngineState::default();
    if let Some(warnings) = engine.take_state(UpdateMessage::FullResponse(features)) {
        assert!(warnings.is_empty(), "yggdrasil warnings: {warnings:?}");
    }
    engine
}

/// An Unleash context: the targeting key as `userId`, every other
/// attribute as a string property (Unleash properties are strings).
pub fn context(v: &Value) -> Context {
    let mut properties = HashMap::new();
    let mut user_id = None;
    for (k, v) in v.as_object().unwrap() {
        let text = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if k == "targetingKey" {
            user_id = Some(text);
        } else {
            properties.insert(k.clone(), text);
        }
    }
    Context {
        user_id,
        properties: Some(properties),
        ..Context::default()
    }
}
