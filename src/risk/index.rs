//! The index formula: amounts → threat load → hazard; exposure; risk; decomposition.
//! Pure functions of a cell's amounts and the normalisation, so that `explain`, the
//! worked example and the property tests use exactly what scoring uses.

use crate::config::ScoreConfig;
use crate::model::params::Normalisation;

/// The raw amounts of one cell on one day (methodology §2–§5).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Amounts {
    /// Decayed civilian-harm weight in the cell, H.
    pub harm: f64,
    /// Decayed armed-conflict weight in the cell, C.
    pub conflict: f64,
    /// Spread from neighbouring cells, S.
    pub spread: f64,
    /// Neighbourhood baseline: mean activity per recent period over the baseline period, b.
    pub baseline: f64,
    /// Neighbourhood escalation: the recent activity's smoothed excess over b, E.
    pub escalation: f64,
    /// Climate stress, 0–1 (0 when no climate data are loaded).
    pub climate: f64,
}

/// Names of the components, in the order of [`Index::components`] and [`Index::shares`].
pub const COMPONENTS: [&str; 6] = [
    "harm",
    "conflict",
    "spread",
    "baseline",
    "escalation",
    "climate",
];

/// One cell's index.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Index {
    /// Per component, 0–1: the hazard the component alone would give (1 − exp(−load));
    /// for climate, the stress itself.
    pub components: [f64; 6],
    /// Threat load L × (1 + climate_weight × stress).
    pub load: f64,
    /// Hazard = 1 − exp(−load).
    pub hazard: f64,
    /// Exposure.
    pub exposure: f64,
    /// Risk = √(hazard × exposure).
    pub risk: f64,
    /// Each component's share of the load (summing to 1 when the load is positive).
    pub shares: [f64; 6],
}

/// Saturating transform of a non-negative amount to 0–1, fixed by its scale.
pub fn saturate(x: f64, scale: f64) -> f64 {
    1.0 - (-x.max(0.0) / scale).exp()
}

/// The smoothed escalation E of a neighbourhood from its recent amount r and its baseline b
/// (both per recent period): r × max(0, r − b) / (r + smoothing). E never decreases when r
/// grows, and b + E never decreases when b grows, so no added event lowers the index.
pub fn escalation(recent: f64, baseline: f64, smoothing: f64) -> f64 {
    if recent <= baseline || recent <= 0.0 {
        0.0
    } else {
        recent * (recent - baseline) / (recent + smoothing)
    }
}

/// Combines a cell's amounts into the index. `residents = None` means no population data
/// are loaded: exposure is neutral (1). Non-compensatory: no residents, no risk.
pub fn index(
    a: &Amounts,
    residents: Option<f64>,
    norm: &Normalisation,
    cfg: &ScoreConfig,
) -> Index {
    let w = cfg.weights;
    let loads = [
        w[0] * a.harm.max(0.0) / norm.harm,
        w[1] * a.conflict.max(0.0) / norm.conflict,
        w[2] * a.spread.max(0.0) / norm.spread,
        w[3] * a.baseline.max(0.0) / norm.trend,
        w[3] * a.escalation.max(0.0) / norm.trend,
    ];
    let threat: f64 = loads.iter().sum();
    let stress = a.climate.clamp(0.0, 1.0);
    let load = threat * (1.0 + cfg.climate_weight * stress);
    let hazard = 1.0 - (-load).exp();
    let exposure = residents.map_or(1.0, |p| saturate(p, cfg.exposure_scale));
    let mut components = [0.0; 6];
    let mut shares = [0.0; 6];
    for (i, l) in loads.iter().enumerate() {
        components[i] = 1.0 - (-l).exp();
        if load > 0.0 {
            shares[i] = l / load;
        }
    }
    components[5] = stress;
    if load > 0.0 {
        shares[5] = (load - threat) / load;
    }
    Index {
        components,
        load,
        hazard,
        exposure,
        risk: (hazard * exposure).sqrt(),
        shares,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn no_people_no_risk() {
        let cfg = ScoreConfig::default();
        let norm = Normalisation::defaults(&cfg);
        let a = Amounts {
            harm: 50.0,
            conflict: 50.0,
            spread: 50.0,
            ..Amounts::default()
        };
        let ix = index(&a, Some(0.0), &norm, &cfg);
        assert!(ix.hazard > 0.9);
        assert_eq!(ix.risk, 0.0);
        assert_eq!(index(&a, None, &norm, &cfg).exposure, 1.0);
    }

    #[test]
    fn worked_example() {
        // docs/methodology.md §9, by hand: A (3 deaths, 30 days old) and B (no deaths,
        // 5 days old), both exact civilian harm in a cell of 250 residents.
        let cfg = ScoreConfig::default();
        let norm = Normalisation::defaults(&cfg);
        let (sev_a, sev_b) = (1.0 + 4f64.ln(), 1.0);
        let baseline = sev_a * 30.0 / 365.0;
        let a = Amounts {
            harm: sev_a * 0.5 + sev_b * 0.5f64.powf(5.0 / 30.0),
            baseline,
            escalation: escalation(sev_b, baseline, 2.0),
            ..Amounts::default()
        };
        assert!((a.harm - 2.084_046).abs() < 1e-6, "{}", a.harm);
        assert!((a.baseline - 0.196_134).abs() < 1e-6);
        assert!((a.escalation - 0.267_955).abs() < 1e-6, "{}", a.escalation);
        let ix = index(&a, Some(250.0), &norm, &cfg);
        assert!((ix.load - 0.574_309).abs() < 1e-6, "{}", ix.load);
        assert!((ix.hazard - 0.436_906).abs() < 1e-6, "{}", ix.hazard);
        assert!((ix.exposure - 0.632_121).abs() < 1e-6);
        assert!((ix.risk - 0.525_526).abs() < 1e-6, "{}", ix.risk);
        for (got, want) in ix
            .shares
            .iter()
            .zip([0.967_677, 0.0, 0.0, 0.013_661, 0.018_663, 0.0])
        {
            assert!((got - want).abs() < 1e-6, "{:?}", ix.shares);
        }
        assert_eq!(
            crate::model::cell::Tier::of(ix.risk, &cfg.tier_thresholds),
            crate::model::cell::Tier::High
        );
        // With a drought at stress 0.5 the load grows by 12.5 %.
        let dry = index(&Amounts { climate: 0.5, ..a }, Some(250.0), &norm, &cfg);
        assert!((dry.load - 0.646_098).abs() < 1e-6, "{}", dry.load);
        assert!((dry.risk - 0.548_484).abs() < 1e-6);
        assert!((dry.shares[5] - 0.125 / 1.125).abs() < 1e-9);
        assert!((dry.shares.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    fn amounts() -> impl Strategy<Value = Amounts> {
        (
            0.0f64..20.0,
            0.0f64..20.0,
            0.0f64..40.0,
            0.0f64..20.0,
            0.0f64..20.0,
            0.0f64..1.0,
        )
            .prop_map(
                |(harm, conflict, spread, baseline, escalation, climate)| Amounts {
                    harm,
                    conflict,
                    spread,
                    baseline,
                    escalation,
                    climate,
                },
            )
    }

    proptest! {
        #[test]
        fn risk_is_monotone_in_every_threat_amount(a in amounts(), extra in 0.0f64..20.0,
                                                   which in 0usize..5, p in 0.0f64..50_000.0) {
            let cfg = ScoreConfig::default();
            let norm = Normalisation::defaults(&cfg);
            let mut b = a;
            match which {
                0 => b.harm += extra,
                1 => b.conflict += extra,
                2 => b.spread += extra,
                3 => b.baseline += extra,
                _ => b.escalation += extra,
            }
            let (x, y) = (index(&a, Some(p), &norm, &cfg), index(&b, Some(p), &norm, &cfg));
            prop_assert!(y.risk >= x.risk);
            prop_assert!((0.0..=1.0).contains(&y.risk));
        }

        #[test]
        fn trend_never_falls_when_the_baseline_or_the_recent_amount_grows(
            r in 0.0f64..50.0, b in 0.0f64..50.0, more in 0.0f64..50.0) {
            let s = 2.0;
            prop_assert!(b + more + escalation(r, b + more, s) >= b + escalation(r, b, s) - 1e-12);
            prop_assert!(escalation(r + more, b, s) >= escalation(r, b, s));
        }

        #[test]
        fn zero_exposure_is_never_high(a in amounts()) {
            let cfg = ScoreConfig::default();
            let ix = index(&a, Some(0.0), &Normalisation::defaults(&cfg), &cfg);
            prop_assert_eq!(ix.risk, 0.0);
            prop_assert!(!crate::model::cell::Tier::of(ix.risk, &cfg.tier_thresholds).is_high());
        }

        #[test]
        fn shares_sum_to_one(a in amounts()) {
            let cfg = ScoreConfig::default();
            let ix = index(&a, Some(100.0), &Normalisation::defaults(&cfg), &cfg);
            if ix.load > 0.0 {
                prop_assert!((ix.shares.iter().sum::<f64>() - 1.0).abs() < 1e-9);
            }
        }
    }
}
