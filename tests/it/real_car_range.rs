//! Issue 4 on real data: UCDP GED events for the Central African Republic, CAR ADM3
//! boundaries, MINUSCA bases (Geo-PKO v2) and SPEI, scored weekly 2014-01-01..2020-12-31;
//! and issue 5's responsiveness over the same weeks, 2015–2020.
//! Skips, saying so, when `../shared/data/real` is absent.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use vigil::analysis::report::{render, ReportFormat};
use vigil::analysis::responsiveness::{self, Observation, Tracker};
use vigil::config::Config;
use vigil::model::day::{format_date, parse_iso_date};
use vigil::risk::Engine;
use vigil::store::Store;

use crate::common;

#[test]
fn car_weekly_2014_2020_completes_and_reports_high_cells_per_year() {
    let Some((_dir, ctx)) = common::car_store() else {
        return;
    };
    let store = Store::open(&ctx.store, 7).unwrap_or_else(|e| panic!("{e}"));
    let config = Config::default();
    let from = parse_iso_date("2014-01-01").unwrap_or_default();
    let to = parse_iso_date("2020-12-31").unwrap_or_default();
    let days = vigil::risk::days(from, to, 7).unwrap_or_else(|e| panic!("{e}"));
    let mut engine = Engine::new(&store, &config, from, to).unwrap_or_else(|e| panic!("{e}"));
    // year → (distinct high-or-critical cells, distinct critical cells, most in one week)
    let mut per_year: BTreeMap<String, (BTreeSet<u64>, BTreeSet<u64>, usize)> = BTreeMap::new();
    let mut grid = 0;
    // Responsiveness 2015–2020 (issue 5): cells entering high or critical, followed to
    // coverage; the previous week's tiers say who entered.
    let start = parse_iso_date("2015-01-01").unwrap_or_default();
    let mut tracker = Tracker::default();
    let mut last_high: Option<HashSet<u64>> = None;
    for d in &days {
        let scored = engine
            .score(&vigil::risk::Prior::of(&store), *d)
            .unwrap_or_else(|e| panic!("{e}"));
        grid = scored.rows.len();
        if *d >= start {
            tracker.observe(
                *d,
                scored.rows.iter().map(|r| Observation {
                    cell: r.cell,
                    high: r.tier.is_high(),
                    prev_high: last_high.as_ref().map(|h| h.contains(&r.cell)),
                    covered: r.coverage.covered,
                    mission: r.coverage.mission.as_deref(),
                }),
            );
        }
        last_high = Some(
            scored
                .rows
                .iter()
                .filter(|r| r.tier.is_high())
                .map(|r| r.cell)
                .collect(),
        );
        let year = format_date(*d)[..4].to_owned();
        let entry = per_year.entry(year).or_default();
        let mut week = 0;
        for r in &scored.rows {
            if r.tier.is_high() {
                entry.0.insert(r.cell);
                week += 1;
            }
            if r.tier == vigil::model::cell::Tier::Critical {
                entry.1.insert(r.cell);
            }
            assert!((0.0..=1.0).contains(&r.risk));
        }
        entry.2 = entry.2.max(week);
        assert!(scored.info.exposure_neutral, "no population data loaded");
    }
    eprintln!(
        "CAR weekly {}..{}: {} snapshots over {grid} cells",
        format_date(from),
        format_date(to),
        days.len()
    );
    eprintln!("year  high-or-critical cells  critical cells  most in one week");
    for (year, (high, critical, most)) in &per_year {
        eprintln!(
            "{year}  {:>22}  {:>14}  {:>16}",
            high.len(),
            critical.len(),
            most
        );
    }
    let episodes = tracker.finish(to);
    let table = responsiveness::table(&episodes);
    eprintln!(
        "{}",
        render(&table, ReportFormat::Table).unwrap_or_else(|e| panic!("{e}"))
    );
    let all = table
        .iter()
        .find(|r| r.mission == "all")
        .unwrap_or_else(|| panic!("an `all` row"));
    assert_eq!(all.entered, episodes.len());
    assert!(
        all.entered > 1000 && all.covered <= all.entered && all.covered_at_entry <= all.covered
    );
    for r in &table {
        for s in [r.within_30d, r.within_90d].into_iter().flatten() {
            assert!((0.0..=1.0).contains(&s), "{r:?}");
        }
    }
    assert_eq!(days.len(), 366);
    assert!(grid > 100_000, "the ADM3 areas are the grid: {grid}");
    // The 2014 crisis years light far more cells than the quieter 2016.
    let count = |y: &str| per_year.get(y).map_or(0, |v| v.0.len());
    assert!(count("2020") > 0);
    assert!(
        count("2014") > count("2016"),
        "{} vs {}",
        count("2014"),
        count("2016")
    );
    // A snapshot published through the store equals the engine's rows for that day.
    drop(engine);
    let mut store =
        Store::open_writer(&ctx.store, 7, &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    let last = days.last().copied().unwrap_or(to);
    let (_, info) =
        vigil::risk::score_day(&mut store, &config, Some(last)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info.cells, grid);
}
