//! Sample-ratio mismatch: does the number of units each variant got fit
//! the weights it was served with? Pearson's chi-square goodness-of-fit
//! test; the p-value is the upper tail of the chi-square distribution,
//! `Q(df/2, x/2)` with `Q` the regularized upper incomplete gamma function.
//!
//! The gamma functions are implemented here (no statistics crate in the
//! wasm worker): the Lanczos approximation of `ln Γ` (g = 7, 9 terms, the
//! published coefficients) and `Q` by its power series below `a + 1` and by
//! its continued fraction (modified Lentz) above, the textbook split for
//! fast convergence. Checked against closed forms (df 2 and 4) and table
//! quantiles (df 1, 3, 10, 100) to 1e-9.

use serde::Serialize;

/// p-values below this flag a mismatch: at 0.001 a healthy experiment
/// is flagged once in a thousand checks.
pub const SRM_THRESHOLD: f64 = 0.001;

/// The outcome of one sample-ratio check.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Srm {
    /// Pearson's chi-square statistic.
    pub chi_square: f64,
    /// Degrees of freedom: variants with a positive weight, minus one.
    pub df: u32,
    /// Probability of a statistic at least this large if the split is fair.
    pub p_value: f64,
    /// `p_value < SRM_THRESHOLD`.
    pub mismatch: bool,
}

/// Tests `observed` counts against `weights` (same order). Variants of
/// weight 0 take no part (exposures to them are reported separately).
/// `None` when fewer than two variants have weight or nothing was observed
/// in them.
pub fn srm(observed: &[u64], weights: &[u64]) -> Option<Srm> {
    let pairs: Vec<(f64, f64)> = observed
        .iter()
        .zip(weights)
        .filter(|(_, &w)| w > 0)
        .map(|(&o, &w)| (o as f64, w as f64))
        .collect();
    let total: f64 = pairs.iter().map(|p| p.0).sum();
    let weight: f64 = pairs.iter().map(|p| p.1).sum();
    if pairs.len() < 2 || total == 0.0 {
        return None;
    }
    let chi_square = pairs
        .iter()
        .map(|&(o, w)| {
            let expected = total * w / weight;
            (o - expected) * (o - expected) / expected
        })
        .sum();
    let df = pairs.len() as u32 - 1;
    let p_value = chi_square_upper_tail(chi_square, df);
    Some(Srm {
        chi_square,
        df,
        p_value,
        mismatch: p_value < SRM_THRESHOLD,
    })
}

/// `P(X >= x)` for `X` chi-square distributed with `df` degrees of freedom.
pub fn chi_square_upper_tail(x: f64, df: u32) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    upper_gamma_q(f64::from(df) / 2.0, x / 2.0)
}

const EPS: f64 = 1e-15;
const TINY: f64 = 1e-300;
const MAX_ITERATIONS: usize = 10_000;

/// `Q(a, x) = Γ(a, x) / Γ(a)`, for `a > 0`, `x >= 0`.
fn upper_gamma_q(a: f64, x: f64) -> f64 {
    if x < a + 1.0 {
        1.0 - lower_series(a, x)
    } else {
        upper_fraction(a, x)
    }
}

/// `e^-x x^a / Γ(a)`, the factor both expansions share.
fn prefactor(a: f64, x: f64) -> f64 {
    (a * x.ln() - x - ln_gamma(a)).exp()
}

/// `P(a, x)` by `e^-x x^a / Γ(a+1) · Σ x^n / ((a+1)…(a+n))`.
fn lower_series(a: f64, x: f64) -> f64 {
    if x == 0.0 {
        return 0.0;
    }
    let mut term = 1.0 / a;
    let mut sum = term;
    let mut denominator = a;
    for _ in 0..MAX_ITERATIONS {
        denominator += 1.0;
        term *= x / denominator;
        sum += term;
        if term.abs() < sum.abs() * EPS {
            break;
        }
    }
    (sum * prefactor(a, x)).clamp(0.0, 1.0)
}

/// `Q(a, x)` by the continued fraction
/// `1 / (x+1-a - 1(1-a) / (x+3-a - 2(2-a) / (x+5-a - …)))` times the
/// prefactor, evaluated with the modified Lentz method.
fn upper_fraction(a: f64, x: f64) -> f64 {
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / TINY;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..MAX_ITERATIONS {
        let i = i as f64;
        let an = -i * (i - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < TINY {
            d = TINY;
        }
        c = b + an / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let step = d * c;
        h *= step;
        if (step - 1.0).abs() < EPS {
            break;
        }
    }
    (h * prefactor(a, x)).clamp(0.0, 1.0)
}

/// `ln Γ(z)` for `z > 0`: Lanczos with g = 7 and 9 coefficients (relative
/// error below 1e-15 over the range used here); the reflection formula
/// below 0.5.
fn ln_gamma(z: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if z < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * z).sin()).ln() - ln_gamma(1.0 - z);
    }
    let z = z - 1.0;
    let mut sum = C[0];
    for (i, c) in C.iter().enumerate().skip(1) {
        sum += c / (z + i as f64);
    }
    let t = z + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (z + 0.5) * t.ln() - t + sum.ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use vane_resolver::bucket::{murmur3_32, place};

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance * b.abs().max(1e-300)
    }

    #[test]
    fn ln_gamma_at_known_points() {
        // Γ(1) = Γ(2) = 1, Γ(5) = 24, Γ(1/2) = √π, Γ(10.5) = 1133278.3889487855…
        assert!(ln_gamma(1.0).abs() < 1e-14);
        assert!(ln_gamma(2.0).abs() < 1e-14);
        assert!(close(ln_gamma(5.0), 24f64.ln(), 1e-14));
        assert!(close(
            ln_gamma(0.5),
            std::f64::consts::PI.sqrt().ln(),
            1e-13
        ));
        assert!(close(
            ln_gamma(10.5),
            1_133_278.388_948_785_5f64.ln(),
            1e-13
        ));
        assert!(close(ln_gamma(0.1), 9.513_507_698_668_732f64.ln(), 1e-12));
    }

    #[test]
    fn closed_forms_for_even_degrees_of_freedom() {
        // df 2: Q = e^(-x/2); df 4: Q = e^(-x/2) (1 + x/2).
        for x in [0.01, 0.5, 1.0, 2.5, 3.0, 7.0, 20.0, 80.0, 400.0] {
            let e = (-x / 2.0f64).exp();
            assert!(close(chi_square_upper_tail(x, 2), e, 1e-12), "df 2, x {x}");
            assert!(
                close(chi_square_upper_tail(x, 4), e * (1.0 + x / 2.0), 1e-12),
                "df 4, x {x}"
            );
        }
    }

    #[test]
    fn table_quantiles() {
        // Upper quantiles of the chi-square distribution (tabulated to three
        // decimals in the NIST/SEMATECH e-Handbook, 1.3.6.7.4; here to full
        // double precision), and the median for df 1.
        for (x, df, p) in [
            (3.841_458_820_694_124, 1, 0.05),
            (6.634_896_601_021_214, 1, 0.01),
            (10.827_566_170_662_733, 1, 0.001),
            (7.814_727_903_251_178, 3, 0.05),
            (18.307_038_053_275_146, 10, 0.05),
            (124.342_113_404_004_07, 100, 0.05),
            (0.454_936_423_119_572_7, 1, 0.5),
        ] {
            let got = chi_square_upper_tail(x, df);
            assert!(close(got, p, 1e-9), "df {df}, x {x}: {got} != {p}");
        }
        assert_eq!(chi_square_upper_tail(0.0, 3), 1.0);
    }

    /// Units `user-0` … `user-9999` through a real 50/50 split (the
    /// resolver's MurmurHash3 bucketing).
    fn fair_counts() -> [u64; 2] {
        let mut counts = [0u64; 2];
        for i in 0..10_000 {
            let unit = format!("user-{i}");
            let hash = murmur3_32(&[b"checkout-2026", b"|", unit.as_bytes()]);
            let slot = place(hash, [50u64, 50].into_iter()).unwrap();
            counts[slot.index] += 1;
        }
        counts
    }

    #[test]
    fn a_fair_split_over_10000_units_is_not_flagged() {
        let counts = fair_counts();
        assert_eq!(counts.iter().sum::<u64>(), 10_000);
        let result = srm(&counts, &[50, 50]).unwrap();
        assert_eq!(result.df, 1);
        assert!(!result.mismatch, "{counts:?}: {result:?}");
        assert!(result.p_value > 0.01, "{counts:?}: {result:?}");
    }

    #[test]
    fn a_forged_60_40_is_flagged() {
        let result = srm(&[6_000, 4_000], &[50, 50]).unwrap();
        assert!(close(result.chi_square, 400.0, 1e-12));
        assert!(result.mismatch);
        assert!(result.p_value < 1e-80);
        // Served 60/40, observed 60/40: fair.
        assert!(!srm(&[6_000, 4_000], &[60, 40]).unwrap().mismatch);
        // A subtler skew, 51/49 over 10,000 (chi-square 4): p ≈ 0.0455, not flagged;
        // 52/48 (chi-square 16): p ≈ 6.3e-5, flagged.
        let mild = srm(&[5_100, 4_900], &[1, 1]).unwrap();
        assert!(
            close(mild.p_value, 0.045_500_263_896_358_4, 1e-9),
            "{mild:?}"
        );
        assert!(!mild.mismatch);
        assert!(srm(&[5_200, 4_800], &[1, 1]).unwrap().mismatch);
    }

    #[test]
    fn zero_weights_and_empty_counts() {
        // The zero-weight variant takes no part: df 1, not 2.
        let r = srm(&[500, 500, 7], &[50, 50, 0]).unwrap();
        assert_eq!(r.df, 1);
        assert_eq!(r.chi_square, 0.0);
        assert_eq!(r.p_value, 1.0);
        assert_eq!(srm(&[0, 0], &[1, 1]), None);
        assert_eq!(srm(&[10], &[1]), None);
    }
}
