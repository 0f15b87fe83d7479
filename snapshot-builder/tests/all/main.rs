//! The builder's integration tests, one binary (one link on two cores), a
//! module per area. The browser runner of the JS bindings is a separate
//! wasm32 target, `tests/browser.rs`, which shares [`flagd_vectors`] and
//! [`build_cases`].

mod build_cases;
mod cli;
mod confidence;
mod confidence_vane;
mod context_properties;
mod diff;
mod exposure_properties;
mod exposure_settings;
mod flagd_conformance;
mod flagd_frontend;
mod flagd_lowering;
mod flagd_vectors;
mod format_doc;
mod golden;
mod jsonlogic_baseline;
mod layer_properties;
mod layers;
mod vane_rules;
