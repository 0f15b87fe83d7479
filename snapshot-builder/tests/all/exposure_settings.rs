//! Vane YAML `exposures:` (docs/rules.md, "Exposures"): the tenant's switch
//! and a flag's opted-in context attributes, compiled, encoded in both body
//! formats and decoded back; every error with its line:column; what flagd
//! and Confidence sources get; and what `vane diff` says of a change.

use vane_resolver::model::{ExposureLog, FlagAttributes};
use vane_resolver::Snapshot;
use vane_snapshot_builder::{build, compile, BuildOptions, Diagnostic, Format, Severity};

const RULES: &str = "\
tenant: t
exposures: {enabled: false}
flags:
  checkout:
    variants: {a: a, b: b}
    default: a
    exposures:
      attributes: [country, app.version]
    rules:
      - split: {a: 50, b: 50}
  plain:
    variants: {on: true}
    default: on
";

fn body_in(yaml: &str, format_version: u32) -> vane_resolver::Body {
    let options = BuildOptions {
        tenant: Some("t".into()),
        version: 1,
        created_at: 0,
        format_version,
    };
    let built = build("t.yaml", yaml, Format::Vane, &options).unwrap_or_else(|d| panic!("{d:?}"));
    Snapshot::from_bytes(&built.bytes).unwrap().to_body()
}

fn errors(yaml: &str) -> Vec<Diagnostic> {
    compile("t.yaml", yaml, Format::Vane).expect_err("compiles with errors")
}

#[track_caller]
fn has(diagnostics: &[Diagnostic], severity: Severity, line: u32, column: u32, message: &str) {
    assert!(
        diagnostics.iter().any(|d| d.severity == severity
            && (d.line, d.column) == (Some(line), Some(column))
            && d.message.contains(message)),
        "no {severity:?} at {line}:{column} containing {message:?}; got:\n{}",
        diagnostics
            .iter()
            .map(|d| format!("{d}\n"))
            .collect::<String>()
    );
}

#[test]
fn settings_survive_both_body_formats() {
    let expected = ExposureLog {
        enabled: false,
        attributes: vec![FlagAttributes {
            flag: "checkout".into(),
            paths: vec![vec!["country".into()], vec!["app".into(), "version".into()]],
        }],
    };
    for format_version in vane_resolver::snapshot::READ_FORMAT_VERSIONS {
        let body = body_in(RULES, format_version);
        assert_eq!(body.exposure_log, expected, "format {format_version}");
        assert_eq!(
            body.exposure_log.attributes_of("plain"),
            &[] as &[Vec<String>]
        );
        assert_eq!(body.exposure_log.attributes_of("checkout").len(), 2);
    }
}

#[test]
fn a_tenant_that_says_nothing_logs_everything_without_attributes() {
    let without = RULES.replace("exposures: {enabled: false}\n", "");
    let without = without.replace(
        "    exposures:\n      attributes: [country, app.version]\n",
        "",
    );
    for format_version in vane_resolver::snapshot::READ_FORMAT_VERSIONS {
        assert_eq!(
            body_in(&without, format_version).exposure_log,
            ExposureLog::default()
        );
    }
    // Logging on with attributes.
    let on = RULES.replace("exposures: {enabled: false}\n", "");
    let body = body_in(&on, 2);
    assert!(body.exposure_log.enabled);
    assert_eq!(body.exposure_log.attributes.len(), 1);
}

#[test]
fn flagd_and_confidence_sources_log_without_attributes() {
    let flagd = r#"{"flags": {"f": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on"}}}"#;
    let c = compile("f.flagd.json", flagd, Format::Flagd).unwrap();
    assert_eq!(c.body.exposure_log, ExposureLog::default());
}

#[test]
fn bad_settings_are_located_errors() {
    let d = errors(
        "\
tenant: t
exposures: {enabled: nope, log: true}
flags:
  f:
    variants: {a: a, b: b}
    default: a
    exposures:
      atributes: [country]
    rules:
      - split: {a: 1, b: 1}
  g:
    variants: {a: a, b: b}
    default: a
    exposures:
      attributes: [country, user..id, country, device, device.os, {x: 1}]
    rules:
      - split: {a: 1, b: 1}
  h:
    variants: {a: a}
    default: a
    exposures: {attributes: country}
",
    );
    has(
        &d,
        Severity::Error,
        2,
        22,
        "`enabled` must be true or false",
    );
    has(
        &d,
        Severity::Error,
        2,
        28,
        "unknown field 'log' in the exposure settings",
    );
    has(&d, Severity::Error, 8, 7, "did you mean 'attributes'?");
    has(
        &d,
        Severity::Error,
        15,
        29,
        "'user..id' is not an attribute path",
    );
    has(
        &d,
        Severity::Error,
        15,
        39,
        "attribute 'country' is listed twice",
    );
    has(
        &d,
        Severity::Error,
        15,
        56,
        "attributes 'device' and 'device.os' overlap",
    );
    has(
        &d,
        Severity::Error,
        15,
        67,
        "expected a context attribute path",
    );
    has(
        &d,
        Severity::Error,
        21,
        29,
        "expected a list of context attribute paths",
    );
    let g = d
        .iter()
        .find(|x| x.message.contains("listed twice"))
        .unwrap();
    assert_eq!(g.flag.as_deref(), Some("g"));
    assert_eq!(g.path, "flags.g.exposures.attributes[2]");
}

#[test]
fn attributes_that_can_never_be_logged_are_warned_about() {
    let c = compile("t.yaml", RULES, Format::Vane).unwrap();
    has(
        &c.warnings,
        Severity::Warning,
        8,
        7,
        "exposure logging is off for this tenant",
    );
    let static_flag = "\
tenant: t
flags:
  plain:
    variants: {on: true, off: false}
    default: on
    exposures: {attributes: [country]}
    rules:
      - when: {country: DE}
        serve: off
";
    let c = compile("t.yaml", static_flag, Format::Vane).unwrap();
    has(
        &c.warnings,
        Severity::Warning,
        6,
        16,
        "no rule of this flag splits or holds out units",
    );
    assert_eq!(c.body.exposure_log.attributes_of("plain").len(), 1);
}
