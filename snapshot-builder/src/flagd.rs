//! flagd JSON front end (being written).
use crate::{Compiled, Diagnostic};

/// Compiles a flagd flag-definition file.
pub fn compile(file: &str, _text: &str) -> Result<Compiled, Vec<Diagnostic>> {
    Err(vec![Diagnostic::error(
        file,
        "",
        "flagd front end not written yet",
    )])
}
