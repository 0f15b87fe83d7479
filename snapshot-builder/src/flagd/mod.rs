//! The flagd front end: OpenFeature flagd flag-definition JSON to the IR.
//!
//! The format (flagd schema `flags.json`): a top-level object with `flags`
//! (flag key → flag), optional `$evaluators` (named JsonLogic fragments that
//! targeting reuses with `{"$ref": "name"}`), optional flag-set `metadata`
//! and optional `$schema`. A flag has `state` (`ENABLED`/`DISABLED`,
//! required), `variants` (name → value, all of one JSON type),
//! `defaultVariant` (a name, `null` or absent), `targeting` (JsonLogic; `{}`
//! or absent means none) and `metadata` (scalar values). Other fields, such as
//! `description`, are accepted and ignored, as flagd does.
//!
//! How it works, and the decisions behind it:
//!
//! - serde_json parses the text; a syntax error stops there, located.
//! - [`source_map`] walks the accepted text again for what serde_json keeps
//!   no record of: where every node starts and which keys are duplicated
//!   (serde_json keeps the last silently; here a duplicate is an error).
//! - Every remaining check runs to the end, so one run reports everything,
//!   each diagnostic with line, column, flag key and JSON path.
//! - Variants keep their source order (from the source map), so the
//!   snapshot lists them as the author wrote them; the order is a function of
//!   the text alone, so builds stay byte-for-byte reproducible.
//! - Flag-set metadata becomes [`Body::metadata`] and is merged under each
//!   flag's metadata, the flag's own keys winning (flagd semantics).
//! - Targeting compiles through [`crate::jsonlogic`], and [`lower`] turns the
//!   shapes it proves equivalent into typed rules; every rule within the
//!   size limits and all of them within one allowance for the file
//!   (`crate::size`), so `$ref`s cannot multiply a small file into gigabytes.
//!   What flagd loads is built, with a warning: a problem flagd only meets
//!   when it applies a rule (an unknown operator; a `$ref` that is missing,
//!   not a string or part of a cycle) makes that one flag
//!   [`Targeting::Invalid`], which fails each evaluation with `PARSE_ERROR`
//!   as flagd does, and the rest of the file loads. What flagd refuses
//!   (a member of the wrong JSON type, a default variant that does not
//!   exist) is an error. `docs/rules.md` ("flagd sources") has the table.
//!   [`lint`] adds warnings for other things flagd tolerates (a literal
//!   variant name the flag lacks, wrong `sem_ver`/`starts_with`/`ends_with`
//!   arguments, negative or all-zero `fractional` weights).
//!
//! [`Targeting::Invalid`]: vane_resolver::Targeting::Invalid

use serde_json::{Map, Value};
use vane_resolver::context::json_type;
use vane_resolver::Body;

use crate::compiled::Compiled;
use crate::diagnostic::Diagnostic;
use crate::size::NodeBudget;

mod flag;
mod lint;
mod lower;
mod metadata;
mod path;
mod report;
mod source_map;

use path::JsonPath;
use report::Report;
use source_map::SourceMap;

/// Compiles a flagd flag-definition file. `file` names it in diagnostics.
///
/// Returns the IR (no tenant: flagd files name none) and the warnings; or,
/// when anything is wrong, every diagnostic found (errors and warnings) in
/// text order.
pub fn compile(file: &str, text: &str) -> Result<Compiled, Vec<Diagnostic>> {
    // Editors on Windows often start a UTF-8 file with a byte order mark;
    // RFC 8259 section 8.1 lets a parser ignore it. Lines and columns then
    // count from the first visible character, as the editor shows them.
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let root: Value =
        serde_json::from_str(text).map_err(|e| vec![report::syntax_error(file, text, &e)])?;
    let map = SourceMap::scan(text);
    let mut report = Report::new(file, &map);
    for dup in map.duplicates() {
        report.warning_at(
            &dup.path,
            dup.again,
            format!(
                "duplicate key: it already appears at line {}, column {}; only the last counts, \
                 as in flagd",
                dup.first.line, dup.first.column
            ),
        );
    }
    let body = document(&mut report, &root);
    match report.finish() {
        (all, true) => Err(all),
        (warnings, false) => Ok(Compiled {
            tenant: None,
            body,
            warnings,
        }),
    }
}

/// Checks the top level and compiles every flag.
fn document(report: &mut Report<'_>, root: &Value) -> Body {
    let top = JsonPath::root();
    let mut body = Body {
        flags: Vec::new(),
        clients: Vec::new(),
        cors_origins: Vec::new(),
        metadata: Map::new(),
        spaces: Vec::new(),
        exposure_log: Default::default(),
    };
    let Value::Object(fields) = root else {
        report.error(
            &top,
            format!(
                "a flagd file is a JSON object with \"flags\", found {}",
                json_type(root)
            ),
        );
        return body;
    };
    if let Some(schema) = fields.get("$schema").filter(|s| !s.is_string()) {
        report.warning(
            &top.key("$schema"),
            format!(
                "$schema should be a string, found {}; flagd ignores it",
                json_type(schema)
            ),
        );
    }
    body.metadata = metadata::read(report, &top.key("metadata"), fields.get("metadata"));
    let no_evaluators = Map::new();
    let evaluators = match fields.get("$evaluators") {
        None => &no_evaluators,
        Some(Value::Object(evaluators)) => {
            for (name, rule) in evaluators {
                lint::evaluator(report, &top.key("$evaluators").key(name), rule);
            }
            evaluators
        }
        Some(other) => {
            report.error(
                &top.key("$evaluators"),
                format!(
                    "$evaluators must be an object of names to JsonLogic rules, found {}",
                    json_type(other)
                ),
            );
            &no_evaluators
        }
    };
    match fields.get("flags") {
        Some(Value::Object(flags)) => {
            let mut budget = NodeBudget::for_file();
            for (key, value) in flags {
                let compiled =
                    flag::compile(report, key, value, evaluators, &body.metadata, &mut budget);
                if let Some(f) = compiled {
                    body.flags.push(f);
                }
            }
        }
        Some(Value::Array(_)) => report.error(
            &top.key("flags"),
            "flags must be an object keyed by flag key (the array form is flagd's import \
             format, which this builder does not read)",
        ),
        Some(other) => report.error(
            &top.key("flags"),
            format!(
                "flags must be an object keyed by flag key, found {}",
                json_type(other)
            ),
        ),
        None => report.error(&top, "the file has no \"flags\" object"),
    }
    body
}
