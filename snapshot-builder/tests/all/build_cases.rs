//! Inputs that `vane check` (`tests/all/cli.rs`) and the JS `compile`
//! (`tests/browser.rs`) must both answer with exactly the diagnostics of
//! the library's one build, [`build_sources`]: so the CLI and the
//! playground report the same thing for the same input. The cases cover
//! what used to differ (the playground had no "no clients" warning,
//! `vane check` no tenant or size checks).

use vane_snapshot_builder::{build_sources, BuildOptions, Diagnostic, Format, Sources};

const SHOP: &str = include_str!("../../../examples/shop.yaml");
const MEDIA: &str = include_str!("../../../examples/media.flagd.json");
const MEDIA_ACCESS: &str = include_str!("../../../examples/media.access.yaml");

/// The creation time and version every case is built with (the CLI gets it
/// as `SOURCE_DATE_EPOCH`).
pub const BUILD_TIME: u64 = 1_700_000_000;

/// One input: a rule file, an optional access file and tenant.
pub struct Case {
    /// What the case shows.
    pub name: &'static str,
    /// The rule file's name (picks the dialect).
    pub file: &'static str,
    /// The rule file's text.
    pub text: String,
    /// The access file's text, if any.
    pub access: Option<String>,
    /// `--tenant` / the `tenant` option.
    pub tenant: Option<&'static str>,
}

/// Every case.
pub fn cases() -> Vec<Case> {
    let case = |name, file, text: &str, access: Option<&str>, tenant| Case {
        name,
        file,
        text: text.to_owned(),
        access: access.map(str::to_owned),
        tenant,
    };
    let typo = r#"{"flags": {"f": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on",
        "targeting": {"invalid": [1]}}}}"#;
    vec![
        case("vane rules with clients", "shop.yaml", SHOP, None, None),
        case(
            "a located error",
            "shop.yaml",
            &SHOP.replace("default: classic", "default: classik"),
            None,
            None,
        ),
        case(
            "flagd with its access file",
            "media.flagd.json",
            MEDIA,
            Some(MEDIA_ACCESS),
            None,
        ),
        case(
            "flagd without an access file: no clients",
            "media.flagd.json",
            MEDIA,
            None,
            Some("media"),
        ),
        case(
            "flagd without a tenant",
            "media.flagd.json",
            MEDIA,
            None,
            None,
        ),
        case(
            "an invalid tenant name",
            "media.flagd.json",
            MEDIA,
            None,
            Some("Media"),
        ),
        case(
            "a tenant the access file contradicts",
            "media.flagd.json",
            MEDIA,
            Some(MEDIA_ACCESS),
            Some("other"),
        ),
        case(
            "a flagd warning",
            "typo.flagd.json",
            typo,
            Some(MEDIA_ACCESS),
            None,
        ),
    ]
}

/// What the library's build says about `case`, with the rule and access
/// files named `file` and `access_file`: the warnings of a build that
/// succeeds, or every diagnostic of one that fails, and whether it failed.
pub fn expected(case: &Case, file: &str, access_file: &str) -> (Vec<Diagnostic>, bool) {
    let confidence = vane_snapshot_builder::confidence::Options::default();
    let sources = Sources {
        file,
        bytes: case.text.as_bytes(),
        format: Format::detect(file, case.text.as_bytes()),
        confidence: &confidence,
        access: case.access.as_deref().map(|text| (access_file, text)),
        strict: false,
    };
    let options = BuildOptions {
        tenant: case.tenant.map(str::to_owned),
        version: BUILD_TIME,
        created_at: BUILD_TIME,
        format_version: vane_resolver::snapshot::FORMAT_VERSION,
    };
    match build_sources(&sources, &options) {
        Ok(built) => (built.warnings, false),
        Err(diagnostics) => (diagnostics, true),
    }
}
