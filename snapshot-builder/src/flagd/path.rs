//! JSON paths: where a node sits inside the document, e.g.
//! `flags.checkout.variants.on` or `flags["dotted.key"].targeting.if[1]`.

use std::fmt;

/// One step into a JSON value: a member of an object or an element of an array.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Step {
    /// Object member by key.
    Key(String),
    /// Array element by index.
    Index(usize),
}

/// A path from the document root; empty for the root itself.
///
/// Paths order lexicographically by step, so a path and everything below it
/// form one contiguous range in an ordered collection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JsonPath(Vec<Step>);

impl JsonPath {
    /// The document root.
    pub fn root() -> JsonPath {
        JsonPath(Vec::new())
    }

    /// This path extended by an object member.
    pub fn key(&self, key: &str) -> JsonPath {
        let mut steps = self.0.clone();
        steps.push(Step::Key(key.to_owned()));
        JsonPath(steps)
    }

    /// This path extended by an array element.
    pub fn index(&self, index: usize) -> JsonPath {
        let mut steps = self.0.clone();
        steps.push(Step::Index(index));
        JsonPath(steps)
    }

    /// The path without its last step; `None` for the root.
    pub fn parent(&self) -> Option<JsonPath> {
        let (_, init) = self.0.split_last()?;
        Some(JsonPath(init.to_vec()))
    }

    /// True when `prefix` is this path or one of its ancestors.
    pub fn starts_with(&self, prefix: &JsonPath) -> bool {
        self.0.starts_with(&prefix.0)
    }

    /// The flag a path lies in: the key after a leading `flags` step.
    pub fn flag_key(&self) -> Option<&str> {
        match self.0.as_slice() {
            [Step::Key(top), Step::Key(flag), ..] if top == "flags" => Some(flag),
            _ => None,
        }
    }
}

/// A key is written bare (`.key`) when it is non-empty and made only of ASCII
/// letters, digits, `-`, `_` and `$`; otherwise as a quoted JSON string in
/// brackets (`["a.b"]`), so every path reads back unambiguously.
fn is_bare(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'$'))
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                Step::Key(k) if is_bare(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                Step::Key(k) => {
                    let quoted = serde_json::to_string(k).map_err(|_| fmt::Error)?;
                    write!(f, "[{quoted}]")?;
                }
                Step::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_bare_quoted_and_indexed_steps() {
        let p = JsonPath::root()
            .key("flags")
            .key("my.flag")
            .key("targeting")
            .key("if")
            .index(1);
        assert_eq!(p.to_string(), r#"flags["my.flag"].targeting.if[1]"#);
        assert_eq!(p.flag_key(), Some("my.flag"));
        assert_eq!(
            JsonPath::root()
                .key("$evaluators")
                .key("is-beta")
                .to_string(),
            "$evaluators.is-beta"
        );
        assert_eq!(JsonPath::root().key("").to_string(), r#"[""]"#);
        assert_eq!(JsonPath::root().to_string(), "");
    }

    #[test]
    fn parent_and_prefix() {
        let j = JsonPath::root()
            .key("flags")
            .key("f")
            .key("targeting")
            .index(0);
        assert_eq!(j.parent().unwrap().to_string(), "flags.f.targeting");
        assert!(j.starts_with(&JsonPath::root().key("flags").key("f")));
        assert!(!j.starts_with(&JsonPath::root().key("flags").key("g")));
        assert_eq!(JsonPath::root().parent(), None);
    }
}
