//! Semantic versions (placeholder: being written).
