//! `exposures:` — the exposure-log settings of a Vane YAML tenant
//! (`docs/rules.md`, "Exposures"): at the top of the file, whether the
//! worker logs exposures at all; on a flag, the context attributes its
//! events carry. Lowered to the resolver's [`ExposureLog`].

use vane_resolver::expr::Path;
use vane_resolver::model::{ExposureLog, Flag, FlagAttributes, Serve, Targeting};

use super::condition::attribute_path;
use super::reader::{join, Cx};
use super::yaml::{Node, Pos};

/// The attribute paths a flag opts in, and where its `exposures:` is written.
pub type Opted = (Vec<Path>, Pos);

/// Reads the file's `exposures: {enabled: BOOL}`; `true` when absent.
pub fn enabled(cx: &mut Cx, node: Option<&Node>) -> bool {
    let Some(node) = node else {
        return true;
    };
    let Some(fields) = cx.fields(node, "exposures", "the exposure settings", &["enabled"]) else {
        return true;
    };
    match fields.get("enabled") {
        Some(n) => cx
            .boolean(n, "exposures.enabled", "`enabled`")
            .unwrap_or(true),
        None => true,
    }
}

/// Reads a flag's `exposures: {attributes: [PATH, ...]}` (`path` is the
/// flag's document path). Paths are dot-separated attribute names; one
/// written twice, or one inside another (`device` and `device.os`), is an
/// error. `None` after an error.
pub fn attributes(cx: &mut Cx, node: &Node, path: &str) -> Option<Vec<Path>> {
    let here = join(path, "exposures");
    let fields = cx.fields(node, &here, "a flag's exposure settings", &["attributes"])?;
    let Some(list) = fields.get("attributes") else {
        return Some(Vec::new());
    };
    let list_path = join(&here, "attributes");
    let items = cx.seq(list, &list_path, "context attribute paths")?;
    let mut paths: Vec<Path> = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let item_path = format!("{list_path}[{i}]");
        let Some(text) = cx.text(item, &item_path, "a context attribute path") else {
            ok = false;
            continue;
        };
        let Some(p) = attribute_path(cx, text, &item_path, item.pos) else {
            ok = false;
            continue;
        };
        if let Some(q) = paths.iter().find(|q| q.starts_with(&p) || p.starts_with(q)) {
            let message = if *q == p {
                format!("attribute '{text}' is listed twice")
            } else {
                format!(
                    "attributes '{}' and '{text}' overlap: list the outer one or the inner one",
                    q.join(".")
                )
            };
            cx.error(item.pos, &item_path, message);
            ok = false;
            continue;
        }
        paths.push(p);
    }
    ok.then_some(paths)
}

/// The tenant's settings from what was read: `enabled` and each flag's
/// attributes (flags sorted by key, as the body's). A flag with attributes
/// that can never be exposed (no rule splits or holds out) gets a warning,
/// and so does every attribute list when logging is off.
pub fn settings(
    cx: &mut Cx,
    enabled: bool,
    flags: &[Flag],
    mut attributes: Vec<(String, Opted)>,
) -> ExposureLog {
    attributes.sort_by(|a, b| a.0.cmp(&b.0));
    for (key, (_, pos)) in &attributes {
        let path = format!("flags.{key}.exposures");
        let exposed = flags.iter().find(|f| &f.key == key).is_some_and(|f| {
            matches!(&f.targeting, Targeting::Rules(rules)
                if rules.iter().any(|r| matches!(r.serve, Serve::Split(_) | Serve::Holdout(_))))
        });
        cx.flag = Some(key.clone());
        if !enabled {
            cx.warning(
                *pos,
                &path,
                "exposure logging is off for this tenant (`exposures: {enabled: false}`): these attributes are never logged",
            );
        } else if !exposed {
            cx.warning(
                *pos,
                &path,
                "no rule of this flag splits or holds out units, so it has no exposures to carry these attributes",
            );
        }
        cx.flag = None;
    }
    ExposureLog {
        enabled,
        attributes: attributes
            .into_iter()
            .filter(|(_, (paths, _))| !paths.is_empty())
            .map(|(flag, (paths, _))| FlagAttributes { flag, paths })
            .collect(),
    }
}
