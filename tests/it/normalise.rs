//! Normalisation is fixed on a reference period, stored with every snapshot, and only
//! recomputed when asked.

use crate::common;

use vigil::app;
use vigil::store::Store;

#[test]
fn reference_levels_are_fixed_recorded_and_recomputed_only_when_asked() {
    let (_dir, ctx, _) = common::scored_store();
    let store = Store::open(&ctx.store, 7).unwrap_or_else(|e| panic!("{e}"));
    let first = store.manifest().snapshots.values().next().cloned();
    let defaults = first.and_then(|s| s.normalisation);
    assert_eq!(
        defaults.as_ref().map(|n| n.basis.as_str()),
        Some("defaults")
    );

    let levels = app::normalise(&ctx, Some(("2022-01-01", "2023-12-31")), 7)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        levels.basis.contains("reference 2022-01-01..2023-12-31"),
        "{levels:?}"
    );
    let store = Store::open(&ctx.store, 7).unwrap_or_else(|e| panic!("{e}"));
    let fixed = store
        .manifest()
        .normalisation
        .clone()
        .unwrap_or_else(|| panic!("stored"));
    assert!(fixed.harm > 0.0 && fixed.conflict > 0.0 && fixed.spread > 0.0 && fixed.trend > 0.0);
    assert_ne!(Some(&fixed), defaults.as_ref());

    // Scoring uses the stored levels and records them with the snapshot, day after day.
    for d in ["2024-03-31", "2024-06-30"] {
        let (_, info) = app::score(&ctx, Some(d)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(info.normalisation.as_ref(), Some(&fixed), "{d}");
    }
    // Re-running normalise on the same period gives the same levels (deterministic).
    app::normalise(&ctx, Some(("2022-01-01", "2023-12-31")), 7).unwrap_or_else(|e| panic!("{e}"));
    let store = Store::open(&ctx.store, 7).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(store.manifest().normalisation.as_ref(), Some(&fixed));
    // Back to the defaults.
    app::normalise(&ctx, None, 7).unwrap_or_else(|e| panic!("{e}"));
    let (_, info) = app::score(&ctx, Some("2024-06-30")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info.normalisation, defaults);
    // A period without any event is refused, naming it.
    let err = app::normalise(&ctx, Some(("1990-01-01", "1990-12-31")), 7)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("1990-01-01..1990-12-31"), "{err}");
}
