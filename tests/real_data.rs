//! Parsers against the real extracts in `../shared/data/real/` (not part of the repository).
//! Each test skips, saying so, when the folder is absent.

use std::path::PathBuf;
use vigil::ingest::{geopko, ucdp};

fn real(rel: &str) -> Option<(PathBuf, Vec<u8>)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/real")
        .join(rel);
    match std::fs::read(&path) {
        Ok(bytes) => Some((path, bytes)),
        Err(_) => {
            eprintln!("skipping: real data extract {} is absent", path.display());
            None
        }
    }
}

#[test]
fn ucdp_ged_car_extract_loads_every_event() {
    let Some((path, bytes)) = real("ucdp_ged/GEDEvent_v23_1_CAF_reconstructed.csv") else {
        return;
    };
    let p = ucdp::read(&path.display().to_string(), &bytes, h3o::Resolution::Seven)
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
        .filter(|e| e.category == vigil::tables::Category::CivilianHarm)
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
