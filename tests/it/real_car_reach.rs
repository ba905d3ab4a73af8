//! Issue 5 on real data: MINUSCA bases (Geo-PKO v2 extract) and UCDP GED events for the
//! Central African Republic → per year 2015–2020, the share of one-sided-violence civilian
//! deaths that fell outside every MINUSCA base's reach on the day. Skips, saying so, when
//! `../shared/data/real` is absent.

use vigil::analysis::report::{render, ReportFormat};
use vigil::app;
use vigil::ingest::Kind;

use common::real;

use crate::common;

#[test]
fn minusca_one_sided_violence_deaths_outside_reach_per_year() {
    let (Some(ged), Some(pko)) = (
        real("ucdp_ged/GEDEvent_v23_1_CAF_reconstructed.csv"),
        real("geopko/geopko_v2x_location_map_MINUSCA_UNMISS_MONUSCO_MINUSMA.csv"),
    ) else {
        return;
    };
    let (_dir, ctx) = common::fresh_store();
    common::ingest(&ctx, &[(Kind::Geopko, &pko), (Kind::Ucdp, &ged)]);
    let rows = app::outside_reach(&ctx, "2015-01-01", "2020-12-31", Some("MINUSCA"))
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "{}",
        render(&rows, ReportFormat::Table).unwrap_or_else(|e| panic!("{e}"))
    );
    let rows = serde_json::to_value(&rows).unwrap_or_else(|e| panic!("{e}"));
    let rows = rows.as_array().cloned().unwrap_or_default();
    let years: Vec<i64> = rows.iter().filter_map(|r| r["year"].as_i64()).collect();
    assert_eq!(years, [2015, 2016, 2017, 2018, 2019, 2020]);
    for r in &rows {
        let (deaths, outside, presence) = (
            r["civilian_deaths"].as_i64().unwrap_or_default(),
            r["outside_protection"].as_i64().unwrap_or_default(),
            r["outside_presence"].as_i64().unwrap_or_default(),
        );
        assert!(deaths > 0, "{r}");
        assert!(presence <= outside && outside <= deaths, "{r}");
        let share = r["share_outside"].as_f64().unwrap_or(-1.0);
        assert!(
            (share - outside as f64 / deaths as f64).abs() < 1e-12,
            "{r}"
        );
    }
    // Other missions' bases are not MINUSCA's: asking for an absent mission is refused.
    let err = app::outside_reach(&ctx, "2015-01-01", "2020-12-31", Some("UNAMA"))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("UNAMA"), "{err}");
}
