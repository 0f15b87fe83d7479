//! `vane diff`'s predicted share of switching units against the share
//! measured by evaluating both snapshots over 100,000 other units: within
//! 0.5 percentage points for weight changes, range moves, salt changes and
//! condition changes; reshuffles flagged, growth not.

use serde_json::json;
use vane_resolver::Context;
use vane_snapshot_builder::diff::{diff, measured, Share};

use super::layers::snapshot;

/// 100,000 contexts `{"targetingKey": "{prefix}{i}", "country": …}`.
fn units(prefix: &str) -> Vec<Context> {
    const COUNTRIES: [&str; 4] = ["DE", "SE", "FR", "US"];
    (0..100_000)
        .map(|i| {
            let country = COUNTRIES[(i * 7 + i / 13) % 4];
            Context::from_value(
                json!({"targetingKey": format!("{prefix}{i}"), "country": country}),
                0,
            )
            .unwrap()
        })
        .collect()
}

fn file(layer_range: &str, weights: &str, salt: &str, when: &str) -> String {
    format!(
        "layers:\n  l:\n    salt: {salt}\n    experiments:\n      f: {{range: {layer_range}}}\nholdouts:\n  h:\n    share: 10\n    from: [l]\nflags:\n  f:\n    variants: {{a: a, b: b, c: c}}\n    default: c\n    rules:\n      - layer: l\n{when}        split: {weights}\n        salt: split-{salt}\n"
    )
}

/// Predicted share, measured share, reshuffle flagged.
fn compare(old: &str, new: &str) -> (Share, f64, bool) {
    let (o, n) = (snapshot(old), snapshot(new));
    let d = diff(&o, &n, &units("sample-"));
    assert_eq!(d.len(), 1, "{d:?}");
    let measured = measured(&o, &n, "f", &units("measure-"));
    let p = d[0].switching.value();
    assert!(
        (p - measured).abs() < 0.005,
        "predicted {p}, measured {measured}: {d:?}"
    );
    (d[0].switching, measured, !d[0].reshuffles.is_empty())
}

const BASE: (&str, &str, &str, &str) = ("[0, 500000]", "{a: 50, b: 50}", "s1", "");

#[test]
fn weight_change_is_exact_and_not_a_reshuffle() {
    let (r, w, s, c) = BASE;
    let (share, measured, reshuffle) = compare(&file(r, w, s, c), &file(r, "{a: 40, b: 60}", s, c));
    // 10 % of the 45 % in the experiment and not held out.
    assert!(
        matches!(share, Share::Exact(x) if (x - 0.045).abs() < 1e-6),
        "{share:?} {measured}"
    );
    assert!(!reshuffle);
}

#[test]
fn growing_a_range_is_not_a_reshuffle_moving_it_is() {
    let (r, w, s, c) = BASE;
    let (share, _, reshuffle) = compare(&file(r, w, s, c), &file("[0, 600000]", w, s, c));
    assert!(
        matches!(share, Share::Exact(x) if (x - 0.09).abs() < 1e-6),
        "{share:?}"
    );
    assert!(!reshuffle);
    let (share, _, reshuffle) = compare(&file(r, w, s, c), &file("[100000, 600000]", w, s, c));
    assert!(matches!(share, Share::Exact(_)), "{share:?}");
    assert!(reshuffle);
}

#[test]
fn salt_change_is_a_reshuffle() {
    let (r, w, s, c) = BASE;
    let (share, measured, reshuffle) = compare(&file(r, w, s, c), &file(r, w, "s2", c));
    assert!(matches!(share, Share::Exact(_)));
    assert!(measured > 0.3, "{measured}");
    assert!(reshuffle);
}

#[test]
fn condition_change_is_estimated_over_contexts() {
    let (r, w, s, _) = BASE;
    let old = file(r, w, s, "        when: {country: [DE, SE]}\n");
    let new = file(r, w, s, "        when: {country: [DE, SE, FR]}\n");
    let (share, measured, reshuffle) = compare(&old, &new);
    assert!(matches!(share, Share::Estimated(_, 100_000)), "{share:?}");
    assert!(measured > 0.05, "{measured}");
    assert!(!reshuffle);
}
