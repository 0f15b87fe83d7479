//! Reading the node tree: the diagnostics sink and the checked accessors
//! every section uses (mappings with known fields, named entries, scalars).
//!
//! Every accessor reports what is wrong at the node's line and column and
//! returns `None`, so the caller skips that piece and carries on: one run
//! finds every problem. Duplicate keys and unknown fields are errors.

use std::collections::HashMap;

use serde_json::{Number, Value};

use super::yaml::{Kind, Node, Pos, Scalar, Typed};
use crate::Diagnostic;

/// The diagnostics of one compilation and the flag being read.
pub struct Cx<'f> {
    /// Name of the source, for diagnostics.
    pub file: &'f str,
    /// Everything found so far, errors and warnings.
    pub diagnostics: Vec<Diagnostic>,
    /// Key of the flag being read; added to diagnostics while set.
    pub flag: Option<String>,
}

/// The fields of a mapping whose field names are fixed, after the unknown
/// and duplicate ones were reported.
pub struct Fields<'n> {
    entries: Vec<(&'n str, &'n Node)>,
}

impl<'n> Fields<'n> {
    /// The value of a field, if present.
    pub fn get(&self, name: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find_map(|(k, v)| (*k == name).then_some(*v))
    }
}

/// A mapping entry whose key is a name chosen by the author (a flag key,
/// a variant name, ...): the name, the key node and the value node.
pub type Entry<'n> = (&'n str, &'n Node, &'n Node);

impl<'f> Cx<'f> {
    /// A sink for diagnostics about `file`.
    pub fn new(file: &'f str) -> Self {
        Cx {
            file,
            diagnostics: Vec::new(),
            flag: None,
        }
    }

    /// Records an error at `pos` and document path `path`.
    pub fn error(&mut self, pos: Pos, path: &str, message: impl Into<String>) {
        let d = Diagnostic::error(self.file, path, message).at(pos.line, pos.column);
        self.push(d);
    }

    /// Records a warning at `pos` and document path `path`.
    pub fn warning(&mut self, pos: Pos, path: &str, message: impl Into<String>) {
        let d = Diagnostic::warning(self.file, path, message).at(pos.line, pos.column);
        self.push(d);
    }

    fn push(&mut self, d: Diagnostic) {
        let d = match &self.flag {
            Some(flag) => d.for_flag(flag),
            None => d,
        };
        self.diagnostics.push(d);
    }

    /// The entries of a mapping whose keys are names: each key must be a
    /// non-empty scalar and appear once. `what` describes the mapping in
    /// messages ("flags", "variants"). Later duplicates are reported and left out.
    pub fn entries<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        what: &str,
    ) -> Option<Vec<Entry<'n>>> {
        let Kind::Map(map) = &node.kind else {
            self.error(
                node.pos,
                path,
                format!("expected a mapping of {what}, found {}", describe(node)),
            );
            return None;
        };
        let mut seen: HashMap<&str, Pos> = HashMap::new();
        let mut out = Vec::with_capacity(map.len());
        for (k, v) in map {
            let Some(name) = self.key(k, path) else {
                continue;
            };
            if let Some(first) = seen.get(name) {
                self.error(
                    k.pos,
                    &join(path, name),
                    format!(
                        "duplicate key '{name}' in {what} (first defined at line {}, column {})",
                        first.line, first.column
                    ),
                );
                continue;
            }
            seen.insert(name, k.pos);
            out.push((name, k, v));
        }
        Some(out)
    }

    /// The fields of a mapping with a fixed set of field names: unknown
    /// names (typos) and duplicates are errors. `what` names the mapping
    /// ("a flag", "a rule").
    pub fn fields<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        what: &str,
        allowed: &[&str],
    ) -> Option<Fields<'n>> {
        let entries = self.entries(node, path, &format!("fields of {what}"))?;
        let mut fields = Fields {
            entries: Vec::with_capacity(entries.len()),
        };
        for (name, k, v) in entries {
            if allowed.contains(&name) {
                fields.entries.push((name, v));
            } else {
                let hint = match suggest(name, allowed) {
                    Some(s) => format!("did you mean '{s}'? "),
                    None => String::new(),
                };
                self.error(
                    k.pos,
                    &join(path, name),
                    format!(
                        "unknown field '{name}' in {what}; {hint}expected one of: {}",
                        allowed.join(", ")
                    ),
                );
            }
        }
        Some(fields)
    }

    /// A mapping key: a non-empty scalar.
    fn key<'n>(&mut self, k: &'n Node, path: &str) -> Option<&'n str> {
        match &k.kind {
            Kind::Scalar(s) if !s.text.is_empty() => Some(&s.text),
            Kind::Scalar(_) => {
                self.error(k.pos, path, "empty mapping key");
                None
            }
            _ => {
                self.error(
                    k.pos,
                    path,
                    "mapping keys must be plain text, not a mapping or list",
                );
                None
            }
        }
    }

    /// The items of a sequence.
    pub fn seq<'n>(&mut self, node: &'n Node, path: &str, what: &str) -> Option<&'n [Node]> {
        match &node.kind {
            Kind::Seq(items) => Some(items),
            _ => {
                self.error(
                    node.pos,
                    path,
                    format!("expected a list of {what}, found {}", describe(node)),
                );
                None
            }
        }
    }

    /// The text of a scalar that is not null (numbers and booleans give
    /// their source text, so `salt: 2024` is the salt `"2024"`).
    pub fn text<'n>(&mut self, node: &'n Node, path: &str, what: &str) -> Option<&'n str> {
        match &node.kind {
            Kind::Scalar(s) if s.typed() != Typed::Null => Some(&s.text),
            _ => {
                self.error(
                    node.pos,
                    path,
                    format!("expected {what}, found {}", describe(node)),
                );
                None
            }
        }
    }

    /// A boolean scalar (`true` / `false`).
    pub fn boolean(&mut self, node: &Node, path: &str, what: &str) -> Option<bool> {
        match scalar(node).map(Scalar::typed) {
            Some(Typed::Bool(b)) => Some(b),
            _ => {
                self.error(
                    node.pos,
                    path,
                    format!("{what} must be true or false, found {}", describe(node)),
                );
                None
            }
        }
    }

    /// A number scalar.
    pub fn number(&mut self, node: &Node, path: &str, what: &str) -> Option<Number> {
        match scalar(node).map(Scalar::typed) {
            Some(Typed::Number(n)) => Some(n),
            _ => {
                self.error(
                    node.pos,
                    path,
                    format!("{what} must be a number, found {}", describe(node)),
                );
                None
            }
        }
    }

    /// A scalar as a JSON value (string, number or boolean; not null).
    pub fn scalar_value(&mut self, node: &Node, path: &str, what: &str) -> Option<Value> {
        match scalar(node).map(Scalar::typed) {
            Some(Typed::Bool(b)) => Some(Value::Bool(b)),
            Some(Typed::Number(n)) => Some(Value::Number(n)),
            Some(Typed::String) => scalar(node).map(|s| Value::String(s.text.clone())),
            _ => {
                self.error(
                    node.pos,
                    path,
                    format!(
                        "{what} must be a string, number or boolean, found {}",
                        describe(node)
                    ),
                );
                None
            }
        }
    }
}

/// The node's scalar, if it is one.
pub fn scalar(node: &Node) -> Option<&Scalar> {
    match &node.kind {
        Kind::Scalar(s) => Some(s),
        _ => None,
    }
}

/// What a node is, for messages: "a mapping", "a list", "null", "the number 5", ...
pub fn describe(node: &Node) -> String {
    match &node.kind {
        Kind::Map(_) => "a mapping".to_owned(),
        Kind::Seq(_) => "a list".to_owned(),
        Kind::Scalar(s) => match s.typed() {
            Typed::Null => "nothing (null)".to_owned(),
            Typed::Bool(b) => format!("the boolean {b}"),
            Typed::Number(_) | Typed::NonFinite => format!("the number {}", s.text),
            Typed::String => format!("the string '{}'", s.text),
        },
    }
}

/// `path.name`, or `name` at the top.
pub fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

/// The candidate closest to `word` when it is a plausible typo of it: at
/// most 2 edits and fewer than half the word's length, where an edit is an
/// insertion, a deletion, a substitution or a swap of two adjacent letters
/// (optimal string alignment distance, `strsim::osa_distance`), so `tpye`
/// suggests `type`.
pub fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::osa_distance(word, c), *c))
        .filter(|(d, _)| *d <= 2 && *d * 2 < word.chars().count().max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_catch_typos_only() {
        let fields = ["variants", "default", "rules", "enabled"];
        assert_eq!(suggest("varients", &fields), Some("variants"));
        assert_eq!(suggest("rule", &fields), Some("rules"));
        assert_eq!(suggest("defualt", &fields), Some("default"));
        assert_eq!(suggest("owner", &fields), None);
        assert_eq!(suggest("x", &fields), None);
        assert_eq!(suggest("tpye", &["type", "types", "value"]), Some("type"));
        assert_eq!(suggest("enalbed", &fields), Some("enabled"));
    }
}
