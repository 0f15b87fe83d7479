//! Located diagnostics: every problem the builder finds, with where it is.

use std::fmt;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something flagd itself tolerates; the snapshot is still written.
    Warning,
    /// The rules cannot be compiled; nothing is written.
    Error,
}

/// One problem in a rule source.
///
/// Displays as `error: shop.yaml:12:7: flag 'checkout' at flags.checkout.rules[0].serve: message`;
/// parts that are unknown are left out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Source file name as given to the builder.
    pub file: String,
    /// 1-based line, when the source format gives one.
    pub line: Option<u32>,
    /// 1-based column, when the source format gives one.
    pub column: Option<u32>,
    /// Key of the flag concerned, if any.
    pub flag: Option<String>,
    /// Path of the offending node inside the document, JSONPath-like
    /// (`flags.checkout.rules[0].serve`); empty for the whole document.
    pub path: String,
    /// What is wrong and, where it helps, what would be right.
    pub message: String,
}

impl Diagnostic {
    /// An error at `path` in `file`, without a line (set it with [`Diagnostic::at`]).
    pub fn error(file: &str, path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            file: file.to_owned(),
            line: None,
            column: None,
            flag: None,
            path: path.into(),
            message: message.into(),
        }
    }

    /// A warning at `path` in `file`.
    pub fn warning(file: &str, path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(file, path, message)
        }
    }

    /// Sets the 1-based line and column.
    pub fn at(mut self, line: u32, column: u32) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }

    /// Sets the flag key.
    pub fn for_flag(mut self, key: &str) -> Self {
        self.flag = Some(key.to_owned());
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{sev}: {}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        write!(f, ":")?;
        if let Some(flag) = &self.flag {
            write!(f, " flag '{flag}'")?;
        }
        if !self.path.is_empty() {
            write!(f, " at {}", self.path)?;
        }
        if self.flag.is_some() || !self.path.is_empty() {
            write!(f, ":")?;
        }
        write!(f, " {}", self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_line_flag_and_path() {
        let d = Diagnostic::error(
            "shop.yaml",
            "flags.checkout.rules[0].serve",
            "unknown variant 'blue'",
        )
        .at(12, 7)
        .for_flag("checkout");
        assert_eq!(
            d.to_string(),
            "error: shop.yaml:12:7: flag 'checkout' at flags.checkout.rules[0].serve: unknown variant 'blue'"
        );
        assert_eq!(
            Diagnostic::warning("f.json", "", "empty").to_string(),
            "warning: f.json: empty"
        );
    }
}
