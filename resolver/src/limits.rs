//! The limits every part of Vane enforces alike, each with its message, in
//! one place: the builder refuses (or warns about) what the edge would
//! refuse, the worker refuses it at the edge, and the decoder refuses a
//! snapshot that breaks them. `docs/http-api.md` ("Limits") lists them for
//! callers.

use std::fmt;

/// Longest flag key, in bytes, the edge evaluates on its own:
/// `POST /ofrep/v1/evaluate/flags/{key}` with a longer key (after
/// percent-decoding) is answered 400, so such a flag appears only in bulk
/// answers.
pub const MAX_FLAG_KEY_BYTES: usize = 256;

/// Largest snapshot, in bytes, the edge accepts on publish: 25 MiB, the
/// Workers KV value limit (Cloudflare, "Workers KV limits").
pub const MAX_SNAPSHOT_BYTES: usize = 25 * 1024 * 1024;

/// Most bytes of members a literal string set (`StrSet`) of a snapshot may
/// decode to per byte that encodes it in body formats 2-4
/// (`docs/snapshot-format.md`, "Text sets"): counted member by member from
/// the set's kind byte to the end of the member, before the member is
/// built, so a set cannot grow faster than its own bytes. Front coding lets
/// a member share all of the one before it and a format-4 member end with a
/// dictionary text, so without a bound a few bytes per member add a whole
/// member to every following one (n² growth: a 4 KB body decoding to
/// 180 MB). Real sets decode to 1-6 bytes per byte (measured on the
/// examples and the generated 10,000-flag bench tenant); 32 leaves room for
/// long members sharing nearly all their bytes (about 100-byte members
/// differing in their last byte) while bounding a snapshot's set members at
/// 32 times its body. No floor: a floor would be granted again to every
/// set, each referring to the same string-table text. The builder refuses
/// to write a set over it ([`set_too_expanded`]).
pub const MAX_SET_BYTES_PER_ENCODED_BYTE: usize = 32;

/// Most bytes of text one flag of a snapshot may copy out of its body's
/// string table when it is decoded (`docs/snapshot-format.md`, "Body,
/// format 2"): every text item (`06 i`: a variant value, a metadata entry, a
/// literal text) names a string-table text in about two bytes and decodes
/// to its own copy, so without a bound one 100 KB text named 1,000 times
/// makes a 102 KB body decode to 100 MB. Counted text item by text item
/// before the text is copied, for each flag as it is decoded (on first use
/// after [`crate::Snapshot::open`], every flag in
/// [`crate::Snapshot::from_bytes`]) and once for the items after the flags
/// (clients, CORS origins, metadata, bucket spaces, exposure-log settings)
/// together. 4 MiB: the largest flag of the generated 10,000-flag bench
/// tenant holds 20 KB of text, the examples' 426 bytes; a flag may still
/// repeat a long text (a 40 KB JSON variant value in 100 metadata entries).
/// The builder refuses to write a flag over it ([`text_copies_too_large`]).
pub const MAX_FLAG_TEXT_BYTES: usize = 4 * 1024 * 1024;

/// Most bytes of text all flags of a snapshot together may copy out of its
/// body's string table when the snapshot is decoded whole
/// ([`crate::Snapshot::from_bytes`], what the edge does on publish),
/// counted as for [`MAX_FLAG_TEXT_BYTES`]. 64 MiB: the generated
/// 10,000-flag bench tenant's flags hold 4.2 MB of text in all; a snapshot
/// at [`MAX_SNAPSHOT_BYTES`] naming each text once copies at most 25 MiB,
/// so this leaves 39 MiB for texts several flags share, while a 25 MiB
/// body could otherwise decode to terabytes. The builder refuses to write
/// a snapshot over it ([`text_copies_too_large`]).
pub const MAX_SNAPSHOT_TEXT_BYTES: usize = 64 * 1024 * 1024;

/// Longest tenant name, in bytes.
pub const MAX_TENANT_BYTES: usize = 64;

/// Why a flag key of `len` bytes is over [`MAX_FLAG_KEY_BYTES`].
pub fn flag_key_too_long(len: usize) -> String {
    format!(
        "flag key is {len} bytes long; the edge evaluates keys of at most {MAX_FLAG_KEY_BYTES} bytes"
    )
}

/// Why a snapshot of `len` bytes is over [`MAX_SNAPSHOT_BYTES`].
pub fn snapshot_too_large(len: usize) -> String {
    format!(
        "the snapshot is {len} bytes; the edge accepts at most {MAX_SNAPSHOT_BYTES} \
         (25 MiB, the Workers KV value limit)"
    )
}

/// Why a string set of `members` members, the first `first` (shown up to
/// 32 characters), decoding to `decoded` bytes from `encoded` is over
/// [`MAX_SET_BYTES_PER_ENCODED_BYTE`].
pub fn set_too_expanded(first: &str, members: usize, decoded: usize, encoded: usize) -> String {
    let shown: String = first.chars().take(32).collect();
    let more = if shown.len() < first.len() { "…" } else { "" };
    format!(
        "the string set of {members} members starting {shown:?}{more} is {decoded} bytes of members \
         front-coded in {encoded}; snapshots carry at most {MAX_SET_BYTES_PER_ENCODED_BYTE} bytes \
         of members per encoded byte"
    )
}

/// Why `what` (a flag, or the flags of a snapshot) copying `copied` bytes
/// of text out of the string table is over `max` bytes `per` flag or
/// snapshot ([`MAX_FLAG_TEXT_BYTES`], [`MAX_SNAPSHOT_TEXT_BYTES`]).
pub fn text_copies_too_large(what: &str, copied: usize, max: usize, per: &str) -> String {
    format!(
        "{what} would decode to {copied} bytes of text copied from the string table; \
         snapshots carry at most {max} ({} MiB) per {per}",
        max >> 20
    )
}

/// A valid tenant name: 1 to [`MAX_TENANT_BYTES`] of `a-z 0-9 - _`,
/// starting with a letter or digit (`docs/snapshot-format.md`, "Envelope").
/// Tenants appear in KV keys, Durable Object names and URL paths, so nothing
/// else is accepted anywhere: the builder, the worker's routes and the
/// snapshot decoder all go through [`TenantName::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantName(String);

/// A string that is not a tenant name; its `Display` says what one is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidTenantName(pub String);

impl TenantName {
    /// Checks `name` against the tenant syntax.
    ///
    /// Errors: [`InvalidTenantName`] carrying `name`.
    pub fn parse(name: &str) -> Result<TenantName, InvalidTenantName> {
        let allowed =
            |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_';
        if (1..=MAX_TENANT_BYTES).contains(&name.len())
            && name.bytes().all(allowed)
            && !name.starts_with(['-', '_'])
        {
            Ok(TenantName(name.to_owned()))
        } else {
            Err(InvalidTenantName(name.to_owned()))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for TenantName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for InvalidTenantName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a tenant name: use 1-{MAX_TENANT_BYTES} of a-z, 0-9, '-' and '_', \
             starting with a letter or digit",
            self.0
        )
    }
}

impl std::error::Error for InvalidTenantName {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_names() {
        let longest = "a".repeat(MAX_TENANT_BYTES);
        let too_long = "a".repeat(MAX_TENANT_BYTES + 1);
        let cases: &[(&str, bool)] = &[
            ("shop", true),
            ("a", true),
            ("0-shop_eu", true),
            (&longest, true),
            ("", false),
            (&too_long, false),
            ("Shop", false),
            ("-shop", false),
            ("_shop", false),
            ("s/p", false),
            ("shop.eu", false),
            ("shöp", false),
        ];
        for (name, valid) in cases {
            assert_eq!(TenantName::parse(name).is_ok(), *valid, "{name:?}");
        }
        assert_eq!(TenantName::parse("shop").unwrap().as_str(), "shop");
        assert_eq!(
            TenantName::parse("S/p").unwrap_err().to_string(),
            "\"S/p\" is not a tenant name: use 1-64 of a-z, 0-9, '-' and '_', starting with a \
             letter or digit"
        );
    }

    #[test]
    fn messages_name_the_size_and_the_limit() {
        assert_eq!(
            text_copies_too_large("flag 3", 5_000_000, MAX_FLAG_TEXT_BYTES, "flag"),
            "flag 3 would decode to 5000000 bytes of text copied from the string table; \
             snapshots carry at most 4194304 (4 MiB) per flag"
        );
        assert_eq!(
            set_too_expanded(&"é".repeat(40), 100, 8000, 200),
            format!(
                "the string set of 100 members starting {:?}… is 8000 bytes of members \
                 front-coded in 200; snapshots carry at most 32 bytes of members per encoded byte",
                "é".repeat(32)
            )
        );
        assert!(set_too_expanded("ab", 2, 99, 3).contains(" starting \"ab\" is 99 "));
        assert_eq!(
            flag_key_too_long(257),
            "flag key is 257 bytes long; the edge evaluates keys of at most 256 bytes"
        );
        assert_eq!(
            snapshot_too_large(26_214_401),
            "the snapshot is 26214401 bytes; the edge accepts at most 26214400 (25 MiB, the \
             Workers KV value limit)"
        );
    }
}
