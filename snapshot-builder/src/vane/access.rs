//! Who may read the tenant's flags: the tenant name, clients with the sha256
//! digests of their keys, and the CORS origins browsers may call from.

use std::collections::HashMap;

use vane_resolver::model::{Client, KeyDigest};

use super::reader::{join, Cx};
use super::yaml::Node;
use vane_resolver::limits::TenantName;

/// The `tenant:` name, checked like `vane build --tenant`.
pub fn tenant(cx: &mut Cx, node: &Node) -> Option<String> {
    let name = cx.text(node, "tenant", "a tenant name")?;
    match TenantName::parse(name) {
        Ok(name) => Some(name.into_string()),
        Err(e) => {
            cx.error(node.pos, "tenant", e.to_string());
            None
        }
    }
}

/// `clients:`, a mapping of client names to `{key_sha256: [hex, ...]}`.
/// Clients come out sorted by name, each client's digests sorted; a digest
/// may belong to one client only.
pub fn clients(cx: &mut Cx, node: &Node) -> Option<Vec<Client>> {
    let entries = cx.entries(node, "clients", "clients")?;
    let mut owners: HashMap<KeyDigest, &str> = HashMap::new();
    let mut out = Vec::with_capacity(entries.len());
    let mut ok = true;
    for (name, key_node, value) in entries {
        let path = join("clients", name);
        let Some(fields) = cx.fields(value, &path, "a client", &["key_sha256"]) else {
            ok = false;
            continue;
        };
        let Some(list) = fields.get("key_sha256") else {
            cx.error(
                key_node.pos,
                &path,
                "a client needs `key_sha256:`, the list of sha256 digests of its keys",
            );
            ok = false;
            continue;
        };
        let digests_path = join(&path, "key_sha256");
        let Some(items) = cx.seq(list, &digests_path, "sha256 digests") else {
            ok = false;
            continue;
        };
        if items.is_empty() {
            cx.error(
                list.pos,
                &digests_path,
                "a client needs at least one key digest",
            );
            ok = false;
        }
        let mut digests = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let here = format!("{digests_path}[{i}]");
            let Some(d) = digest(cx, item, &here) else {
                ok = false;
                continue;
            };
            if let Some(other) = owners.insert(d, name) {
                cx.error(
                    item.pos,
                    &here,
                    format!("this key digest already belongs to client '{other}'"),
                );
                ok = false;
            }
            digests.push(d);
        }
        digests.sort_unstable();
        out.push(Client {
            name: name.to_owned(),
            key_digests: digests,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    ok.then_some(out)
}

/// A sha256 digest written as 64 hex digits (either case).
fn digest(cx: &mut Cx, node: &Node, path: &str) -> Option<KeyDigest> {
    let text = cx.text(node, path, "a sha256 digest")?;
    match decode_hex(text) {
        Some(bytes) => Some(KeyDigest(bytes)),
        None => {
            cx.error(
                node.pos,
                path,
                "expected the sha256 of the client key as 64 hex digits, never the plain key \
                 (e.g. `printf %s \"$KEY\" | sha256sum`)",
            );
            None
        }
    }
}

fn decode_hex(text: &str) -> Option<[u8; 32]> {
    let b = text.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = [0u8; 32];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        out[i] = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}

/// `cors_origins:`, a list of origins (`https://shop.example`,
/// `http://localhost:8080`): scheme `http` or `https`, a lowercase host, an
/// optional port, nothing after. Sorted and deduplicated.
pub fn cors_origins(cx: &mut Cx, node: &Node) -> Option<Vec<String>> {
    let items = cx.seq(node, "cors_origins", "origins")?;
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let path = format!("cors_origins[{i}]");
        let Some(origin) = cx.text(item, &path, "an origin") else {
            ok = false;
            continue;
        };
        if valid_origin(origin) {
            out.push(origin.to_owned());
        } else {
            cx.error(
                item.pos,
                &path,
                format!(
                    "'{origin}' is not an origin: write scheme://host[:port] in lowercase with \
                     no path, like https://shop.example or http://localhost:8080"
                ),
            );
            ok = false;
        }
    }
    out.sort_unstable();
    out.dedup();
    ok.then_some(out)
}

/// An origin as browsers send it in the `Origin` header (RFC 6454 §6.2),
/// limited to DNS names and IPv4 addresses.
fn valid_origin(origin: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return false;
    };
    let (host, port) = match rest.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.'));
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    host_ok && port_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        for good in [
            "https://shop.example",
            "http://localhost:8080",
            "https://a-b.c.example:443",
        ] {
            assert!(valid_origin(good), "{good}");
        }
        for bad in [
            "shop.example",
            "https://shop.example/",
            "https://Shop.example",
            "https://shop.example:",
            "https://shop.example:80a",
            "ftp://shop.example",
            "https://",
            "*",
        ] {
            assert!(!valid_origin(bad), "{bad}");
        }
    }

    #[test]
    fn hex_digests() {
        let hex = "00ff".repeat(16);
        assert_eq!(decode_hex(&hex).unwrap()[..2], [0, 255]);
        assert_eq!(decode_hex(&hex.to_uppercase()).unwrap()[1], 255);
        assert!(decode_hex(&hex[..62]).is_none());
        assert!(decode_hex(&"g".repeat(64)).is_none());
    }
}
