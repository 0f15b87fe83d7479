//! YAML text to a located node tree.
//!
//! Built from `saphyr-parser`'s event stream rather than a ready-made YAML
//! value type for two reasons: every node keeps its line and column, and a
//! mapping keeps *all* its entries in order, so duplicate keys (which most
//! YAML loaders silently collapse) can be reported by the reader.
//!
//! Scalars keep their source text; [`Scalar::value`] types them with the
//! YAML 1.2 core schema (spec 1.2.2 §10.3.2): `null`/`~`/empty, `true`/`false`,
//! decimal, `0o` octal and `0x` hex integers, floats; everything else, and
//! every quoted or block scalar, is a string. Aliases and tags are refused:
//! segments are the way to share conditions, and quoting is the way to force
//! a string.

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span};
use serde_json::{Number, Value};

use crate::Diagnostic;

/// Deepest nesting of mappings and sequences accepted, so a hostile file
/// cannot exhaust the stack of the recursive passes after this one.
pub const MAX_DEPTH: usize = 64;

/// A 1-based line and column (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1.
    pub column: u32,
}

/// A YAML node and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What the node is.
    pub kind: Kind,
    /// Where it starts.
    pub pos: Pos,
}

/// The three kinds of YAML node.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A scalar.
    Scalar(Scalar),
    /// A sequence, in order.
    Seq(Vec<Node>),
    /// A mapping: every entry in source order, duplicates included.
    Map(Vec<(Node, Node)>),
}

/// A scalar's source text and whether it was written plain (unquoted).
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    /// The scalar's content after YAML unescaping and folding.
    pub text: String,
    /// `true` for plain scalars, whose type the core schema decides.
    pub plain: bool,
}

/// A scalar typed by the YAML 1.2 core schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Typed {
    /// `null`, `~` or an empty plain scalar.
    Null,
    /// `true` / `false` (also `True`, `TRUE`, ...).
    Bool(bool),
    /// A JSON number: an integer or a finite float.
    Number(Number),
    /// `.inf`, `-.inf` or `.nan`: a float JSON cannot hold.
    NonFinite,
    /// Anything else.
    String,
}

impl Scalar {
    /// The scalar's type under the core schema.
    pub fn typed(&self) -> Typed {
        if !self.plain {
            return Typed::String;
        }
        let t = self.text.as_str();
        match t {
            "" | "~" | "null" | "Null" | "NULL" => return Typed::Null,
            "true" | "True" | "TRUE" => return Typed::Bool(true),
            "false" | "False" | "FALSE" => return Typed::Bool(false),
            _ => {}
        }
        if let Some(n) = integer(t) {
            return Typed::Number(n);
        }
        let bare = t.trim_start_matches(['-', '+']);
        if t.len() - bare.len() <= 1 && matches!(bare, ".inf" | ".Inf" | ".INF")
            || matches!(t, ".nan" | ".NaN" | ".NAN")
        {
            return Typed::NonFinite;
        }
        if is_float(t) {
            return match t.parse::<f64>().ok().and_then(Number::from_f64) {
                Some(n) => Typed::Number(n),
                None => Typed::NonFinite,
            };
        }
        Typed::String
    }
}

/// Core-schema integers: `[-+]?[0-9]+`, `0o[0-7]+`, `0x[0-9a-fA-F]+`. Values
/// beyond 64 bits become floats, as JSON numbers would.
fn integer(t: &str) -> Option<Number> {
    let (radix, digits, negative) = if let Some(d) = t.strip_prefix("0o") {
        (8, d, false)
    } else if let Some(d) = t.strip_prefix("0x") {
        (16, d, false)
    } else if let Some(d) = t.strip_prefix('-') {
        (10, d, true)
    } else {
        (10, t.strip_prefix('+').unwrap_or(t), false)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u128::from_str_radix(digits, radix).ok();
    let number = match (magnitude, negative) {
        (Some(m), false) => u64::try_from(m).ok().map(Number::from),
        (Some(m), true) => i64::try_from(m)
            .ok()
            .map(|m| Number::from(-m))
            .or((m == 1u128 << 63).then(|| Number::from(i64::MIN))),
        (None, _) => None,
    };
    number.or_else(|| {
        let f = if radix == 10 {
            t.parse::<f64>().ok()
        } else {
            magnitude.map(|m| m as f64)
        };
        f.and_then(Number::from_f64)
    })
}

/// Core-schema floats: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
fn is_float(t: &str) -> bool {
    let b = t.strip_prefix(['-', '+']).unwrap_or(t).as_bytes();
    let int_len = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut i = int_len;
    let mut frac_len = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        frac_len = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        i += frac_len;
    }
    if int_len == 0 && frac_len == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let exp_len = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp_len == 0 {
            return false;
        }
        i += exp_len;
    }
    i == b.len()
}

fn pos(span: &Span) -> Pos {
    let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Pos {
        line: clamp(span.start.line()),
        column: clamp(span.start.col()).saturating_add(1),
    }
}

/// An unfinished collection while events arrive.
enum Frame {
    Seq(Pos, Vec<Node>),
    Map(Pos, Vec<(Node, Node)>, Option<Node>),
}

/// Parses YAML text into one document's root node.
///
/// Errors (each located): a YAML syntax error (parsing stops there), an
/// alias, a tag, nesting deeper than [`MAX_DEPTH`], more than one document,
/// an empty file.
pub fn parse(file: &str, text: &str) -> Result<Node, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    let mut documents = 0;
    let error =
        |at: Pos, message: String| Diagnostic::error(file, "", message).at(at.line, at.column);
    for item in Parser::new_from_str(text) {
        let (event, span) = match item {
            Ok(pair) => pair,
            Err(e) => {
                errors.push(syntax_error(file, &e));
                return Err(errors);
            }
        };
        let at = pos(&span);
        let node = match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    errors.push(error(
                        at,
                        "a rules file holds one YAML document; remove this `---` and what follows"
                            .to_owned(),
                    ));
                    return Err(errors);
                }
                continue;
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => continue,
            Event::Alias(_) => {
                errors.push(error(
                    at,
                    "YAML aliases (*name) are not supported; use a segment to share a condition"
                        .to_owned(),
                ));
                scalar_node("", false, at)
            }
            Event::Scalar(text, style, _, tag) => {
                if let Some(tag) = tag {
                    let handle = match tag.handle.as_str() {
                        "tag:yaml.org,2002:" => "!!",
                        other => other,
                    };
                    errors.push(error(
                        at,
                        format!(
                            "YAML tags ({handle}{}) are not supported; quote a value to make it a string",
                            tag.suffix
                        ),
                    ));
                }
                scalar_node(&text, style == ScalarStyle::Plain, at)
            }
            Event::SequenceStart(_, ref tag) | Event::MappingStart(_, ref tag) => {
                if tag.is_some() {
                    errors.push(error(at, "YAML tags are not supported".to_owned()));
                }
                if stack.len() >= MAX_DEPTH {
                    errors.push(error(
                        at,
                        format!("the document nests deeper than {MAX_DEPTH} levels"),
                    ));
                    return Err(errors);
                }
                stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq(at, Vec::new())
                } else {
                    Frame::Map(at, Vec::new(), None)
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq(p, items)) => Node {
                    kind: Kind::Seq(items),
                    pos: p,
                },
                Some(Frame::Map(p, entries, _)) => Node {
                    kind: Kind::Map(entries),
                    pos: p,
                },
                None => continue,
            },
        };
        match stack.last_mut() {
            Some(Frame::Seq(_, items)) => items.push(node),
            Some(Frame::Map(_, entries, pending)) => match pending.take() {
                Some(key) => entries.push((key, node)),
                None => *pending = Some(node),
            },
            None => root = Some(node),
        }
    }
    match root {
        Some(_) if !errors.is_empty() => Err(errors),
        Some(node) if !is_null(&node) => Ok(node),
        _ => Err(vec![Diagnostic::error(
            file,
            "",
            "the file is empty: expected a mapping with `flags:` and the tenant's settings",
        )]),
    }
}

fn scalar_node(text: &str, plain: bool, at: Pos) -> Node {
    Node {
        kind: Kind::Scalar(Scalar {
            text: text.to_owned(),
            plain,
        }),
        pos: at,
    }
}

fn is_null(node: &Node) -> bool {
    matches!(&node.kind, Kind::Scalar(s) if s.typed() == Typed::Null)
}

fn syntax_error(file: &str, e: &ScanError) -> Diagnostic {
    let m = e.marker();
    Diagnostic::error(file, "", format!("YAML syntax error: {}", e.info())).at(
        u32::try_from(m.line()).unwrap_or(u32::MAX),
        u32::try_from(m.col()).unwrap_or(u32::MAX).saturating_add(1),
    )
}

/// Converts a node to JSON: mappings become objects (keys are the key
/// scalars' text), sequences arrays, scalars per the core schema. Errors
/// name the first node JSON cannot represent (`.inf`/`.nan`, a non-scalar
/// key) and where it is.
pub fn to_json(node: &Node) -> Result<Value, (Pos, String)> {
    match &node.kind {
        Kind::Scalar(s) => match s.typed() {
            Typed::Null => Ok(Value::Null),
            Typed::Bool(b) => Ok(Value::Bool(b)),
            Typed::Number(n) => Ok(Value::Number(n)),
            Typed::NonFinite => Err((
                node.pos,
                format!(
                    "'{}' is not a finite number, which JSON cannot hold",
                    s.text
                ),
            )),
            Typed::String => Ok(Value::String(s.text.clone())),
        },
        Kind::Seq(items) => items
            .iter()
            .map(to_json)
            .collect::<Result<_, _>>()
            .map(Value::Array),
        Kind::Map(entries) => {
            let mut map = serde_json::Map::new();
            for (k, v) in entries {
                let Kind::Scalar(key) = &k.kind else {
                    return Err((k.pos, "mapping keys must be plain text".to_owned()));
                };
                if map.insert(key.text.clone(), to_json(v)?).is_some() {
                    return Err((k.pos, format!("duplicate key '{}'", key.text)));
                }
            }
            Ok(Value::Object(map))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(text: &str) -> Typed {
        Scalar {
            text: text.to_owned(),
            plain: true,
        }
        .typed()
    }

    #[test]
    fn core_schema_types_plain_scalars() {
        assert_eq!(typed(""), Typed::Null);
        assert_eq!(typed("~"), Typed::Null);
        assert_eq!(typed("True"), Typed::Bool(true));
        assert_eq!(typed("on"), Typed::String);
        assert_eq!(typed("yes"), Typed::String);
        assert_eq!(typed("0x1F"), Typed::Number(31.into()));
        assert_eq!(typed("0o17"), Typed::Number(15.into()));
        assert_eq!(typed("-12"), Typed::Number((-12).into()));
        assert_eq!(typed("+7"), Typed::Number(7.into()));
        assert_eq!(
            typed("-9223372036854775808"),
            Typed::Number(i64::MIN.into())
        );
        assert_eq!(
            typed("18446744073709551616"),
            Typed::Number(Number::from_f64(18_446_744_073_709_551_616.0).unwrap())
        );
        assert_eq!(typed("2.5"), Typed::Number(Number::from_f64(2.5).unwrap()));
        assert_eq!(typed(".5"), Typed::Number(Number::from_f64(0.5).unwrap()));
        assert_eq!(
            typed("1e3"),
            Typed::Number(Number::from_f64(1000.0).unwrap())
        );
        assert_eq!(typed("-.inf"), Typed::NonFinite);
        assert_eq!(typed(".NaN"), Typed::NonFinite);
        assert_eq!(typed("2.1.0"), Typed::String);
        assert_eq!(typed("1e"), Typed::String);
        assert_eq!(typed("."), Typed::String);
        assert_eq!(typed("0x"), Typed::String);
        let quoted = Scalar {
            text: "true".to_owned(),
            plain: false,
        };
        assert_eq!(quoted.typed(), Typed::String);
    }

    #[test]
    fn nodes_keep_positions_and_duplicate_keys() {
        let root = parse("t.yaml", "a: 1\nb:\n  - x\n  - 'y'\na: 2\n").unwrap();
        let Kind::Map(entries) = &root.kind else {
            panic!("not a map: {root:?}")
        };
        let keys: Vec<_> = entries
            .iter()
            .map(|(k, _)| match &k.kind {
                Kind::Scalar(s) => (s.text.as_str(), k.pos.line, k.pos.column),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(keys, [("a", 1, 1), ("b", 2, 1), ("a", 5, 1)]);
        let Kind::Seq(items) = &entries[1].1.kind else {
            panic!()
        };
        assert_eq!(items[1].pos, Pos { line: 4, column: 5 });
        assert_eq!(to_json(&items[1]).unwrap(), Value::String("y".to_owned()));
    }

    #[test]
    fn refuses_syntax_errors_aliases_tags_and_extra_documents() {
        let e = parse("t.yaml", "a: [1, 2\n").unwrap_err();
        assert!(e[0].message.starts_with("YAML syntax error"), "{e:?}");
        let e = parse("t.yaml", "a: &x 1\nb: *x\nc: !!str 5\n").unwrap_err();
        assert_eq!(e.len(), 2);
        assert_eq!((e[0].line, e[0].column), (Some(2), Some(4)));
        assert!(e[0].message.contains("aliases"));
        assert!(e[1].message.contains("tags (!!str)"), "{}", e[1].message);
        let e = parse("t.yaml", "a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(e[0].line, Some(2));
        let e = parse("t.yaml", "# nothing\n").unwrap_err();
        assert!(e[0].message.contains("empty"));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        let e = parse("t.yaml", &text).unwrap_err();
        assert!(e[0].message.contains("deeper than 64"), "{e:?}");
    }
}
