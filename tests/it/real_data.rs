//! Parsers against the real extracts in `../shared/data/real/` (not part of the repository).
//! Each test skips, saying so, when the folder is absent.

use vigil::ingest::{geopko, ucdp};

use common::real_bytes as real;

use crate::common;

#[test]
fn ucdp_ged_car_extract_loads_every_event() {
    let Some((path, bytes)) = real("ucdp_ged/GEDEvent_v23_1_CAF_reconstructed.csv") else {
        return;
    };
    let p = ucdp::read(
        &path.display().to_string(),
        &bytes,
        h3o::Resolution::Seven,
        ucdp::GED,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.rows_read, 1848);
    assert_eq!(p.rejects, vec![], "every real GED row is readable");
    for e in &p.rows {
        if let Some(cell) = e.cell {
            let expect = h3o::LatLng::new(e.lat, e.lon)
                .map(|ll| u64::from(ll.to_cell(h3o::Resolution::Seven)));
            assert_eq!(Ok(cell), expect.map_err(|_| ()));
        }
    }
    let one_sided = p
        .rows
        .iter()
        .filter(|e| e.category == vigil::model::rows::Category::CivilianHarm)
        .count();
    assert!(one_sided > 500, "{one_sided}");
}

#[test]
fn geopko_v2_extract_loads() {
    let Some((path, bytes)) =
        real("geopko/geopko_v2x_location_map_MINUSCA_UNMISS_MONUSCO_MINUSMA.csv")
    else {
        return;
    };
    let p = geopko::read(&path.display().to_string(), &bytes, h3o::Resolution::Seven)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.rows_read, 2952);
    let share = p.rejects.len() as f64 / p.rows_read as f64;
    assert!(
        share < 0.05,
        "{} rejects, first: {:?}",
        p.rejects.len(),
        p.rejects.first()
    );
    assert!(p.rows.iter().any(|b| b.base.mission == "MINUSCA"));
}

#[test]
fn ucdp_ged_csv_and_geojson_give_identical_canonical_rows() {
    let Some((csv_path, csv_bytes)) = real("ucdp_ged/GEDEvent_v23_1_CAF_reconstructed.csv") else {
        return;
    };
    let Some((gj_path, gj_bytes)) = real("ucdp_ged/GEDEvent_v23_1_CAF.geojson") else {
        return;
    };
    let res = h3o::Resolution::Seven;
    let from_csv = ucdp::read(&csv_path.display().to_string(), &csv_bytes, res, ucdp::GED)
        .unwrap_or_else(|e| panic!("{e}"));
    let from_gj = ucdp::read(&gj_path.display().to_string(), &gj_bytes, res, ucdp::GED)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(from_gj.rows_read, 1848);
    assert_eq!(from_gj.rejects, vec![]);
    let key = |e: &vigil::model::rows::Event| e.source_id.parse::<u64>().unwrap_or(0);
    let mut a = from_csv.rows.clone();
    let mut b = from_gj.rows.clone();
    a.sort_by_key(key);
    b.sort_by_key(key);
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
}

#[test]
fn geopko_v1_and_frontmap_extracts_load_with_their_quirks() {
    let res = h3o::Resolution::Seven;
    if let Some((path, bytes)) = real("geopko/geopko_v1x_thaonguyen-ha_GeoPKO.csv") {
        let p = geopko::read(&path.display().to_string(), &bytes, res)
            .unwrap_or_else(|e| panic!("{e}"));
        eprintln!(
            "Geo-PKO v1: {} rows read, {} accepted, {} rejected",
            p.rows_read,
            p.rows.len(),
            p.rejects.len()
        );
        assert_eq!(p.rows_read, 12_190);
        assert!(
            (p.rejects.len() as f64) < 0.05 * p.rows_read as f64,
            "{:?}",
            p.rejects.first()
        );
        assert!(
            p.rows.iter().any(|b| b.base.location == "Dékoa"),
            "double-encoded UTF-8 is repaired"
        );
        assert!(!p.rows.iter().any(|b| b.base.location.contains('Ã')));
        assert!(
            p.rows.iter().any(|b| b.base.troops.is_none()),
            "`unknown` troops are missing, not zero"
        );
    }
    if let Some((path, bytes)) = real("geopko/FrontMap_v.2.3.csv") {
        let p = geopko::read(&path.display().to_string(), &bytes, res)
            .unwrap_or_else(|e| panic!("{e}"));
        eprintln!(
            "Geo-PKO FrontMap: {} rows read, {} accepted, {} rejected",
            p.rows_read,
            p.rows.len(),
            p.rejects.len()
        );
        assert_eq!(p.rows_read, 8_783);
        assert!(
            (p.rejects.len() as f64) < 0.05 * p.rows_read as f64,
            "{:?}",
            p.rejects.first()
        );
        let jan1 = p
            .rows
            .iter()
            .all(|b| vigil::model::day::ymd_from_days(b.base.valid_from).1 == 1);
        assert!(jan1, "FrontMap years start on 1 January");
    }
}

#[test]
fn car_adm3_boundaries_fill_to_cells_with_no_cell_in_two_areas() {
    let Some((path, bytes)) = real("geoboundaries/geoBoundaries-CAF-ADM3_simplified.geojson")
    else {
        return;
    };
    let p = vigil::ingest::areas::read(
        &path.display().to_string(),
        &bytes,
        h3o::Resolution::Seven,
        &Default::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.features, 175);
    assert_eq!(p.areas.len(), 175, "{:?}", p.rejects.first());
    assert!(p.areas.iter().all(|a| a.level == "ADM3"));
    let mut seen = std::collections::HashSet::new();
    for c in &p.cells {
        assert!(seen.insert(c.cell), "cell {:x} is in two areas", c.cell);
    }
    // CAR is ≈623,000 km²; res-7 cells are ≈5.16 km².
    assert!(
        p.cells.len() > 100_000 && p.cells.len() < 140_000,
        "{}",
        p.cells.len()
    );
}

#[test]
fn speibase_series_loads() {
    let Some((path, bytes)) = real("spei/spei_-0.25_5.25.csv.gz") else {
        return;
    };
    let p = vigil::ingest::climate::read(
        &path.display().to_string(),
        &bytes,
        h3o::Resolution::Seven,
        &Default::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.rows_read, 1380);
    assert_eq!(p.rejects, vec![]);
    let spei3 = p.rows.iter().filter(|r| r.variable == "spei_3").count();
    assert!(spei3 > 1300, "{spei3}");
    let last = p
        .rows
        .iter()
        .map(|r| r.period)
        .max()
        .map(vigil::model::day::format_date);
    assert_eq!(last.as_deref(), Some("2015-12-01"));
}

/// WorldPop 2020 (people per km², ~20 km pixels) through `vigil ingest population --units
/// per-km2` onto CAR's ADM3 grid: every cell of the country gets people, and their sum is
/// the country's population (UN WPP 2020: about 4.8 million).
#[test]
fn worldpop_density_fills_car_with_its_population() {
    let (Some(areas), Some(pop)) = (
        common::real("geoboundaries/geoBoundaries-CAF-ADM3_simplified.geojson"),
        common::real("population/afripop2020_worldpop_20km_density.tif"),
    ) else {
        return;
    };
    let (dir, _ctx) = common::fresh_store();
    let store = dir.path().join("store");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
            .arg("--store")
            .arg(&store)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("vigil: {e}"));
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "vigil {args:?}: {text}");
        text
    };
    run(&["ingest", "areas", &areas.display().to_string()]);
    let said = run(&[
        "ingest",
        "population",
        &pop.display().to_string(),
        "--units",
        "per-km2",
    ]);
    let opened = vigil::store::Store::open(&store, 7).unwrap_or_else(|e| panic!("{e}"));
    let rows: Vec<vigil::model::rows::PopulationCell> =
        opened.read().unwrap_or_else(|e| panic!("{e}"));
    let area_cells: std::collections::BTreeSet<u64> = opened
        .read::<vigil::model::rows::AreaCell>()
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|a| a.cell)
        .collect();
    let total: f64 = rows.iter().map(|r| r.population).sum();
    let covered = rows.len() as f64 / area_cells.len() as f64;
    let max = rows.iter().map(|r| r.population).fold(0.0, f64::max);
    eprintln!(
        "WorldPop 2020 on CAR: {} of {} cells populated ({:.1} %), {total:.0} people, densest cell {max:.0}\n{said}",
        rows.len(),
        area_cells.len(),
        covered * 100.0
    );
    assert!(
        rows.iter().all(|r| area_cells.contains(&r.cell)),
        "only the areas' cells"
    );
    assert!(
        covered > 0.99,
        "a coarse density reaches every cell: {covered}"
    );
    assert!(
        (4.0e6..6.0e6).contains(&total),
        "CAR's 2020 population: {total}"
    );
    // Bangui's cells stand far above the savanna's, even averaged over 20 km pixels.
    let mut people: Vec<f64> = rows.iter().map(|r| r.population).collect();
    people.sort_by(f64::total_cmp);
    let median = people[people.len() / 2];
    eprintln!("median cell {median:.1} people");
    assert!(max > 100.0 * median, "densest {max} vs median {median}");
}
