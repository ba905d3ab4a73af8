//! `vigil explain`: the events behind a cell give back its components exactly.

use crate::common;

use vigil::config::Config;
use vigil::store::snapshot::Snapshot;
use vigil::store::Store;

#[test]
fn contributions_rebuild_the_snapshot_components() {
    let (_dir, ctx, date) = common::scored_store();
    let store = Store::open(&ctx.store, 7).unwrap_or_else(|e| panic!("{e}"));
    let config = Config::default();
    let snapshot = Snapshot::load(&store, None).unwrap_or_else(|e| panic!("{e}"));
    // The riskiest cells, a gap among them, and a quiet one.
    let mut cells: Vec<&vigil::model::cell::CellRecord> = snapshot.cells.iter().collect();
    cells.sort_by(|a, b| b.risk.total_cmp(&a.risk));
    let mut chosen: Vec<u64> = cells.iter().take(5).map(|c| c.cell).collect();
    chosen.extend(snapshot.cells.iter().find(|c| c.flags.gap).map(|c| c.cell));
    chosen.extend(
        snapshot
            .cells
            .iter()
            .find(|c| c.hazard == 0.0)
            .map(|c| c.cell),
    );
    for cell in chosen {
        let e = vigil::risk::explain::explain(&store, &config, cell, Some(&date))
            .unwrap_or_else(|e| panic!("{e}"));
        let rebuilt = e.rebuilt(&config);
        let r = &e.record;
        let want = r.components();
        for (got, want) in rebuilt.components.iter().zip(want) {
            assert!(
                (got - want).abs() < 1e-9,
                "cell {cell:x}: {:?} vs {want:?}",
                rebuilt.components
            );
        }
        assert!((rebuilt.risk - r.risk).abs() < 1e-9);
        assert!(
            e.contributions
                .windows(2)
                .all(|w| w[0].weight >= w[1].weight),
            "largest first"
        );
        if r.hazard > 0.0 {
            assert!(!e.contributions.is_empty());
            let report = e.report(5);
            assert!(report.contains(r.tier.as_str()) && report.contains("contributing events"));
        }
    }
}

#[test]
fn explain_names_bad_cells_and_cells_outside_the_grid() {
    let (_dir, ctx, _) = common::scored_store();
    let err = vigil::app::explain(&ctx, "not-a-cell", None)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("not-a-cell") && err.contains("H3"), "{err}");
    // A valid cell far from the mission area.
    let err = vigil::app::explain(&ctx, "871fb4662ffffff", None)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("871fb4662ffffff") && err.contains("not in the grid"),
        "{err}"
    );
}
