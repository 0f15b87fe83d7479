//! Line and column of every member and element of a JSON document, and the
//! duplicate keys serde_json silently drops.
//!
//! serde_json parses the document (and reports syntax errors with their
//! position); it keeps no positions and keeps only the last of duplicate keys.
//! This scanner walks the same text a second time, after serde_json accepted
//! it, and records where each node starts, keyed by its [`JsonPath`]. It is a
//! plain recursive walk over JSON's grammar (RFC 8259): serde_json's nesting
//! limit of 128 bounds its recursion, and on text it cannot follow it stops
//! early instead of panicking.
//!
//! Positions live in an ordered map: a duplicated key's earlier subtree is
//! one contiguous range of paths there, so forgetting it costs only its own
//! size, and a file full of duplicates still scans in linear time.

use std::collections::{BTreeMap, HashMap};

use super::path::JsonPath;

/// A 1-based line and column. Columns count Unicode characters, not bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column in characters.
    pub column: u32,
}

/// A key that occurs twice in one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// Path of the member (the object's path plus the key).
    pub path: JsonPath,
    /// Where the key first occurs.
    pub first: Pos,
    /// Where it occurs again (serde_json keeps this later value).
    pub again: Pos,
}

/// Positions of a document's nodes.
///
/// An object member is located at its key's opening quote (the later one when
/// the key is duplicated, matching the value serde_json keeps); an array
/// element and the root at the first character of the value.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    spots: BTreeMap<JsonPath, Pos>,
    duplicates: Vec<Duplicate>,
}

impl SourceMap {
    /// Scans `text`, which should be JSON that serde_json accepted.
    pub fn scan(text: &str) -> SourceMap {
        let mut scanner = Scanner {
            bytes: text.as_bytes(),
            at: 0,
            pos: Pos { line: 1, column: 1 },
            map: SourceMap::default(),
        };
        scanner.skip_ws();
        scanner.map.spots.insert(JsonPath::root(), scanner.pos);
        let _ = scanner.value(&JsonPath::root());
        scanner.map
    }

    /// Where the node at `path` starts; `None` when the text has no such node.
    pub fn get(&self, path: &JsonPath) -> Option<Pos> {
        self.spots.get(path).copied()
    }

    /// Where the node at `path` starts, or else its nearest ancestor that is
    /// in the text (so a missing member is reported at its parent).
    pub fn locate(&self, path: &JsonPath) -> Pos {
        let mut p = Some(path.clone());
        while let Some(q) = p {
            if let Some(pos) = self.get(&q) {
                return pos;
            }
            p = q.parent();
        }
        Pos { line: 1, column: 1 }
    }

    /// Every duplicate key, in text order.
    pub fn duplicates(&self) -> &[Duplicate] {
        &self.duplicates
    }

    /// Removes `path` and every node below it: one contiguous range of the
    /// ordered map, so the cost is the size of what is removed.
    fn forget(&mut self, path: &JsonPath) {
        let below: Vec<JsonPath> = self
            .spots
            .range(path..)
            .take_while(|(p, _)| p.starts_with(path))
            .map(|(p, _)| p.clone())
            .collect();
        for p in below {
            self.spots.remove(&p);
        }
    }
}

struct Scanner<'t> {
    bytes: &'t [u8],
    at: usize,
    pos: Pos,
    map: SourceMap,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// Consumes one byte, keeping line and column: a newline starts a line;
    /// UTF-8 continuation bytes (`10xxxxxx`) do not start a character.
    fn bump(&mut self) {
        if let Some(b) = self.peek() {
            self.at += 1;
            if b == b'\n' {
                self.pos.line += 1;
                self.pos.column = 1;
            } else if b & 0xC0 != 0x80 {
                self.pos.column += 1;
            }
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.bump();
        }
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.skip_ws();
        (self.peek()? == byte).then(|| self.bump())
    }

    /// Walks one value starting at the current byte (after whitespace).
    fn value(&mut self, path: &JsonPath) -> Option<()> {
        self.skip_ws();
        match self.peek()? {
            b'{' => self.object(path),
            b'[' => self.array(path),
            b'"' => self.string().map(drop),
            _ => {
                while !matches!(
                    self.peek(),
                    None | Some(b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r')
                ) {
                    self.bump();
                }
                Some(())
            }
        }
    }

    fn object(&mut self, path: &JsonPath) -> Option<()> {
        self.bump();
        self.skip_ws();
        if self.peek()? == b'}' {
            self.bump();
            return Some(());
        }
        let mut seen: HashMap<String, Pos> = HashMap::new();
        loop {
            self.skip_ws();
            let at = self.pos;
            let key = self.string()?;
            let member = path.key(&key);
            if let Some(&first) = seen.get(&key) {
                // serde_json keeps the later value: forget the earlier one's nodes.
                self.map.forget(&member);
                self.map.duplicates.push(Duplicate {
                    path: member.clone(),
                    first,
                    again: at,
                });
            }
            seen.insert(key, at);
            self.map.spots.insert(member.clone(), at);
            self.expect(b':')?;
            self.value(&member)?;
            self.skip_ws();
            match self.peek()? {
                b',' => self.bump(),
                b'}' => {
                    self.bump();
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn array(&mut self, path: &JsonPath) -> Option<()> {
        self.bump();
        self.skip_ws();
        if self.peek()? == b']' {
            self.bump();
            return Some(());
        }
        let mut index = 0;
        loop {
            self.skip_ws();
            let element = path.index(index);
            self.map.spots.insert(element.clone(), self.pos);
            self.value(&element)?;
            self.skip_ws();
            match self.peek()? {
                b',' => self.bump(),
                b']' => {
                    self.bump();
                    return Some(());
                }
                _ => return None,
            }
            index += 1;
        }
    }

    /// Consumes a string literal and returns its decoded text.
    fn string(&mut self) -> Option<String> {
        let start = self.at;
        if self.peek()? != b'"' {
            return None;
        }
        self.bump();
        let mut escaped = false;
        loop {
            match self.peek()? {
                b'\\' => {
                    escaped = true;
                    self.bump();
                    self.bump();
                }
                b'"' => {
                    self.bump();
                    break;
                }
                _ => self.bump(),
            }
        }
        let raw = std::str::from_utf8(&self.bytes[start..self.at]).ok()?;
        if escaped {
            serde_json::from_str(raw).ok()
        } else {
            Some(raw[1..raw.len() - 1].to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: u32, column: u32) -> Pos {
        Pos { line, column }
    }

    #[test]
    fn locates_members_elements_and_root() {
        let text = "  {\n  \"a\": [1, {\"b\": true}],\n  \"c\": \"x\"\n}";
        let m = SourceMap::scan(text);
        let root = JsonPath::root();
        assert_eq!(m.get(&root), Some(p(1, 3)));
        assert_eq!(m.get(&root.key("a")), Some(p(2, 3)));
        assert_eq!(m.get(&root.key("a").index(0)), Some(p(2, 9)));
        assert_eq!(m.get(&root.key("a").index(1)), Some(p(2, 12)));
        assert_eq!(m.get(&root.key("a").index(1).key("b")), Some(p(2, 13)));
        assert_eq!(m.get(&root.key("c")), Some(p(3, 3)));
        assert_eq!(m.locate(&root.key("c").key("missing")), p(3, 3));
        assert!(m.duplicates().is_empty());
    }

    #[test]
    fn columns_count_characters_and_keys_are_unescaped() {
        let text = "{\"é\u{1F600}\": 1, \"q\\\"\\u00e9\": 2}";
        let m = SourceMap::scan(text);
        assert_eq!(m.get(&JsonPath::root().key("é\u{1F600}")), Some(p(1, 2)));
        // `{"é😀": 1, ` is 10 characters.
        assert_eq!(m.get(&JsonPath::root().key("q\"é")), Some(p(1, 11)));
    }

    #[test]
    fn finds_duplicates_and_keeps_the_last() {
        let text = "{\"f\": {\"a\": 1,\n \"a\": 2}, \"f\": {}}";
        let m = SourceMap::scan(text);
        let dups = m.duplicates();
        assert_eq!(dups.len(), 2);
        assert_eq!(dups[0].path, JsonPath::root().key("f").key("a"));
        assert_eq!((dups[0].first, dups[0].again), (p(1, 8), p(2, 2)));
        assert_eq!(dups[1].path, JsonPath::root().key("f"));
        assert_eq!((dups[1].first, dups[1].again), (p(1, 2), p(2, 11)));
        assert_eq!(m.get(&JsonPath::root().key("f")), Some(p(2, 11)));
        assert_eq!(m.get(&JsonPath::root().key("f").key("a")), None);
    }

    #[test]
    fn a_duplicate_forgets_only_its_own_subtree() {
        let text = r#"{"a": {"x": [1]}, "ab": {"x": 2}, "b": 3, "a": {"y": 4}}"#;
        let m = SourceMap::scan(text);
        let root = JsonPath::root();
        assert_eq!(m.get(&root.key("a").key("x")), None);
        assert_eq!(m.get(&root.key("a").key("x").index(0)), None);
        assert_eq!(m.get(&root.key("a").key("y")), Some(p(1, 49)));
        assert_eq!(m.get(&root.key("ab").key("x")), Some(p(1, 26)));
        assert_eq!(m.get(&root.key("b")), Some(p(1, 35)));
    }

    #[test]
    fn many_duplicates_after_many_members_scan_in_linear_time() {
        // 20,000 members, then 20,000 duplicates of one of them: forgetting
        // each earlier value by scanning every recorded position took minutes.
        let n = 20_000;
        let mut text = String::from("{");
        for i in 0..n {
            text.push_str(&format!(
                "\"f{i}\": {{\"state\": \"ENABLED\", \"v\": [1, 2]}},"
            ));
        }
        for _ in 0..n {
            text.push_str("\"f7\": {\"v\": [3]},");
        }
        text.push_str("\"last\": 0}");
        let started = std::time::Instant::now();
        let m = SourceMap::scan(&text);
        assert_eq!(m.duplicates().len(), n);
        let f7 = JsonPath::root().key("f7");
        assert_eq!(m.get(&f7.key("state")), None);
        assert!(m.get(&f7.key("v").index(0)).is_some());
        assert!(m
            .get(&JsonPath::root().key("f19999").key("v").index(1))
            .is_some());
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "scan took {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn malformed_text_stops_without_panicking() {
        for text in [
            "{\"a\": [1,",
            "{\"a\" 1}",
            "\"unterminated",
            "{\"a\\",
            "[1 2]",
            "",
        ] {
            let _ = SourceMap::scan(text);
        }
    }
}
