//! The Vane YAML front end (`docs/rules.md` is the user-facing reference).
//!
//! ```text
//! text ─► yaml (located nodes, duplicates kept) ─► reader (fields, typos, duplicates)
//!      ─► access (tenant, clients, CORS) · condition (tests, combinators)
//!      ─► segments (references, cycles, inlining) ─► flags (variants, rules, splits)
//!      ─► layers (layer ranges, holdout rules, bucket spaces) ─► Compiled { tenant, Body }
//! ```
//!
//! Every pass records problems in one [`reader::Cx`] and carries on with
//! what is usable, so one run reports everything wrong, each problem with
//! its line, column, flag key and document path. Diagnostics come out in
//! source order. The front end is pure: no file system, no clock.

mod access;
mod condition;
mod exposures;
mod flags;
mod layers;
mod reader;
mod segments;
mod timestamp;
mod yaml;

use serde_json::Map;
use vane_resolver::Body;

use crate::compiled::{Access, Compiled};
use crate::diagnostic::Diagnostic;
use reader::Cx;
use segments::{Definition, Segments};

const TOP_FIELDS: [&str; 9] = [
    "tenant",
    "clients",
    "cors_origins",
    "metadata",
    "exposures",
    "segments",
    "layers",
    "holdouts",
    "flags",
];

/// Compiles a Vane YAML source to the IR.
///
/// `file` names the source in diagnostics. Errors: every problem found (and
/// the warnings), in source order. On success, warnings are in
/// [`Compiled::warnings`].
pub fn compile(file: &str, text: &str) -> Result<Compiled, Vec<Diagnostic>> {
    let root = yaml::parse(file, text)?;
    let mut cx = Cx::new(file);
    let Some(top) = cx.fields(&root, "", "the file", &TOP_FIELDS) else {
        return Err(cx.diagnostics);
    };
    let access = read_access(&mut cx, &top);
    let set_metadata = match top.get("metadata") {
        Some(n) => flags::metadata(&mut cx, n, "metadata").unwrap_or_default(),
        None => Map::new(),
    };

    let mut definitions = Vec::new();
    if let Some(node) = top.get("segments") {
        for (name, key, value) in cx.entries(node, "segments", "segments").unwrap_or_default() {
            definitions.push(Definition {
                name: name.to_owned(),
                pos: key.pos,
                cond: condition::parse(&mut cx, value, &reader::join("segments", name)),
            });
        }
    }
    let mut segments = Segments::new(definitions);
    segments.check_all(&mut cx);

    let layers = layers::read(&mut cx, top.get("layers"), top.get("holdouts"));

    let mut body_flags = Vec::new();
    let mut exposure_attributes = Vec::new();
    let mut layer_refs = Vec::new();
    if let Some(node) = top.get("flags") {
        for (key, key_node, value) in cx.entries(node, "flags", "flags").unwrap_or_default() {
            if let Some((flag, attributes)) = flags::flag(
                &mut cx,
                &mut segments,
                key,
                key_node,
                value,
                &set_metadata,
                &mut layer_refs,
            ) {
                if let Some(opted) = attributes {
                    exposure_attributes.push((flag.key.clone(), opted));
                }
                body_flags.push(flag);
            }
        }
    }
    segments.warn_unused(&mut cx);
    let spaces = layers.apply(&mut cx, &layer_refs, &mut body_flags);
    let logging = exposures::enabled(&mut cx, top.get("exposures"));
    let exposure_log = exposures::settings(&mut cx, logging, &body_flags, exposure_attributes);

    let mut diagnostics = cx.diagnostics;
    diagnostics.sort_by_key(|d| (d.line, d.column));
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(diagnostics);
    }
    Ok(Compiled {
        tenant: access.tenant,
        body: Body {
            flags: body_flags,
            clients: access.clients,
            cors_origins: access.cors_origins,
            metadata: set_metadata,
            spaces,
            exposure_log,
        },
        warnings: diagnostics,
    })
}

const ACCESS_FIELDS: [&str; 3] = ["tenant", "clients", "cors_origins"];

/// Reads an access file: a Vane YAML document with only `tenant`, `clients`
/// and `cors_origins`, in the same syntax as a rules file. It gives a flagd
/// source (which has no place for them) its client keys and CORS origins.
///
/// Errors: every problem found, located like a rules file's.
pub fn access(file: &str, text: &str) -> Result<Access, Vec<Diagnostic>> {
    let root = yaml::parse(file, text)?;
    let mut cx = Cx::new(file);
    let Some(top) = cx.fields(&root, "", "the access file", &ACCESS_FIELDS) else {
        return Err(cx.diagnostics);
    };
    let access = read_access(&mut cx, &top);
    if cx.diagnostics.iter().any(Diagnostic::is_error) {
        return Err(cx.diagnostics);
    }
    Ok(access)
}

/// The `tenant`, `clients` and `cors_origins` fields of a rules or access
/// file; problems go to `cx`.
fn read_access(cx: &mut Cx, top: &reader::Fields<'_>) -> Access {
    Access {
        file: cx.file.to_owned(),
        tenant: top.get("tenant").and_then(|n| access::tenant(cx, n)),
        clients: top
            .get("clients")
            .and_then(|n| access::clients(cx, n))
            .unwrap_or_default(),
        cors_origins: top
            .get("cors_origins")
            .and_then(|n| access::cors_origins(cx, n))
            .unwrap_or_default(),
    }
}
