//! `vane exposures`: a tenant's exposure summary from a worker's admin API
//! (`GET /admin/v1/tenants/{t}/exposures`, `docs/exposures.md`) as a table:
//! the pipeline's counters, then per experiment (flag, snapshot version,
//! serving assignment) each variant's weight, expected share, events,
//! units and observed share, and the sample-ratio verdict.

use std::fmt::Write as _;
use std::process::ExitCode;

use serde_json::Value;

use super::publish::{admin_url, agent, answer, answer_with, bearer, percent_encode, AdminArgs};

/// Arguments of `vane exposures`.
#[derive(Debug, clap::Args)]
pub struct ExposuresArgs {
    /// Tenant to summarise.
    #[arg(long)]
    tenant: String,
    /// Only this flag.
    #[arg(long)]
    flag: Option<String>,
    /// Only exposures at or after this time (`YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS[.mmm]Z`).
    #[arg(long)]
    from: Option<String>,
    /// Only exposures before this time (`YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS[.mmm]Z`).
    #[arg(long)]
    to: Option<String>,
    /// Print the worker's JSON instead of the table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    admin: AdminArgs,
}

/// Runs `vane exposures`.
pub fn run(a: ExposuresArgs) -> anyhow::Result<ExitCode> {
    let mut url = admin_url(&a.admin.url, &a.tenant, "/exposures");
    let query: Vec<String> = [("flag", &a.flag), ("from", &a.from), ("to", &a.to)]
        .iter()
        .filter_map(|(name, v)| v.as_ref().map(|v| format!("{name}={}", percent_encode(v))))
        .collect();
    if !query.is_empty() {
        url = format!("{url}?{}", query.join("&"));
    }
    let request = agent().get(&url).header("Authorization", bearer(&a.admin)?);
    if a.json {
        return answer("exposures", &url, request.call());
    }
    answer_with("exposures", &url, request.call(), table)
}

/// The summary as text: counters, then one block per experiment.
pub fn table(summary: &Value) -> String {
    let n = |v: &Value, name: &str| v.get(name).and_then(Value::as_u64).unwrap_or(0);
    let s = |v: &Value, name: &str| v.get(name).and_then(Value::as_str).unwrap_or("").to_owned();
    let pct = |v: &Value, name: &str| {
        format!(
            "{:.1} %",
            v.get(name).and_then(Value::as_f64).unwrap_or(0.0) * 100.0
        )
    };
    let mut out = String::new();
    let counters = &summary["counters"];
    let _ = writeln!(
        out,
        "tenant {}: {} distinct events\ntenant counters, every flag: accepted {}, written {}, deduplicated {}, dropped {}, dead-lettered {}",
        s(summary, "tenant"),
        n(summary, "events"),
        n(counters, "accepted"),
        n(counters, "written"),
        n(counters, "deduplicated"),
        n(counters, "dropped"),
        n(counters, "dead_lettered"),
    );
    let empty = Vec::new();
    for e in summary["experiments"].as_array().unwrap_or(&empty) {
        let verdict = match e.get("srm").filter(|v| !v.is_null()) {
            Some(srm) => format!(
                "SRM p = {:.4}{}",
                srm["p_value"].as_f64().unwrap_or(f64::NAN),
                if srm["mismatch"].as_bool() == Some(true) {
                    "  MISMATCH (p < 0.001)"
                } else {
                    "  ok"
                }
            ),
            None => "SRM: not enough data".to_owned(),
        };
        let _ = writeln!(
            out,
            "\n{}  snapshot {}  {}  {} events  {} units  {verdict}",
            s(e, "flag"),
            n(e, "snapshot_version"),
            s(e, "assignment"),
            n(e, "events"),
            n(e, "units"),
        );
        let rows: Vec<[String; 6]> = e["variants"]
            .as_array()
            .unwrap_or(&empty)
            .iter()
            .map(|v| {
                [
                    s(v, "variant"),
                    n(v, "weight").to_string(),
                    pct(v, "expected_share"),
                    n(v, "events").to_string(),
                    n(v, "units").to_string(),
                    pct(v, "observed_share"),
                ]
            })
            .collect();
        let header = [
            "variant", "weight", "expected", "events", "units", "observed",
        ]
        .map(String::from);
        let widths: Vec<usize> = (0..6)
            .map(|i| {
                rows.iter()
                    .chain([&header])
                    .map(|r| r[i].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for row in [&header].into_iter().chain(&rows) {
            let mut line = format!("  {:<w$}", row[0], w = widths[0]);
            for (cell, w) in row.iter().zip(&widths).skip(1) {
                let _ = write!(line, "  {cell:>w$}");
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "  units in several variants: {}; exposures to zero-weight variants: {}",
            n(e, "units_in_several_variants"),
            n(e, "zero_weight_exposures"),
        );
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_counters_variants_and_verdicts() {
        let summary = json!({
            "tenant": "shop",
            "events": 10_003,
            "counters": {"accepted": 10_004, "written": 10_003, "deduplicated": 1, "dropped": 0, "dead_lettered": 0},
            "experiments": [{
                "flag": "checkout-flow", "snapshot_version": 3, "assignment": "rules[1]",
                "events": 10_000, "units": 10_000,
                "variants": [
                    {"variant": "classic", "weight": 50, "expected_share": 0.5, "events": 6_000, "units": 6_000, "observed_share": 0.6},
                    {"variant": "one-page", "weight": 50, "expected_share": 0.5, "events": 4_000, "units": 4_000, "observed_share": 0.4}
                ],
                "srm": {"chi_square": 400.0, "df": 1, "p_value": 4.0e-89, "mismatch": true},
                "units_in_several_variants": 0, "zero_weight_exposures": 0
            }, {
                "flag": "new-search", "snapshot_version": 3, "assignment": "rules[1]",
                "events": 3, "units": 3,
                "variants": [{"variant": "on", "weight": 20, "expected_share": 0.2, "events": 3, "units": 3, "observed_share": 1.0}],
                "srm": null, "units_in_several_variants": 1, "zero_weight_exposures": 2
            }]
        });
        assert_eq!(
            table(&summary),
            "tenant shop: 10003 distinct events
tenant counters, every flag: accepted 10004, written 10003, deduplicated 1, dropped 0, dead-lettered 0

checkout-flow  snapshot 3  rules[1]  10000 events  10000 units  SRM p = 0.0000  MISMATCH (p < 0.001)
  variant   weight  expected  events  units  observed
  classic       50    50.0 %    6000   6000    60.0 %
  one-page      50    50.0 %    4000   4000    40.0 %
  units in several variants: 0; exposures to zero-weight variants: 0

new-search  snapshot 3  rules[1]  3 events  3 units  SRM: not enough data
  variant  weight  expected  events  units  observed
  on           20    20.0 %       3      3   100.0 %
  units in several variants: 1; exposures to zero-weight variants: 2"
        );
    }
}
