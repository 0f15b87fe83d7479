//! Snapshot body formats 2, 3 and 4: a compact binary encoding of the same
//! IR types (`docs/snapshot-format.md`, "Body, format 2"); format 3 adds a
//! flag table (each flag's length) before the item, so a reader finds every
//! flag without walking past the ones before ("Body, format 3"); format 4
//! is format 3 with text sets that also share their members' common
//! suffixes ("Body, format 4"). One encoder and one decoder read all three,
//! told apart by a [`Layout`].
//!
//! It is a serde data format, so it is driven by the model's own
//! `Serialize`/`Deserialize` implementations: an IR node added to the model
//! is encoded by format 2 without touching this module. What makes it
//! smaller and faster to read than format 1's CBOR:
//!
//! - a string table: every distinct text (flag keys, variant names,
//!   attribute path segments, literal texts, map keys) is stored once, in
//!   first-use order, and referred to by its index; the table's bytes are
//!   checked as UTF-8 in one pass;
//! - enum variants (expression nodes, tests, targeting, serves) are written
//!   as their declaration index, an integer opcode, instead of a text tag;
//! - integers and lengths are LEB128 varints;
//! - literal string sets (`StrSet`) are front-coded: members in byte order,
//!   each stored as the length it shares with its predecessor and the rest;
//!   in format 4 a set also lists suffixes its members share (`@gmail.com`,
//!   `-beta`), texts of the string table, and a member names the one it
//!   ends with instead of repeating its bytes.
//!
//! Every item starts with a one-byte kind (table below), so the format is
//! self-describing: JSON values of the IR (variant values, literals,
//! metadata) decode without a schema, like everything else.

use std::fmt;

use crate::limits::{
    set_too_expanded, text_copies_too_large, MAX_FLAG_TEXT_BYTES, MAX_SET_BYTES_PER_ENCODED_BYTE,
    MAX_SNAPSHOT_TEXT_BYTES,
};
use crate::model::{Body, Flag};
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use serde::ser::{self, Serialize};

/// The kinds, first byte of every item.
mod kind {
    pub const NULL: u8 = 0x00;
    pub const FALSE: u8 = 0x01;
    pub const TRUE: u8 = 0x02;
    pub const UINT: u8 = 0x03;
    pub const NINT: u8 = 0x04;
    pub const FLOAT: u8 = 0x05;
    pub const TEXT: u8 = 0x06;
    pub const BYTES: u8 = 0x07;
    pub const SEQ: u8 = 0x08;
    pub const MAP: u8 = 0x09;
    pub const SOME: u8 = 0x0a;
    pub const UNIT_VARIANT: u8 = 0x0b;
    pub const NEWTYPE_VARIANT: u8 = 0x0c;
    pub const SEQ_VARIANT: u8 = 0x0d;
    pub const TEXT_SET: u8 = 0x0e;
    /// `0x20 + i`: a newtype variant with index `i` < 32, payload follows.
    pub const SMALL_NEWTYPE_VARIANT: u8 = 0x20;
    /// `0x40 + n`: a sequence of `n` < 64 items.
    pub const SMALL_SEQ: u8 = 0x40;
    /// `0x80 + n`: the unsigned integer `n` < 128.
    pub const SMALL_UINT: u8 = 0x80;
}

/// The name a type gives `serialize_newtype_struct` to be front-coded as a
/// sorted text set (`StrSet`); other formats see the inner sequence.
pub(crate) const TEXT_SET_NAME: &str = "vane::StrSet";

/// The name each flag of a body is serialised under as a newtype struct,
/// so the encoder can note its length for format 3's flag table; other
/// formats see the flag itself.
pub(crate) const FLAG_ITEM_NAME: &str = "vane::Flag";

/// What tells body formats 2, 3 and 4 apart; everything else is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    /// A flag table (each flag's length) before the item: formats 3 and 4.
    pub(crate) flag_table: bool,
    /// Text sets carry a dictionary of shared suffixes: format 4.
    pub(crate) set_suffixes: bool,
}

impl Layout {
    /// Format 2's layout (also what reading the string table assumes).
    const FORMAT_2: Layout = Layout {
        flag_table: false,
        set_suffixes: false,
    };

    /// The layout of body format `format_version`; `None` for a version
    /// that is not one of this codec's (1 is CBOR).
    pub(crate) fn of(format_version: u32) -> Option<Layout> {
        match format_version {
            2 => Some(Layout::FORMAT_2),
            3 => Some(Layout {
                flag_table: true,
                set_suffixes: false,
            }),
            4 => Some(Layout {
                flag_table: true,
                set_suffixes: true,
            }),
            _ => None,
        }
    }
}

/// Largest length or count accepted while decoding (no allocation is sized
/// from the data beyond what the data itself holds, but lengths are checked
/// against the bytes left anyway).
const MAX_LEN: u64 = u32::MAX as u64;

/// An encoding or decoding failure, with a plain message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Encodes `value` as a format-2 body: the string table, then the item.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    encode(value, Layout::FORMAT_2, &[])
}

/// Encodes `body` in body format `layout`: the string table, for formats 3
/// and 4 the flag table (the number of flags, then each flag's length in
/// bytes), then the item (text sets with suffix dictionaries in format 4).
pub(crate) fn body_to_vec(body: &Body, layout: Layout) -> Result<Vec<u8>, Error> {
    let keys: Vec<&str> = body.flags.iter().map(|f| f.key.as_str()).collect();
    encode(body, layout, &keys)
}

/// Encodes `value`; `flag_keys` are the keys of its flag items in order,
/// to name a flag the encoder refuses (empty: named by position).
fn encode<T: Serialize + ?Sized>(
    value: &T,
    layout: Layout,
    flag_keys: &[&str],
) -> Result<Vec<u8>, Error> {
    let mut enc = Encoder {
        flag_keys,
        data: Vec::new(),
        texts: std::collections::HashMap::new(),
        order: Vec::new(),
        flag_lengths: Vec::new(),
        layout,
        text_bytes: 0,
        flag_text_bytes: 0,
    };
    value.serialize(&mut enc)?;
    let rest = enc.text_bytes - enc.flag_text_bytes;
    if rest > MAX_FLAG_TEXT_BYTES {
        return Err(Error(text_copies_too_large(
            "the items after the flags",
            rest,
            MAX_FLAG_TEXT_BYTES,
            "flag",
        )));
    }
    let mut out = Vec::with_capacity(enc.data.len() + 16 * enc.order.len());
    put_varint(&mut out, enc.order.len() as u64);
    for t in &enc.order {
        put_varint(&mut out, t.len() as u64);
    }
    for t in &enc.order {
        out.extend_from_slice(t.as_bytes());
    }
    if layout.flag_table {
        put_varint(&mut out, enc.flag_lengths.len() as u64);
        for &n in &enc.flag_lengths {
            put_varint(&mut out, n);
        }
    }
    out.extend_from_slice(&enc.data);
    Ok(out)
}

struct Encoder<'k> {
    /// The keys of the flag items, in order, for messages.
    flag_keys: &'k [&'k str],
    data: Vec<u8>,
    texts: std::collections::HashMap<String, u32>,
    order: Vec<String>,
    /// The length in bytes of each flag item written so far (format 3's
    /// flag table).
    flag_lengths: Vec<u64>,
    layout: Layout,
    /// The bytes of the text items written so far, what the decoder
    /// copies out of the string table.
    text_bytes: usize,
    /// Those of them inside flags.
    flag_text_bytes: usize,
}

impl Encoder<'_> {
    /// The index of `s` in the string table, adding it when new.
    fn intern(&mut self, s: &str) -> u32 {
        let next = self.order.len() as u32;
        let i = *self.texts.entry(s.to_owned()).or_insert_with(|| next);
        if i == next {
            self.order.push(s.to_owned());
        }
        i
    }

    fn text(&mut self, s: &str) {
        self.text_bytes += s.len();
        let i = self.intern(s);
        self.data.push(kind::TEXT);
        put_varint(&mut self.data, u64::from(i));
    }

    fn head(&mut self, k: u8, n: u64) {
        self.data.push(k);
        put_varint(&mut self.data, n);
    }

    fn len(len: Option<usize>) -> Result<usize, Error> {
        len.ok_or_else(|| Error("format 2 needs the length of every sequence and map".into()))
    }
}

/// Front-codes a sorted set of texts: `TEXT_SET count (shared rest-len rest)*`,
/// in format 4 with a suffix dictionary (`docs/snapshot-format.md`).
struct TextSetEncoder<'e, 'k> {
    enc: &'e mut Encoder<'k>,
    members: Vec<String>,
}

impl ser::Serializer for &mut Encoder<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.data.push(if v { kind::TRUE } else { kind::FALSE });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        if v >= 0 {
            return self.serialize_u64(v as u64);
        } else {
            self.head(kind::NINT, !(v as u64));
        }
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.serialize_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        if v < 0x80 {
            self.data.push(kind::SMALL_UINT + v as u8);
        } else {
            self.head(kind::UINT, v);
        }
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.data.push(kind::FLOAT);
        self.data.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.text(v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.text(v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        self.head(kind::BYTES, v.len() as u64);
        self.data.extend_from_slice(v);
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.data.push(kind::NULL);
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), Error> {
        self.data.push(kind::SOME);
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.data.push(kind::NULL);
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _: &'static str, i: u32, _: &'static str) -> Result<(), Error> {
        self.head(kind::UNIT_VARIANT, i.into());
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        if name == TEXT_SET_NAME {
            let mut set = TextSetEncoder {
                enc: self,
                members: Vec::new(),
            };
            return v.serialize(&mut set);
        }
        if name == FLAG_ITEM_NAME {
            let start = self.data.len();
            let texts = self.text_bytes;
            v.serialize(&mut *self)?;
            self.flag_lengths.push((self.data.len() - start) as u64);
            // What the decoder refuses (`MAX_FLAG_TEXT_BYTES`,
            // `MAX_SNAPSHOT_TEXT_BYTES`).
            let copied = self.text_bytes - texts;
            if copied > MAX_FLAG_TEXT_BYTES {
                let n = self.flag_lengths.len() - 1;
                let what = match self.flag_keys.get(n) {
                    Some(key) => format!("flag '{key}'"),
                    None => format!("flag {n}"),
                };
                return Err(Error(text_copies_too_large(
                    &what,
                    copied,
                    MAX_FLAG_TEXT_BYTES,
                    "flag",
                )));
            }
            add_copied_text(&mut self.flag_text_bytes, copied).map_err(Error)?;
            return Ok(());
        }
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        i: u32,
        _: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        if i < 0x20 {
            self.data.push(kind::SMALL_NEWTYPE_VARIANT + i as u8);
        } else {
            self.head(kind::NEWTYPE_VARIANT, i.into());
        }
        v.serialize(self)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self, Error> {
        match Encoder::len(len)? {
            n if n < 0x40 => self.data.push(kind::SMALL_SEQ + n as u8),
            n => self.head(kind::SEQ, n as u64),
        }
        Ok(self)
    }
    fn serialize_tuple(self, len: usize) -> Result<Self, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Self, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        i: u32,
        _: &'static str,
        len: usize,
    ) -> Result<Self, Error> {
        self.head(kind::SEQ_VARIANT, i.into());
        put_varint(&mut self.data, len as u64);
        Ok(self)
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Self, Error> {
        self.head(kind::MAP, Encoder::len(len)? as u64);
        Ok(self)
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Self, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        i: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self, Error> {
        self.serialize_tuple_variant(name, i, variant, len)
    }
}

macro_rules! compound {
    ($($t:ident :: $m:ident),*) => {$(
        impl ser::$t for &mut Encoder<'_> {
            type Ok = ();
            type Error = Error;
            fn $m<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
                v.serialize(&mut **self)
            }
            fn end(self) -> Result<(), Error> {
                Ok(())
            }
        }
    )*};
}
compound!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for &mut Encoder<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), Error> {
        k.serialize(&mut **self)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        v.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Error> {
        Ok(())
    }
}

impl ser::SerializeStruct for &mut Encoder<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        _: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        v.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Error> {
        Ok(())
    }
}

impl ser::SerializeStructVariant for &mut Encoder<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        _: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        v.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Error> {
        Ok(())
    }
}

/// Only a sequence of texts can be a text set.
fn not_a_text_set() -> Error {
    Error("a text set holds texts only".into())
}

impl ser::Serializer for &mut TextSetEncoder<'_, '_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Self;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_seq(self, _: Option<usize>) -> Result<Self, Error> {
        Ok(self)
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.members.push(v.to_owned());
        Ok(())
    }
    fn serialize_bool(self, _: bool) -> Result<(), Error> {
        Err(not_a_text_set())
    }
    fn serialize_i8(self, _: i8) -> Result<(), Error> {
        Err(not_a_text_set())
    }
    fn serialize_i16(self, _: i16) -> Result<(), Error> {
        Err(not_a_text_set())
    }
    fn serialize_i32(self, _: i32) -> Result<(), Error> {
        Err(not_a_text_set())
    }
    fn serialize_i64(self, _: i64) -> Result<(), Error> {
        Err(not_a_text_set())
    }
    fn serialize_u8(self, _: u8) -> Result<(), Error> {
        Err(not_a_text_set())
    }
    fn serialize_u16(self, _: u16) -> Result<(), Error> {
        Err(not_a_text_set())
    }
    fn serialize_u32(self, _: u32) -> Result<(), Error> {
        Err(not_a_text_set())
    }
    fn serialize_u64(self, _: u64) -> Result<(), Error> {
        Err(not_a_text_set())
    }
    fn serialize_f32(self, _: f32) -> Result<(), Error> {
        Err(not_a_text_set())
    }
    fn serialize_f64(self, _: f64) -> Result<(), Error> {
        Err(not_a_text_set())
    }
    fn serialize_char(self, _: char) -> Result<(), Error> {
        Err(not_a_text_set())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Error> {
        Err(not_a_text_set())
    }
    fn serialize_none(self) -> Result<(), Error> {
        Err(not_a_text_set())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Error> {
        Err(not_a_text_set())
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Err(not_a_text_set())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        Err(not_a_text_set())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<(), Error> {
        Err(not_a_text_set())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), Error> {
        Err(not_a_text_set())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Error> {
        Err(not_a_text_set())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(not_a_text_set())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(not_a_text_set())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(not_a_text_set())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(not_a_text_set())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Err(not_a_text_set())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(not_a_text_set())
    }
}

impl ser::SerializeSeq for &mut TextSetEncoder<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        v.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Error> {
        let members = std::mem::take(&mut self.members);
        if !members.is_sorted_by(|a, b| a < b) {
            return Err(Error(
                "a text set's members must be sorted and unique".into(),
            ));
        }
        let (suffixes, ends) = match self.enc.layout.set_suffixes {
            true => shared_suffixes(&members),
            false => (Vec::new(), Vec::new()),
        };
        let indexes: Vec<u32> = suffixes.iter().map(|s| self.enc.intern(s)).collect();
        let data = &mut self.enc.data;
        let start = data.len();
        data.push(kind::TEXT_SET);
        put_varint(data, members.len() as u64);
        if self.enc.layout.set_suffixes {
            put_varint(data, indexes.len() as u64);
            for &i in &indexes {
                put_varint(data, u64::from(i));
            }
        }
        let mut previous: &[u8] = &[];
        for (i, m) in members.iter().enumerate() {
            let m = m.as_bytes();
            let end = ends.get(i).copied().unwrap_or(0);
            let suffix = match end {
                0 => 0,
                e => suffixes.get(e - 1).map_or(0, |s| s.len()),
            };
            let own = m.get(..m.len() - suffix).unwrap_or_default();
            let shared = previous.iter().zip(own).take_while(|(a, b)| a == b).count();
            put_varint(data, shared as u64);
            if !indexes.is_empty() {
                put_varint(data, end as u64);
            }
            put_varint(data, (own.len() - shared) as u64);
            data.extend_from_slice(own.get(shared..).unwrap_or_default());
            previous = m;
        }
        let decoded: usize = members.iter().map(String::len).sum();
        let encoded = data.len() - start;
        if decoded > MAX_SET_BYTES_PER_ENCODED_BYTE.saturating_mul(encoded) {
            return Err(Error(set_too_expanded(
                members.first().map_or("", |m| m),
                members.len(),
                decoded,
                encoded,
            )));
        }
        Ok(())
    }
}

/// Where a member of a text set may start a shared suffix: at a character
/// that is not a letter or digit (`@`, `.`, `-`, `/`), or where letters
/// give way to digits or back (`user` | `42`, `v` | `2`). Never at 0.
fn suffix_starts(member: &str) -> impl Iterator<Item = usize> + '_ {
    let class = |c: char| match c {
        c if c.is_ascii_digit() => 0u8,
        c if c.is_alphanumeric() => 1,
        _ => 2,
    };
    member
        .char_indices()
        .zip(member.chars().skip(1))
        .filter(move |&((_, before), c)| !c.is_alphanumeric() || class(c) != class(before))
        .map(|((i, before), _)| i + before.len_utf8())
}

/// Most entries a format-4 set's suffix dictionary gets from the encoder,
/// so a member's suffix item is one byte.
const MAX_SUFFIXES: usize = 127;

/// The encoder's choice of a format-4 set's suffix dictionary (any choice
/// decodes; this one is deterministic). A member's candidates are its
/// suffixes of at least 2 bytes that start at a [`suffix_starts`] place;
/// a candidate's gain for a member is the bytes it removes from what front
/// coding alone writes of it (a suffix overlapping the prefix the member
/// shares with the one before removes less). Greedily, while the dictionary
/// has room: the candidate whose entry would add the most, summed over the
/// members, beyond what each member's best entry so far removes, less its
/// cost (its text in the string table and about three bytes of
/// references), becomes an entry, and the members it does better for take
/// it (so `@shop.example` can follow `.example`); ties go to the smaller
/// text. Entries no member ends up taking are dropped, and the whole
/// dictionary unless what it removes exceeds its cost plus the suffix item
/// (a byte) of every member. Returns the dictionary in byte order and, per
/// member, its entry + 1 (0: none); an empty dictionary when none pays.
fn shared_suffixes(members: &[String]) -> (Vec<&str>, Vec<usize>) {
    use std::collections::HashMap;
    fn candidates(m: &str) -> impl Iterator<Item = &str> {
        suffix_starts(m)
            .filter_map(move |i| m.get(i..))
            .filter(|s| s.len() >= 2)
    }
    let cost = |s: &str| s.len() + 3;
    // What `suffix` removes of `member`, which shares `shared` bytes with
    // the member before: front coding alone writes the bytes after those.
    fn gain(member: &str, shared: usize, suffix: &str) -> usize {
        let own = member.len() - suffix.len();
        (member.len() - shared) - own.saturating_sub(shared)
    }
    /// A member, the bytes it shares with the one before, its entry so
    /// far and what that removes.
    struct Slot<'m> {
        member: &'m str,
        shared: usize,
        taken: Option<&'m str>,
        gain: usize,
    }
    let mut slots: Vec<Slot> = Vec::with_capacity(members.len());
    let mut previous = "";
    for m in members {
        let shared = previous
            .bytes()
            .zip(m.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        slots.push(Slot {
            member: m,
            shared,
            taken: None,
            gain: 0,
        });
        previous = m;
    }
    let mut entries: Vec<&str> = Vec::new();
    while entries.len() < MAX_SUFFIXES {
        let mut value: HashMap<&str, usize> = HashMap::new();
        for slot in &slots {
            for s in candidates(slot.member) {
                let more = gain(slot.member, slot.shared, s).saturating_sub(slot.gain);
                *value.entry(s).or_default() += more;
            }
        }
        let best = value
            .into_iter()
            .filter(|&(s, v)| v > cost(s))
            .max_by(|(a, v), (b, w)| (v - cost(a)).cmp(&(w - cost(b))).then(b.cmp(a)));
        let Some((best, _)) = best else { break };
        for slot in &mut slots {
            if !candidates(slot.member).any(|s| s == best) {
                continue;
            }
            let g = gain(slot.member, slot.shared, best);
            if g > slot.gain {
                slot.taken = Some(best);
                slot.gain = g;
            }
        }
        entries.push(best);
    }
    entries.retain(|&e| slots.iter().any(|slot| slot.taken == Some(e)));
    let costs: usize = entries.iter().map(|s| cost(s)).sum();
    if slots.iter().map(|slot| slot.gain).sum::<usize>() <= costs + members.len() {
        return (Vec::new(), Vec::new());
    }
    entries.sort_unstable();
    let ends = slots
        .iter()
        .map(|slot| {
            slot.taken
                .and_then(|s| entries.binary_search(&s).ok())
                .map_or(0, |i| i + 1)
        })
        .collect();
    (entries, ends)
}

/// Decodes a format-2 body: exactly one item after the string table.
pub fn from_slice<T: de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    item_from_slice(bytes, Layout::FORMAT_2)
}

/// Decodes the string table and exactly one item after it, as `layout`
/// encodes items (no flag table).
fn item_from_slice<T: de::DeserializeOwned>(bytes: &[u8], layout: Layout) -> Result<T, Error> {
    let (table, at) = StrTable::read(bytes)?;
    let mut dec = Decoder::new(bytes, at, Some(&table), layout);
    let value = T::deserialize(&mut dec)?;
    dec.finish(bytes.len())?;
    Ok(value)
}

/// The string table of a format-2 body: its texts, checked as UTF-8 in one
/// pass, and where each one starts and ends.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct StrTable {
    /// The texts, concatenated.
    text: Box<str>,
    /// Text `i` is `text[bounds[i]..bounds[i + 1]]`; every bound is a
    /// character boundary (checked when the table is read).
    bounds: Box<[u32]>,
}

impl StrTable {
    /// Reads the string table at the start of `body`; returns it and the
    /// position of the item after it.
    pub(crate) fn read(body: &[u8]) -> Result<(StrTable, usize), Error> {
        let mut d = Decoder::new(body, 0, None, Layout::FORMAT_2);
        let count = d.len()?;
        let mut bounds = Vec::with_capacity(count.saturating_add(1));
        let mut total = 0usize;
        bounds.push(0);
        for _ in 0..count {
            total = total.saturating_add(d.len()?);
            let end = u32::try_from(total)
                .map_err(|_| Error("the string table is larger than 4 GiB".into()))?;
            bounds.push(end);
        }
        let blob = d.take(total)?;
        let text = std::str::from_utf8(blob)
            .map_err(|e| Error(format!("the string table is not UTF-8 ({e})")))?;
        if !bounds.iter().all(|&b| text.is_char_boundary(b as usize)) {
            return Err(Error("a string table entry splits a character".into()));
        }
        let table = StrTable {
            text: text.into(),
            bounds: bounds.into(),
        };
        Ok((table, d.pos))
    }

    /// Text `i`, if the table has it.
    pub(crate) fn get(&self, i: u64) -> Option<&str> {
        let i = usize::try_from(i).ok()?;
        let start = *self.bounds.get(i)?;
        let end = *self.bounds.get(i.checked_add(1)?)?;
        self.text.get(start as usize..end as usize)
    }
}

/// Where one flag of an opened body lies: its item's bytes and its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FlagAt {
    /// Offset of the flag's item in the body.
    pub(crate) start: u32,
    /// Offset just after it.
    pub(crate) end: u32,
    /// The flag key's index in the string table.
    pub(crate) key: u32,
}

/// Deepest nesting [`Decoder::skip`] follows.
const MAX_SKIP_DEPTH: u32 = 1_000;

/// Opens a format-2 body (`Body`'s layout: flags, clients, CORS origins,
/// metadata, then spaces and exposure-log settings when present), or a
/// format-3 or format-4 body (a flag table between the string table and
/// the item), as `layout` says, for decoding flag by flag (`Snapshot::open`): reads the
/// string table and notes where each flag lies and its key, then decodes
/// the items after the flags (small, and every request needs them).
/// Returns the table, the flags' places and the body without its flags.
///
/// Format 2 has no flag table, so each flag is walked past, checking every
/// item's framing and text reference; the flag table gives each flag's
/// length, so only the first bytes of each flag (its array head and key)
/// are read. What a flag's items mean is checked when [`decode_flag`]
/// decodes it.
pub(crate) fn open_body(
    bytes: &[u8],
    layout: Layout,
) -> Result<(StrTable, Vec<FlagAt>, Body), Error> {
    let (table, at) = StrTable::read(bytes)?;
    let mut d = Decoder::new(bytes, at, Some(&table), layout);
    let indexed = layout.flag_table;
    let lengths = match indexed {
        true => {
            let n = d.len()?;
            (0..n).map(|_| d.len()).collect::<Result<Vec<_>, _>>()?
        }
        false => Vec::new(),
    };
    let items = d.seq_len()?;
    if !(4..=6).contains(&items) {
        return Err(Error(format!(
            "a snapshot body has 4 to 6 items, this one {items}"
        )));
    }
    let count = d.seq_len()?;
    if indexed && lengths.len() != count {
        return Err(Error(format!(
            "the flag table lists {} flags, the body has {count}",
            lengths.len()
        )));
    }
    let offset = |n: usize| u32::try_from(n).map_err(|_| Error("a body over 4 GiB".into()));
    let mut flags = Vec::with_capacity(count);
    for i in 0..count {
        let start = d.pos;
        let key = d.flag_key(i)?;
        match lengths.get(i) {
            Some(&n) => d.jump(start, n)?,
            None => {
                for _ in 0..5 {
                    d.skip(0)?;
                }
            }
        }
        flags.push(FlagAt {
            start: offset(start)?,
            end: offset(d.pos)?,
            key,
        });
    }
    let body = Body {
        flags: Vec::new(),
        clients: de::Deserialize::deserialize(&mut d)?,
        cors_origins: de::Deserialize::deserialize(&mut d)?,
        metadata: de::Deserialize::deserialize(&mut d)?,
        spaces: match items {
            4 => Vec::new(),
            _ => de::Deserialize::deserialize(&mut d)?,
        },
        exposure_log: match items {
            4 | 5 => Default::default(),
            _ => de::Deserialize::deserialize(&mut d)?,
        },
    };
    d.finish(bytes.len())?;
    Ok((table, flags, body))
}

/// Decodes a whole body of format `format_version` (2, 3 or 4) with every
/// flag, without an envelope: the body decoding of
/// [`crate::Snapshot::from_bytes`] (not the checks across items, such as a
/// split's variant index), for fuzzing the body decoder directly (a fuzzer
/// rarely makes a body whose sha256 matches an envelope's digest).
///
/// Errors: the first decoding [`Error`], located by byte; an `Error` for
/// another format version.
pub fn body_from_slice(bytes: &[u8], format_version: u32) -> Result<Body, Error> {
    let layout = Layout::of(format_version)
        .ok_or_else(|| Error(format!("body format {format_version} is not 2, 3 or 4")))?;
    let (table, at, mut body) = open_body(bytes, layout)?;
    let mut copied = 0;
    for (i, &at) in at.iter().enumerate() {
        let (flag, n) = decode_flag(bytes, &table, at, layout)?;
        add_copied_text(&mut copied, n).map_err(|e| Error(format!("flag {i}: {e}")))?;
        body.flags.push(flag);
    }
    Ok(body)
}

/// Decodes the flag at `at` of a body of `layout` opened with [`open_body`];
/// returns it and the bytes of text it copied out of the string table
/// (at most [`MAX_FLAG_TEXT_BYTES`]).
pub(crate) fn decode_flag(
    bytes: &[u8],
    table: &StrTable,
    at: FlagAt,
    layout: Layout,
) -> Result<(Flag, usize), Error> {
    let mut d = Decoder::new(bytes, at.start as usize, Some(table), layout);
    let flag = de::Deserialize::deserialize(&mut d)?;
    d.finish(at.end as usize)?;
    Ok((flag, d.text_bytes))
}

/// Adds `copied` bytes of text, decoded by a flag, to `total`, the bytes
/// the flags before it copied, refusing a snapshot over
/// [`MAX_SNAPSHOT_TEXT_BYTES`] at that flag.
pub(crate) fn add_copied_text(total: &mut usize, copied: usize) -> Result<(), String> {
    *total = total.saturating_add(copied);
    if *total > MAX_SNAPSHOT_TEXT_BYTES {
        return Err(text_copies_too_large(
            "the flags up to this one",
            *total,
            MAX_SNAPSHOT_TEXT_BYTES,
            "snapshot",
        ));
    }
    Ok(())
}

struct Decoder<'de> {
    bytes: &'de [u8],
    pos: usize,
    /// The string table (`None` while reading the table itself).
    table: Option<&'de StrTable>,
    layout: Layout,
    /// The member being rebuilt while reading a text set.
    member: Vec<u8>,
    /// The suffix dictionary of the format-4 text set being read.
    suffixes: Vec<&'de str>,
    /// Where the text set being read starts (its kind byte).
    set_start: usize,
    /// The bytes of its members read so far.
    set_bytes: usize,
    /// The bytes of text items copied out of the string table so far,
    /// at most [`MAX_FLAG_TEXT_BYTES`].
    text_bytes: usize,
}

impl<'de> Decoder<'de> {
    fn new(bytes: &'de [u8], pos: usize, table: Option<&'de StrTable>, layout: Layout) -> Self {
        Decoder {
            bytes,
            pos,
            table,
            layout,
            member: Vec::new(),
            suffixes: Vec::new(),
            set_start: 0,
            set_bytes: 0,
            text_bytes: 0,
        }
    }

    /// Reads a text set's head, its kind byte just read: returns its
    /// member count, and in format 4 reads its suffix dictionary into
    /// `suffixes`.
    fn text_set_head(&mut self) -> Result<usize, Error> {
        self.set_start = self.pos.saturating_sub(1);
        self.set_bytes = 0;
        let members = self.len()?;
        self.suffixes.clear();
        if self.layout.set_suffixes {
            for _ in 0..self.len()? {
                let suffix = self.text()?;
                self.suffixes.push(suffix);
            }
        }
        Ok(members)
    }

    /// Reads the next member of a text set into `member`, which holds the
    /// one before: front-coded, and in format 4 with a suffix from the
    /// dictionary, checked to come after the one before in byte order and
    /// to keep the set within [`MAX_SET_BYTES_PER_ENCODED_BYTE`] before it
    /// is built. Returns it as text.
    fn text_set_member(&mut self, first: bool) -> Result<&str, Error> {
        let at = self.pos;
        // Bounded by the member before, not by the bytes left (a member
        // near the end of the body may share more than remains of it).
        let shared = self.varint()?;
        let suffix = match self.suffixes.is_empty() {
            true => None,
            false => match self.varint()? {
                0 => None,
                i => Some(
                    usize::try_from(i - 1)
                        .ok()
                        .and_then(|i| self.suffixes.get(i).copied())
                        .ok_or_else(|| {
                            Error(format!(
                                "a text set member ends with suffix {i} of a dictionary of {} (at byte {at})",
                                self.suffixes.len()
                            ))
                        })?,
                ),
            },
        };
        let rest = self.len()?;
        let Some(shared) = usize::try_from(shared)
            .ok()
            .filter(|&n| n <= self.member.len())
        else {
            return Err(Error(format!(
                "a text set member shares more than its predecessor has (at byte {at})"
            )));
        };
        let tail = self.take(rest)?;
        let suffix = suffix.unwrap_or_default().as_bytes();
        // `shared` is at most the member before, which passed this check.
        self.set_bytes = self
            .set_bytes
            .saturating_add(shared + tail.len() + suffix.len());
        let encoded = self.pos - self.set_start;
        if self.set_bytes > MAX_SET_BYTES_PER_ENCODED_BYTE.saturating_mul(encoded) {
            return Err(Error(format!(
                "a text set decodes to {} bytes of members from {encoded} by its member at byte \
                 {at}; at most {MAX_SET_BYTES_PER_ENCODED_BYTE} bytes per encoded byte are accepted",
                self.set_bytes
            )));
        }
        let member = &mut self.member;
        let before = member.get(shared..).unwrap_or_default();
        if self.layout.set_suffixes && !first && !follows(tail, suffix, before) {
            return Err(Error(format!(
                "a text set member does not come after the one before it in byte order (at byte {at})"
            )));
        }
        member.truncate(shared);
        member.extend_from_slice(tail);
        member.extend_from_slice(suffix);
        std::str::from_utf8(member)
            .map_err(|_| Error(format!("a text set member is not UTF-8 (at byte {at})")))
    }

    /// Checks that decoding stopped exactly at `end`.
    fn finish(&self, end: usize) -> Result<(), Error> {
        if self.pos == end {
            Ok(())
        } else {
            Err(Error(format!(
                "{} unexpected bytes after the end (at byte {})",
                end.saturating_sub(self.pos),
                self.pos
            )))
        }
    }

    /// Reads the head of flag `i` (an array of 6 items) and its key (the
    /// first item, a text); returns the key's index in the string table.
    fn flag_key(&mut self, i: usize) -> Result<u32, Error> {
        let start = self.pos;
        if self.seq_len()? != 6 {
            return Err(Error(format!(
                "flag {i} is not an array of 6 items (at byte {start})"
            )));
        }
        match self.byte()? {
            kind::TEXT => {
                let at = self.pos;
                let text = self.varint()?;
                self.table
                    .and_then(|t| t.get(text))
                    .and_then(|_| u32::try_from(text).ok())
                    .ok_or_else(|| {
                        Error(format!(
                            "flag {i}'s key {text} is not in the string table (at byte {at})"
                        ))
                    })
            }
            k => Err(self.unexpected(k, "a flag key")),
        }
    }

    /// Moves to `n` bytes after `start`, which must lie within the data
    /// and not before the current position.
    fn jump(&mut self, start: usize, n: usize) -> Result<(), Error> {
        match start.checked_add(n) {
            Some(end) if end <= self.bytes.len() && end >= self.pos => {
                self.pos = end;
                Ok(())
            }
            _ => Err(Error(format!(
                "a flag of {n} bytes at byte {start} does not fit the body"
            ))),
        }
    }

    /// The length of a sequence item.
    fn seq_len(&mut self) -> Result<usize, Error> {
        match self.byte()? {
            kind::SEQ => self.len(),
            k if (kind::SMALL_SEQ..kind::SMALL_UINT).contains(&k) => {
                Ok(usize::from(k - kind::SMALL_SEQ))
            }
            k => Err(self.unexpected(k, "a sequence")),
        }
    }

    /// Moves past one item, checking its framing and text references.
    fn skip(&mut self, depth: u32) -> Result<(), Error> {
        if depth > MAX_SKIP_DEPTH {
            return Err(Error(format!("nested too deeply (at byte {})", self.pos)));
        }
        let items = match self.byte()? {
            kind::NULL | kind::FALSE | kind::TRUE => 0,
            kind::UINT | kind::NINT | kind::UNIT_VARIANT => {
                self.varint()?;
                0
            }
            kind::FLOAT => {
                self.take(8)?;
                0
            }
            kind::TEXT => {
                self.text()?;
                0
            }
            kind::BYTES => {
                let n = self.len()?;
                self.take(n)?;
                0
            }
            kind::SEQ => self.len()?,
            kind::MAP => self.len()?.saturating_mul(2),
            kind::SOME => 1,
            kind::NEWTYPE_VARIANT => {
                self.varint()?;
                1
            }
            kind::SEQ_VARIANT => {
                self.varint()?;
                self.len()?
            }
            kind::TEXT_SET => {
                self.member.clear();
                for i in 0..self.text_set_head()? {
                    self.text_set_member(i == 0)?;
                }
                0
            }
            k if k >= kind::SMALL_UINT => 0,
            k if k >= kind::SMALL_SEQ => usize::from(k - kind::SMALL_SEQ),
            k if k >= kind::SMALL_NEWTYPE_VARIANT => 1,
            k => return Err(self.unexpected(k, "an item")),
        };
        for _ in 0..items {
            self.skip(depth + 1)?;
        }
        Ok(())
    }

    fn eof(&self) -> Error {
        Error(format!("the data ends early (at byte {})", self.pos))
    }

    fn byte(&mut self) -> Result<u8, Error> {
        let b = *self.bytes.get(self.pos).ok_or_else(|| self.eof())?;
        self.pos += 1;
        Ok(b)
    }

    fn peek(&self) -> Result<u8, Error> {
        self.bytes.get(self.pos).copied().ok_or_else(|| self.eof())
    }

    fn varint(&mut self) -> Result<u64, Error> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(n);
            }
        }
        Err(Error(format!(
            "a varint is too long (at byte {})",
            self.pos
        )))
    }

    /// A length or count, no larger than the bytes that remain (every
    /// element takes at least one byte).
    fn len(&mut self) -> Result<usize, Error> {
        let at = self.pos;
        let n = self.varint()?;
        if n > MAX_LEN || n as usize > self.bytes.len() - self.pos {
            return Err(Error(format!(
                "length {n} is larger than the data (at byte {at})"
            )));
        }
        Ok(n as usize)
    }

    fn take(&mut self, n: usize) -> Result<&'de [u8], Error> {
        let out = self
            .pos
            .checked_add(n)
            .and_then(|end| self.bytes.get(self.pos..end))
            .ok_or_else(|| self.eof())?;
        self.pos += n;
        Ok(out)
    }

    fn text(&mut self) -> Result<&'de str, Error> {
        let at = self.pos;
        let i = self.varint()?;
        self.table.and_then(|t| t.get(i)).ok_or_else(|| {
            Error(format!(
                "text {i} is not in the string table (at byte {at})"
            ))
        })
    }

    /// Reads a text item that decodes to its own copy, counting its bytes
    /// against [`MAX_FLAG_TEXT_BYTES`] before it is copied.
    fn copied_text(&mut self) -> Result<&'de str, Error> {
        let at = self.pos;
        let text = self.text()?;
        self.text_bytes = self.text_bytes.saturating_add(text.len());
        if self.text_bytes > MAX_FLAG_TEXT_BYTES {
            return Err(Error(format!(
                "text items decode to {} bytes copied from the string table by the text at \
                 byte {at}; at most {MAX_FLAG_TEXT_BYTES} per flag are accepted",
                self.text_bytes
            )));
        }
        Ok(text)
    }

    fn unexpected(&self, k: u8, what: &str) -> Error {
        Error(format!(
            "expected {what}, found kind 0x{k:02x} (at byte {})",
            self.pos.saturating_sub(1)
        ))
    }
}

/// Whether `tail` then `suffix` comes after `before` in byte order: a
/// member and the one before it once the bytes they share are set aside.
fn follows(tail: &[u8], suffix: &[u8], before: &[u8]) -> bool {
    let n = tail.len().min(before.len());
    match tail.get(..n).cmp(&before.get(..n)) {
        std::cmp::Ordering::Equal => match before.get(tail.len()..) {
            Some(rest) if !rest.is_empty() => suffix > rest,
            _ => tail.len() > before.len() || !suffix.is_empty(),
        },
        order => order == std::cmp::Ordering::Greater,
    }
}

struct Seq<'a, 'de> {
    dec: &'a mut Decoder<'de>,
    left: usize,
}

impl<'de> de::SeqAccess<'de> for Seq<'_, 'de> {
    type Error = Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.dec).map(Some)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

impl<'de> de::MapAccess<'de> for Seq<'_, 'de> {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.dec).map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        seed.deserialize(&mut *self.dec)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

/// The members of a front-coded text set, rebuilt one by one.
struct TextSet<'a, 'de> {
    dec: &'a mut Decoder<'de>,
    left: usize,
    /// The next member is the first (nothing to share with or follow).
    first: bool,
}

impl<'de> de::SeqAccess<'de> for TextSet<'_, 'de> {
    type Error = Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let text = self.dec.text_set_member(self.first)?;
        self.first = false;
        seed.deserialize(de::value::StrDeserializer::<Error>::new(text))
            .map(Some)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

struct Enum<'a, 'de> {
    dec: &'a mut Decoder<'de>,
    kind: u8,
    index: u32,
}

impl<'a, 'de> de::EnumAccess<'de> for Enum<'a, 'de> {
    type Error = Error;
    type Variant = Self;
    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Error> {
        let v = seed.deserialize(self.index.into_deserializer())?;
        Ok((v, self))
    }
}

impl<'de> de::VariantAccess<'de> for Enum<'_, 'de> {
    type Error = Error;
    fn unit_variant(self) -> Result<(), Error> {
        match self.kind {
            kind::UNIT_VARIANT => Ok(()),
            k => Err(self.dec.unexpected(k, "a variant without payload")),
        }
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        match self.kind {
            kind::NEWTYPE_VARIANT => seed.deserialize(&mut *self.dec),
            k => Err(self.dec.unexpected(k, "a variant with one payload")),
        }
    }
    fn tuple_variant<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, Error> {
        match self.kind {
            kind::SEQ_VARIANT => {
                let left = self.dec.len()?;
                visitor.visit_seq(Seq {
                    dec: self.dec,
                    left,
                })
            }
            k => Err(self.dec.unexpected(k, "a variant with fields")),
        }
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.tuple_variant(fields.len(), visitor)
    }
}

impl<'de> de::Deserializer<'de> for &mut Decoder<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let k = self.byte()?;
        match k {
            kind::NULL => visitor.visit_unit(),
            kind::FALSE => visitor.visit_bool(false),
            kind::TRUE => visitor.visit_bool(true),
            kind::UINT => visitor.visit_u64(self.varint()?),
            kind::NINT => {
                let n = self.varint()?;
                if n > i64::MAX as u64 {
                    return Err(Error(format!(
                        "negative integer out of range (at byte {})",
                        self.pos
                    )));
                }
                visitor.visit_i64(!(n as i64))
            }
            kind::FLOAT => {
                let b = self.take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                visitor.visit_f64(f64::from_le_bytes(a))
            }
            kind::TEXT => visitor.visit_borrowed_str(self.copied_text()?),
            kind::BYTES => {
                let n = self.len()?;
                visitor.visit_borrowed_bytes(self.take(n)?)
            }
            kind::SEQ => {
                let left = self.len()?;
                visitor.visit_seq(Seq { dec: self, left })
            }
            kind::MAP => {
                let left = self.len()?;
                visitor.visit_map(Seq { dec: self, left })
            }
            kind::SOME => visitor.visit_some(self),
            kind::TEXT_SET => {
                let left = self.text_set_head()?;
                self.member.clear();
                visitor.visit_seq(TextSet {
                    dec: self,
                    left,
                    first: true,
                })
            }
            kind::UNIT_VARIANT | kind::NEWTYPE_VARIANT | kind::SEQ_VARIANT => {
                let index = self.varint()?;
                let index = u32::try_from(index)
                    .map_err(|_| Error(format!("variant {index} out of range")))?;
                visitor.visit_enum(Enum {
                    dec: self,
                    kind: k,
                    index,
                })
            }
            k if k >= kind::SMALL_UINT => visitor.visit_u64(u64::from(k - kind::SMALL_UINT)),
            k if k >= kind::SMALL_SEQ => {
                let left = usize::from(k - kind::SMALL_SEQ);
                visitor.visit_seq(Seq { dec: self, left })
            }
            k if (kind::SMALL_NEWTYPE_VARIANT..kind::SMALL_NEWTYPE_VARIANT + 0x20).contains(&k) => {
                visitor.visit_enum(Enum {
                    dec: self,
                    kind: kind::NEWTYPE_VARIANT,
                    index: u32::from(k - kind::SMALL_NEWTYPE_VARIANT),
                })
            }
            k => Err(self.unexpected(k, "an item")),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.peek()? {
            kind::NULL => {
                self.pos += 1;
                visitor.visit_none()
            }
            kind::SOME => {
                self.pos += 1;
                visitor.visit_some(self)
            }
            k => {
                self.pos += 1;
                Err(self.unexpected(k, "an optional item"))
            }
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.peek()? {
            kind::UNIT_VARIANT | kind::NEWTYPE_VARIANT | kind::SEQ_VARIANT | 0x20..=0x3f => {
                self.deserialize_any(visitor)
            }
            k => {
                self.pos += 1;
                Err(self.unexpected(k, "a variant"))
            }
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::StrSet;

    /// Format 4's items (a lone item has no flag table).
    const FORMAT_4: Layout = Layout {
        flag_table: false,
        set_suffixes: true,
    };

    fn set_bytes(members: &[&str], layout: Layout) -> Vec<u8> {
        encode(&StrSet::new(members), layout, &[]).unwrap()
    }

    fn decode_set(bytes: &[u8]) -> Result<StrSet, Error> {
        item_from_slice(bytes, FORMAT_4)
    }

    #[test]
    fn suffixes_start_at_punctuation_and_between_letters_and_digits() {
        fn starts(m: &str) -> Vec<&str> {
            suffix_starts(m).map(|i| &m[i..]).collect()
        }
        assert_eq!(
            starts("user42@x.io"),
            ["42@x.io", "@x.io", "x.io", ".io", "io"]
        );
        assert_eq!(
            starts("v1.10.2-rc1"),
            [
                "1.10.2-rc1",
                ".10.2-rc1",
                "10.2-rc1",
                ".2-rc1",
                "2-rc1",
                "-rc1",
                "rc1",
                "1"
            ]
        );
        assert_eq!(starts("é-ü"), ["-ü", "ü"]);
        assert!(starts("DE").is_empty());
    }

    /// The set of the format-4 worked example in docs/snapshot-format.md.
    #[test]
    fn a_set_sharing_a_domain_names_it_once() {
        let members = [
            "ana@shop.example",
            "bo@corp.example",
            "cy@shop.example",
            "di@shop.example",
        ];
        let bytes = set_bytes(&members, FORMAT_4);
        let mut expected = vec![0x01, 0x0d]; // string table: 1 text of 13 bytes
        expected.extend_from_slice(b"@shop.example");
        expected.extend_from_slice(&[0x0e, 0x04, 0x01, 0x00]); // 4 members; dictionary: text 0
        expected.extend_from_slice(b"\x00\x01\x03ana"); // shares 0, suffix 1, "ana"
        expected.extend_from_slice(b"\x00\x00\x0fbo@corp.example"); // no suffix
        expected.extend_from_slice(b"\x00\x01\x02cy\x00\x01\x02di");
        assert_eq!(bytes, expected);
        assert_eq!(
            decode_set(&bytes).unwrap().iter().collect::<Vec<_>>(),
            members
        );
        // `.example`, shared by all four, would remove 32 bytes at a cost
        // of 11; `@shop.example` removes 39 at 16 and wins.
        let owned = members.map(String::from);
        let (entries, ends) = shared_suffixes(&owned);
        assert_eq!((entries, ends), (vec!["@shop.example"], vec![1, 0, 1, 1]));
    }

    /// A suffix gains only what front coding does not already share:
    /// versions `1.0.0`, `1.0.0-beta.1`, `1.0.0-rc.1`, `1.1.0`, ... take
    /// `-beta.1`, `rc.1` (after `1.0.0-beta.1`, front coding has the `-`)
    /// and `.0`, not the longer `.0.0-beta.1`, which three members share
    /// but which costs its text and removes no more.
    #[test]
    fn the_dictionary_counts_what_front_coding_already_shares() {
        let versions: Vec<String> = (1..4)
            .flat_map(|a| (0..3).map(move |b| format!("{a}.{b}.0")))
            .flat_map(|v| ["", "-beta.1", "-rc.1"].map(|s| format!("{v}{s}")))
            .collect();
        let set = StrSet::new(&versions);
        let members: Vec<String> = set.iter().map(String::from).collect();
        let (entries, _) = shared_suffixes(&members);
        assert_eq!(entries, ["-beta.1", ".0", "rc.1"]);
        let v4 = encode(&set, FORMAT_4, &[]).unwrap();
        assert!(v4.len() < encode(&set, Layout::FORMAT_2, &[]).unwrap().len());
        assert_eq!(item_from_slice::<StrSet>(&v4, FORMAT_4).unwrap(), set);
    }

    #[test]
    fn sets_round_trip_in_every_layout() {
        let sets: [&[&str]; 7] = [
            &[],
            &[""],
            &["", "a", "ab"],
            &["AT", "CH", "DE", "FR"],
            &[
                "1.2.0",
                "1.2.1",
                "1.10.0",
                "2.0.0-beta",
                "2.0.0-rc1",
                "3.0.0-beta",
            ],
            &[
                "user1@gmail.com",
                "user10@gmail.com",
                "user2@proton.me",
                "x@proton.me",
            ],
            &["é@ü.example", "ö@ü.example", "über-ü", "ü-ü"],
        ];
        for members in sets {
            let set = StrSet::new(members);
            for layout in [Layout::FORMAT_2, FORMAT_4] {
                let read: StrSet =
                    item_from_slice(&encode(&set, layout, &[]).unwrap(), layout).unwrap();
                assert_eq!(read, set, "{layout:?}: {members:?}");
            }
        }
    }

    /// Without suffixes worth sharing a format-4 set is format 3's plus
    /// one byte (an empty dictionary), and its members carry no suffix.
    #[test]
    fn a_dictionary_that_does_not_pay_is_left_empty() {
        let countries = ["AT", "CH", "DE", "FR"];
        let v3 = set_bytes(&countries, Layout::FORMAT_2);
        let v4 = set_bytes(&countries, FORMAT_4);
        assert_eq!(v4.len(), v3.len() + 1);
        assert_eq!(&v4[..3], [0x00, 0x0e, 0x04]);
        assert_eq!(v4[3], 0x00, "empty dictionary");
        assert_eq!(v4[4..], v3[3..]);
        assert_eq!(v3[0], 0x00, "no text in the string table");
    }

    fn message(bytes: &[u8]) -> String {
        decode_set(bytes).unwrap_err().to_string()
    }

    /// A string table of "@x" and "b", then a text set of `items`.
    fn with_set(items: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0x02, 0x02, 0x01, b'@', b'x', b'b', 0x0e];
        bytes.extend_from_slice(items);
        bytes
    }

    #[test]
    fn a_whole_body_decodes_in_its_format_only() {
        let set = StrSet::new(["a@x.example", "b@x.example", "c@x.example"]);
        let body = Body {
            flags: vec![],
            clients: vec![],
            cors_origins: set.iter().map(String::from).collect(),
            metadata: Default::default(),
            spaces: vec![],
            exposure_log: Default::default(),
        };
        for v in [2, 3, 4] {
            let bytes = body_to_vec(&body, Layout::of(v).unwrap()).unwrap();
            assert_eq!(body_from_slice(&bytes, v).unwrap(), body, "format {v}");
        }
        let v2 = body_to_vec(&body, Layout::FORMAT_2).unwrap();
        assert!(body_from_slice(&v2, 3).is_err(), "no flag table");
        assert_eq!(
            body_from_slice(&v2, 5).unwrap_err().to_string(),
            "body format 5 is not 2, 3 or 4"
        );
    }

    #[test]
    fn follows_is_byte_order_of_the_assembled_members() {
        let words = ["", "a", "ab", "abc", "b", "ba", "bb", "\u{e9}"];
        for before in words {
            for member in words {
                for cut in 0..=member.len() {
                    let (tail, suffix) = member.as_bytes().split_at(cut);
                    assert_eq!(
                        follows(tail, suffix, before.as_bytes()),
                        member > before,
                        "{member:?} after {before:?}, cut at {cut}"
                    );
                }
            }
        }
    }

    #[test]
    fn malformed_format_4_sets_are_refused_with_their_place() {
        // Well formed: "a@x", "b" (text 1 as a suffix is fine too: "cb").
        let good = with_set(&[
            0x03, 0x02, 0x00, 0x01, 0x00, 0x01, 0x01, b'a', 0x00, 0x00, 0x01, b'b', 0x00, 0x02,
            0x01, b'c',
        ]);
        assert_eq!(
            decode_set(&good).unwrap().iter().collect::<Vec<_>>(),
            ["a@x", "b", "cb"]
        );
        for (items, expected) in [
            // The dictionary names text 7 of a table of 2.
            (
                &[0x01, 0x01, 0x07, 0x00, 0x01, 0x01, b'a'][..],
                "text 7 is not in the string table (at byte 9)",
            ),
            // Member 1 ends with suffix 2 of a dictionary of 1.
            (
                &[0x01, 0x01, 0x00, 0x00, 0x02, 0x01, b'a'],
                "ends with suffix 2 of a dictionary of 1 (at byte 10)",
            ),
            // The second member shares 4 bytes of a 3-byte predecessor.
            (
                &[
                    0x02, 0x01, 0x00, 0x00, 0x01, 0x01, b'a', 0x04, 0x00, 0x00, 0, 0,
                ],
                "shares more than its predecessor has (at byte 14)",
            ),
            // A rest longer than the data.
            (
                &[0x01, 0x01, 0x00, 0x00, 0x01, 0x09, b'a'],
                "length 9 is larger than the data (at byte 12)",
            ),
            // A count of members larger than the data.
            (
                &[0x40, 0x00],
                "length 64 is larger than the data (at byte 7)",
            ),
            // A member that is not UTF-8 (a lone continuation byte).
            (
                &[0x01, 0x00, 0x00, 0x01, 0x80],
                "a text set member is not UTF-8 (at byte 9)",
            ),
            // "b" then "a@x": out of order.
            (
                &[
                    0x02, 0x01, 0x00, 0x00, 0x00, 0x01, b'b', 0x00, 0x01, 0x01, b'a',
                ],
                "does not come after the one before it in byte order (at byte 14)",
            ),
            // "a@x" twice: a duplicate.
            (
                &[0x02, 0x01, 0x00, 0x00, 0x01, 0x01, b'a', 0x01, 0x01, 0x00],
                "does not come after the one before it in byte order (at byte 14)",
            ),
        ] {
            let m = message(&with_set(items));
            assert!(m.contains(expected), "{m} / {expected}");
        }
    }

    /// The decoder's refusal of a set over the bound (the tail of its
    /// message, which starts with the set's size).
    const TOO_EXPANDED: &str = "at most 32 bytes per encoded byte are accepted";

    /// A breaker's bomb: each member shares all of the one before and
    /// adds a 1,000-byte dictionary suffix, so 2,490 bytes would decode to
    /// 45 MB. Refused at its first member, before the member is built.
    #[test]
    fn a_small_format_4_set_does_not_decode_to_a_huge_one() {
        let suffix = vec![b'a'; 1000];
        let mut bytes = vec![0x01];
        put_varint(&mut bytes, suffix.len() as u64);
        bytes.extend_from_slice(&suffix);
        bytes.push(0x0e);
        let n = 300u64;
        put_varint(&mut bytes, n);
        bytes.extend_from_slice(&[0x01, 0x00]); // dictionary: text 0
        bytes.extend_from_slice(&[0x00, 0x01, 0x00]); // shares 0, suffix 1, no rest
        for j in 1..n {
            put_varint(&mut bytes, j * 1000); // shares all of the member before
            bytes.extend_from_slice(&[0x01, 0x00]); // then suffix 1 again
        }
        let decoded = decode_set(&bytes).map(|s| s.iter().map(str::len).sum::<usize>());
        assert_eq!(
            decoded.unwrap_err().to_string(),
            "a text set decodes to 1000 bytes of members from 8 by its member at byte 1008; at \
             most 32 bytes per encoded byte are accepted"
        );
    }

    /// The same bomb in formats 2 and 3 (no dictionary): a first member
    /// of 200 bytes, then each member shares all of the one before and
    /// adds one byte, about 4 bytes per member added to every later one.
    #[test]
    fn a_small_format_3_set_does_not_decode_to_a_huge_one() {
        let mut bytes = vec![0x00, 0x0e];
        let n = 3000u64;
        put_varint(&mut bytes, n);
        bytes.extend_from_slice(&[0x00, 0x81, 0x01]); // shares 0, 129 bytes
        bytes.extend_from_slice(&[b'a'; 129]);
        for j in 1..n {
            put_varint(&mut bytes, 128 + j); // shares all of the member before
            bytes.extend_from_slice(&[0x01, b'a']); // then one byte
        }
        let m = item_from_slice::<StrSet>(&bytes, Layout::FORMAT_2)
            .unwrap_err()
            .to_string();
        assert!(m.contains(TOO_EXPANDED), "{m}");
        assert!(m.starts_with("a text set decodes to "), "{m}");
    }

    /// A lone member that is all dictionary suffix: the set is 7 bytes
    /// (`0e 01 01 00 00 01 00`), so its member may be 7 × 32 = 224 bytes
    /// and not one more.
    #[test]
    fn a_set_just_within_the_bound_decodes() {
        let set = |len: usize| {
            let mut bytes = vec![0x01];
            put_varint(&mut bytes, len as u64);
            bytes.extend(std::iter::repeat_n(b'z', len));
            bytes.extend_from_slice(&[0x0e, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00]);
            decode_set(&bytes)
        };
        let within = set(7 * MAX_SET_BYTES_PER_ENCODED_BYTE).unwrap();
        assert_eq!(within.iter().map(str::len).collect::<Vec<_>>(), [224]);
        let over = set(7 * MAX_SET_BYTES_PER_ENCODED_BYTE + 1).unwrap_err();
        assert!(over.to_string().contains(TOO_EXPANDED), "{over}");
    }

    /// Asset URLs sharing a long prefix and an extension: front coding
    /// makes them 8.4 bytes of members per encoded byte, with the
    /// dictionary (`.png`) 14.5, far above the 0.7-4.1 of the examples'
    /// and the bench tenant's sets, and they decode in every layout.
    #[test]
    fn a_real_set_sharing_long_prefixes_decodes() {
        let urls: Vec<String> = (0..2000)
            .map(|i| format!("https://cdn.shop.example/assets/products/2026/item-{i:05}.png"))
            .collect();
        let set = StrSet::new(&urls);
        let decoded: usize = urls.iter().map(String::len).sum();
        for layout in [Layout::FORMAT_2, FORMAT_4] {
            let bytes = encode(&set, layout, &[]).unwrap();
            let ratio = decoded / bytes.len();
            assert!(
                (8..MAX_SET_BYTES_PER_ENCODED_BYTE).contains(&ratio),
                "{layout:?}: {ratio}"
            );
            assert_eq!(item_from_slice::<StrSet>(&bytes, layout).unwrap(), set);
        }
    }

    /// The encoder refuses to write what the decoder would refuse:
    /// 1,001-byte members differing in their last byte.
    #[test]
    fn the_encoder_refuses_a_set_over_the_bound() {
        let long: Vec<String> = (0..100)
            .map(|i| format!("{}{i:03}", "a".repeat(998)))
            .collect();
        let e = encode(&StrSet::new(&long), FORMAT_4, &[]).unwrap_err();
        let encoded = e.to_string();
        let first = "a".repeat(32);
        assert!(
            encoded.starts_with(&format!(
                "the string set of 100 members starting {first:?}… is 100100 bytes of members"
            )),
            "{encoded}"
        );
        assert!(encoded.ends_with("at most 32 bytes of members per encoded byte"));
        // What the encoder writes, the decoder reads: a handful of the
        // same members is within the bound.
        let few = StrSet::new(&long[..8]);
        let bytes = encode(&few, FORMAT_4, &[]).unwrap();
        assert_eq!(decode_set(&bytes).unwrap(), few);
    }

    /// A 1 MiB text named 4 times decodes to exactly `MAX_FLAG_TEXT_BYTES`;
    /// named a 5th time it is refused at that text item, before its copy.
    #[test]
    fn text_items_decode_to_at_most_the_flag_budget() {
        let names = |n: u64| {
            let mut bytes = vec![0x01];
            put_varint(&mut bytes, 1 << 20);
            bytes.extend(std::iter::repeat_n(b'x', 1 << 20));
            bytes.push(kind::SEQ);
            put_varint(&mut bytes, n);
            for _ in 0..n {
                bytes.extend_from_slice(&[kind::TEXT, 0x00]);
            }
            item_from_slice::<Vec<String>>(&bytes, FORMAT_4)
        };
        let within = names(4).unwrap();
        assert_eq!(
            within.iter().map(String::len).sum::<usize>(),
            MAX_FLAG_TEXT_BYTES
        );
        // String table: count, a 3-byte length, the text; then the array
        // head and four 2-byte items: the 5th text's index is at 4 + 2^20 + 2 + 8 + 1.
        assert_eq!(
            names(5).unwrap_err().to_string(),
            format!(
                "text items decode to 5242880 bytes copied from the string table by the text \
                 at byte {}; at most 4194304 per flag are accepted",
                (1 << 20) + 15
            )
        );
    }

    /// The encoder refuses a flag the decoder would refuse: 5 metadata
    /// entries naming one 1 MiB text.
    #[test]
    fn the_encoder_refuses_a_flag_over_the_text_budget() {
        let text = serde_json::json!("x".repeat(1 << 20));
        let flag = |n: usize| Flag {
            key: "a".into(),
            variants: Vec::new(),
            default_variant: None,
            disabled: false,
            targeting: crate::model::Targeting::Invalid(String::new()),
            metadata: (0..n).map(|i| (i.to_string(), text.clone())).collect(),
        };
        let body = |n| Body {
            flags: vec![flag(n)],
            clients: vec![],
            cors_origins: vec![],
            metadata: serde_json::Map::new(),
            spaces: vec![],
            exposure_log: Default::default(),
        };
        assert!(body_to_vec(&body(3), FORMAT_4).is_ok());
        assert_eq!(
            body_to_vec(&body(5), FORMAT_4).unwrap_err().to_string(),
            "flag 'a' would decode to 5242886 bytes of text copied from the string table; \
             snapshots carry at most 4194304 (4 MiB) per flag"
        );
    }

    /// Formats 2 and 3 read what they always read: an unsorted set is
    /// sorted on decode, not refused.
    #[test]
    fn format_2_and_3_sets_keep_reading_unsorted_members() {
        let bytes = with_set(&[0x02, 0x00, 0x01, b'b', 0x00, 0x01, b'a']);
        let read: StrSet = item_from_slice(&bytes, Layout::FORMAT_2).unwrap();
        assert_eq!(read.iter().collect::<Vec<_>>(), ["a", "b"]);
        // The last item of the data, its last member sharing 5 bytes with
        // 2 bytes left: bounded by the member before, not the data.
        let end = with_set(&[
            0x02, 0x00, 0x05, b'a', b'b', b'c', b'd', b'e', 0x05, 0x01, b'f',
        ]);
        let read: StrSet = item_from_slice(&end, Layout::FORMAT_2).unwrap();
        assert_eq!(read.iter().collect::<Vec<_>>(), ["abcde", "abcdef"]);
        // Format 4 reads a dictionary count first (`00`), then a member
        // sharing 1 byte with 98 new ones.
        assert!(message(&bytes).contains("length 98 is larger than the data (at byte 10)"));
    }
}
