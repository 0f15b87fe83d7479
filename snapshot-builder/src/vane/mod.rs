//! Vane YAML front end (being written).
use crate::{Compiled, Diagnostic};

/// Compiles a Vane YAML source.
pub fn compile(file: &str, _text: &str) -> Result<Compiled, Vec<Diagnostic>> {
    Err(vec![Diagnostic::error(
        file,
        "",
        "Vane YAML front end not written yet",
    )])
}
