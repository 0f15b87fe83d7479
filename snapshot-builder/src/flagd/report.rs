//! Collects located diagnostics for one flagd file.

use crate::diagnostic::{Diagnostic, Severity};

use super::path::JsonPath;
use super::source_map::{Pos, SourceMap};

/// Every problem found in one file so far, each located through the file's
/// [`SourceMap`] and attributed to the flag its path lies in.
pub struct Report<'a> {
    file: &'a str,
    map: &'a SourceMap,
    diagnostics: Vec<Diagnostic>,
}

impl<'a> Report<'a> {
    /// An empty report for `file`, locating paths through `map`.
    pub fn new(file: &'a str, map: &'a SourceMap) -> Self {
        Report {
            file,
            map,
            diagnostics: Vec::new(),
        }
    }

    /// The file's source map.
    pub fn map(&self) -> &'a SourceMap {
        self.map
    }

    /// Records an error at `path`.
    pub fn error(&mut self, path: &JsonPath, message: impl Into<String>) {
        self.push(Severity::Error, path, message.into());
    }

    /// Records a warning at `path`.
    pub fn warning(&mut self, path: &JsonPath, message: impl Into<String>) {
        self.push(Severity::Warning, path, message.into());
    }

    /// Records a warning at `path` that lies at `pos` in the text (for nodes
    /// the source map does not keep, such as an overridden duplicate).
    pub fn warning_at(&mut self, path: &JsonPath, pos: Pos, message: impl Into<String>) {
        self.push_at(Severity::Warning, path, pos, message.into());
    }

    fn push(&mut self, severity: Severity, path: &JsonPath, message: String) {
        let pos = self.map.locate(path);
        self.push_at(severity, path, pos, message);
    }

    fn push_at(&mut self, severity: Severity, path: &JsonPath, pos: Pos, message: String) {
        let mut d = match severity {
            Severity::Error => Diagnostic::error(self.file, path.to_string(), message),
            Severity::Warning => Diagnostic::warning(self.file, path.to_string(), message),
        }
        .at(pos.line, pos.column);
        if let Some(key) = path.flag_key() {
            d = d.for_flag(key);
        }
        self.diagnostics.push(d);
    }

    /// All diagnostics in text order (line, then column; ties keep the order
    /// they were found in), and whether any of them is an error.
    pub fn finish(self) -> (Vec<Diagnostic>, bool) {
        let mut all = self.diagnostics;
        all.sort_by_key(|d| (d.line, d.column));
        let failed = all.iter().any(Diagnostic::is_error);
        (all, failed)
    }
}

/// A serde_json syntax error as a located diagnostic. serde_json counts
/// columns in bytes; the column is converted to characters like every other
/// flagd diagnostic.
pub fn syntax_error(file: &str, text: &str, error: &serde_json::Error) -> Diagnostic {
    let (line, byte_column) = (error.line(), error.column());
    let full = error.to_string();
    let suffix = format!(" at line {line} column {byte_column}");
    let message = full.strip_suffix(&suffix).unwrap_or(&full);
    let column = text
        .split('\n')
        .nth(line.saturating_sub(1))
        .map_or(0, |l| {
            l.char_indices()
                .take_while(|(i, _)| *i < byte_column)
                .count()
        })
        .max(1);
    Diagnostic::error(file, "", format!("invalid JSON: {message}")).at(
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_are_located_in_characters() {
        let text = "{\n  \"é\": tru }";
        let e = serde_json::from_str::<serde_json::Value>(text).unwrap_err();
        let d = syntax_error("f.json", text, &e);
        // The space after `tru`, where `e` was expected (byte column 12).
        assert_eq!((d.line, d.column), (Some(2), Some(11)));
        assert_eq!(d.message, "invalid JSON: expected ident");
    }
}
