//! One cell of a snapshot: the risk components, tier, decomposition, delta, coverage and gap
//! flag of one H3 cell on one as-of day, and its column table (rows ⇄ DataFrames).

use crate::model::rows::{bools, f64s, i64s, missing, one_pass, req_strs, strs, u64s, Table};
use polars::prelude::*;
use std::sync::Arc;

/// Risk tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    /// Below the moderate threshold.
    Low,
    /// Moderate.
    Moderate,
    /// Elevated.
    Elevated,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Tier {
    /// All tiers, low to critical.
    pub const ALL: [Tier; 5] = [
        Tier::Low,
        Tier::Moderate,
        Tier::Elevated,
        Tier::High,
        Tier::Critical,
    ];

    /// The tier of a risk value given the lower bounds of moderate, elevated, high, critical.
    pub fn of(risk: f64, thresholds: &[f64; 4]) -> Tier {
        let above = thresholds.iter().filter(|t| risk >= **t).count();
        Tier::ALL[above]
    }

    /// The name used in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Low => "low",
            Tier::Moderate => "moderate",
            Tier::Elevated => "elevated",
            Tier::High => "high",
            Tier::Critical => "critical",
        }
    }

    /// Parses the output name.
    pub fn parse(s: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// High or critical.
    pub fn is_high(self) -> bool {
        self >= Tier::High
    }
}

/// One cell of a snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct CellRecord {
    /// Base-resolution cell.
    pub cell: u64,
    /// Centre latitude.
    pub lat: f64,
    /// Centre longitude.
    pub lon: f64,
    /// Name of the area containing the cell (first loaded level), if any (shared by the
    /// area's cells: a day's records do not each own a copy).
    pub area: Option<Arc<str>>,
    /// Civilian-harm component, 0–1.
    pub harm: f64,
    /// Armed-conflict component, 0–1.
    pub conflict: f64,
    /// Spread component, 0–1.
    pub spread: f64,
    /// Neighbourhood-baseline component, 0–1.
    pub baseline: f64,
    /// Escalation component, 0–1.
    pub escalation: f64,
    /// Climate stress, 0–1 (0 without climate data).
    pub climate: f64,
    /// Hazard, 0–1.
    pub hazard: f64,
    /// Residents (`None` when no population data were loaded).
    pub population: Option<f64>,
    /// Residents of IDP sites in the cell, as known on the date (added to exposure).
    pub displaced: f64,
    /// Exposure component, 0–1 (1 when population data are absent: neutral).
    pub exposure: f64,
    /// Civilian-risk index, 0–1.
    pub risk: f64,
    /// Tier of the risk.
    pub tier: Tier,
    /// Calibrated probability of civilian harm in the cell within the calibration's horizon
    /// (`None` when no calibration is stored).
    pub probability: Option<f64>,
    /// On watch: among the cells of highest probability, within the configured budget
    /// (`score.watch_share` of the grid's cells); `false` without a calibration.
    pub watch: bool,
    /// Share of the threat load due to civilian harm.
    pub harm_share: f64,
    /// Share due to armed conflict.
    pub conflict_share: f64,
    /// Share due to spread from neighbours.
    pub spread_share: f64,
    /// Share due to the neighbourhood's baseline.
    pub baseline_share: f64,
    /// Share due to escalation.
    pub escalation_share: f64,
    /// Share due to climate stress.
    pub climate_share: f64,
    /// Risk change since the previous snapshot (`None` when there is none).
    pub delta_risk: Option<f64>,
    /// Tier in the previous snapshot.
    pub prev_tier: Option<Tier>,
    /// Events in the cell within the scoring window, as of the date.
    pub events: i64,
    /// Share of the cell's event weight from exactly or nearly located events (the rest from
    /// admin-level or regional locations); `None` when the cell has no event weight.
    pub precise_share: Option<f64>,
    /// Civilian fatalities in the cell over the last 30 days.
    pub civilian_fatalities_30d: i64,
    /// Civilian fatalities in the cell over the last 90 days.
    pub civilian_fatalities_90d: i64,
    /// Coverage by the bases active on the date.
    pub coverage: CellCoverage,
    /// The gap flags that follow from risk and coverage.
    pub flags: Flags,
}

/// Coverage of one cell.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CellCoverage {
    /// Reached by a protecting base.
    pub covered: bool,
    /// Reached by any base.
    pub presence: bool,
    /// Nearest active base, `location (mission)` (shared by the cells it is nearest to).
    pub nearest_base: Option<Arc<str>>,
    /// Its distance, km.
    pub nearest_base_km: Option<f64>,
    /// Its mission.
    pub mission: Option<Arc<str>>,
    /// Troops of the protecting bases that reach the cell.
    pub troops_in_reach: i64,
    /// Σ over reaching bases of troops × 1000 / residents within that base's reach.
    pub troops_per_1000: Option<f64>,
}

/// The gap flags of a cell (methodology §7).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Flags {
    /// High or critical, or chosen by the gap budget, and not covered.
    pub gap: bool,
    /// High or critical, covered, troops per 1,000 below the threshold.
    pub under_covered: bool,
    /// risk × exposure × (1 − coverage strength).
    pub gap_severity: f64,
}

impl CellRecord {
    /// This record with coverage `c` and flags `f`: the old coverage is not cloned (its
    /// strings would be allocated only to be dropped), every other field is copied.
    pub fn with_coverage(&self, c: CellCoverage, f: Flags) -> CellRecord {
        CellRecord {
            coverage: c,
            flags: f,
            area: self.area.clone(),
            ..*self
        }
    }

    /// Sets the coverage and the gap flags.
    pub fn set_coverage(&mut self, c: CellCoverage, f: Flags) {
        self.coverage = c;
        self.flags = f;
    }

    /// The six index components, in [`crate::risk::index::COMPONENTS`] order.
    pub fn components(&self) -> [f64; 6] {
        [
            self.harm,
            self.conflict,
            self.spread,
            self.baseline,
            self.escalation,
            self.climate,
        ]
    }

    /// A cell at `centre` with nothing in it: no events, no residents data, low, not
    /// covered, no base (fixtures and scenarios start from it).
    pub fn quiet(cell: u64, centre: (f64, f64)) -> CellRecord {
        CellRecord {
            cell,
            lat: centre.0,
            lon: centre.1,
            area: None,
            harm: 0.0,
            conflict: 0.0,
            spread: 0.0,
            baseline: 0.0,
            escalation: 0.0,
            climate: 0.0,
            hazard: 0.0,
            population: None,
            displaced: 0.0,
            exposure: 1.0,
            risk: 0.0,
            tier: Tier::Low,
            probability: None,
            watch: false,
            harm_share: 0.0,
            conflict_share: 0.0,
            spread_share: 0.0,
            baseline_share: 0.0,
            escalation_share: 0.0,
            climate_share: 0.0,
            delta_risk: None,
            prev_tier: None,
            events: 0,
            precise_share: None,
            civilian_fatalities_30d: 0,
            civilian_fatalities_90d: 0,
            coverage: CellCoverage::default(),
            flags: Flags::default(),
        }
    }
}

/// A snapshot's columns, in their order in the file.
pub const SNAPSHOT_COLUMNS: [&str; 40] = [
    "cell",
    "lat",
    "lon",
    "area",
    "harm",
    "conflict",
    "spread",
    "baseline",
    "escalation",
    "climate",
    "hazard",
    "population",
    "displaced",
    "exposure",
    "risk",
    "tier",
    "probability",
    "watch",
    "harm_share",
    "conflict_share",
    "spread_share",
    "baseline_share",
    "escalation_share",
    "climate_share",
    "delta_risk",
    "prev_tier",
    "events",
    "precise_share",
    "civilian_fatalities_30d",
    "civilian_fatalities_90d",
    "covered",
    "presence",
    "nearest_base",
    "nearest_base_km",
    "mission",
    "troops_in_reach",
    "troops_per_1000",
    "gap",
    "under_covered",
    "gap_severity",
];

/// The columns that depend only on the cell and its coverage: the same on every day of a
/// range until the grid's cells or the active bases change.
fn fixed_columns(rows: &[CellRecord]) -> Vec<Column> {
    one_pass!(
        rows,
        r,
        [
            cell: r.cell,
            lat: r.lat,
            lon: r.lon,
            area: r.area.as_deref(),
            population: r.population,
            covered: r.coverage.covered,
            presence: r.coverage.presence,
            nearest_base: r.coverage.nearest_base.as_deref(),
            nearest_base_km: r.coverage.nearest_base_km,
            mission: r.coverage.mission.as_deref(),
            troops_in_reach: r.coverage.troops_in_reach,
            troops_per_1000: r.coverage.troops_per_1000,
        ]
    )
}

/// Fifteen of the columns that change from day to day.
fn daily_columns_head(rows: &[CellRecord]) -> Vec<Column> {
    one_pass!(
        rows,
        r,
        [
            harm: r.harm,
            conflict: r.conflict,
            spread: r.spread,
            baseline: r.baseline,
            escalation: r.escalation,
            climate: r.climate,
            hazard: r.hazard,
            displaced: r.displaced,
            exposure: r.exposure,
            risk: r.risk,
            tier: r.tier,
            probability: r.probability,
            watch: r.watch,
            harm_share: r.harm_share,
            conflict_share: r.conflict_share,
        ]
    )
}

/// The other thirteen.
fn daily_columns_tail(rows: &[CellRecord]) -> Vec<Column> {
    one_pass!(
        rows,
        r,
        [
            spread_share: r.spread_share,
            baseline_share: r.baseline_share,
            escalation_share: r.escalation_share,
            climate_share: r.climate_share,
            delta_risk: r.delta_risk,
            prev_tier: r.prev_tier,
            events: r.events,
            precise_share: r.precise_share,
            civilian_fatalities_30d: r.civilian_fatalities_30d,
            civilian_fatalities_90d: r.civilian_fatalities_90d,
            gap: r.flags.gap,
            under_covered: r.flags.under_covered,
            gap_severity: r.flags.gap_severity,
        ]
    )
}

/// The snapshot frame of `rows`. Given `fixed_from`, a frame of rows with the same cells,
/// centres, areas, residents and coverage (the day before in a range, with the same
/// [`crate::risk::Scored::fixed`] number), its fixed columns are taken as they are instead
/// of being gathered again: the same values, and buffers the store's page cache recognises
/// without comparing them. A frame of other cells (its `cell` column differs) is not used.
pub fn snapshot_frame(
    rows: &[CellRecord],
    fixed_from: Option<&DataFrame>,
) -> PolarsResult<DataFrame> {
    let reused: Option<Vec<Column>> = fixed_from
        .filter(|df| same_cells(df, rows))
        .map(|df| {
            [
                "cell",
                "lat",
                "lon",
                "area",
                "population",
                "covered",
                "presence",
            ]
            .into_iter()
            .chain([
                "nearest_base",
                "nearest_base_km",
                "mission",
                "troops_in_reach",
                "troops_per_1000",
            ])
            .map(|n| df.column(n).cloned())
            .collect::<PolarsResult<Vec<Column>>>()
        })
        .transpose()?;
    let (fixed, (head, tail)) = rayon::join(
        || reused.unwrap_or_else(|| fixed_columns(rows)),
        || {
            // Half of the daily columns on another core.
            rayon::join(|| daily_columns_head(rows), || daily_columns_tail(rows))
        },
    );
    let mut by_name: std::collections::HashMap<String, Column> = fixed
        .into_iter()
        .chain(head)
        .chain(tail)
        .map(|c| (c.name().to_string(), c))
        .collect();
    let columns = SNAPSHOT_COLUMNS
        .iter()
        .map(|n| {
            by_name
                .remove(*n)
                .ok_or_else(|| polars_err!(ColumnNotFound: "snapshot column {n}"))
        })
        .collect::<PolarsResult<Vec<Column>>>()?;
    DataFrame::new_infer_height(columns)
}

/// A column of tiers gathered from a column of the five names by each tier's number: the
/// same column as `Column::new` of the names gives, without copying and checking each name
/// through a string builder (2.5 % of a daily range's CPU for the two tier columns).
fn tier_column(name: &str, tiers: &[Option<Tier>]) -> Column {
    let names = StringChunked::from_slice(name.into(), &Tier::ALL.map(Tier::as_str));
    let gathered = if tiers.iter().all(Option::is_some) {
        let idx: Vec<IdxSize> = tiers
            .iter()
            .map(|t| t.map_or(0, |t| t as IdxSize))
            .collect();
        names.take(&IdxCa::from_vec(name.into(), idx))
    } else {
        let idx: Vec<Option<IdxSize>> = tiers.iter().map(|t| t.map(|t| t as IdxSize)).collect();
        names.take(&IdxCa::from_slice_options(name.into(), &idx))
    };
    match gathered {
        Ok(column) => Column::from(column.into_series()),
        // Not reached (every number is a tier's); the names the long way.
        Err(_) => Column::new(
            name.into(),
            tiers
                .iter()
                .map(|t| t.map(Tier::as_str))
                .collect::<Vec<_>>(),
        ),
    }
}

impl crate::model::rows::IntoColumn for Vec<Tier> {
    fn into_column(self, name: &str) -> Column {
        tier_column(name, &self.into_iter().map(Some).collect::<Vec<_>>())
    }
}

impl crate::model::rows::IntoColumn for Vec<Option<Tier>> {
    fn into_column(self, name: &str) -> Column {
        tier_column(name, &self)
    }
}

/// Whether `df`'s `cell` column holds the cells of `rows`, in their order.
fn same_cells(df: &DataFrame, rows: &[CellRecord]) -> bool {
    df.height() == rows.len()
        && df
            .column("cell")
            .ok()
            .and_then(|c| c.u64().ok())
            .is_some_and(|c| {
                c.null_count() == 0
                    && c.into_no_null_iter()
                        .zip(rows)
                        .all(|(cell, r)| cell == r.cell)
            })
}

impl Table for CellRecord {
    const NAME: &'static str = "snapshot";

    fn to_frame(rows: &[Self]) -> PolarsResult<DataFrame> {
        snapshot_frame(rows, None)
    }

    fn from_frame(df: &DataFrame) -> PolarsResult<Vec<Self>> {
        records(df, true)
    }
}

/// The rows of a snapshot frame; unless `strict`, columns the frame lacks take the values
/// of [`CellRecord::quiet`] (for reads of a subset of the columns).
pub(crate) fn records(df: &DataFrame, strict: bool) -> PolarsResult<Vec<CellRecord>> {
    let h = df.height();
    let has = |n: &str| strict || df.get_column_index(n).is_some();
    let num = |n: &str| {
        if has(n) {
            f64s(df, n)
        } else {
            Ok(vec![None; h])
        }
    };
    let int = |n: &str| {
        if has(n) {
            i64s(df, n)
        } else {
            Ok(vec![None; h])
        }
    };
    let text = |n: &str| {
        if has(n) {
            strs(df, n)
        } else {
            Ok(vec![None; h])
        }
    };
    let flag = |n: &str| {
        if has(n) {
            bools(df, n)
        } else {
            Ok(vec![false; h])
        }
    };
    let cell = u64s(df, "cell")?;
    let (lat, lon) = (num("lat")?, num("lon")?);
    let area = text("area")?;
    let (harm, conflict, spread, hazard) = (
        num("harm")?,
        num("conflict")?,
        num("spread")?,
        num("hazard")?,
    );
    let (baseline, escalation, climate) = (num("baseline")?, num("escalation")?, num("climate")?);
    let (population, exposure, risk) = (num("population")?, num("exposure")?, num("risk")?);
    let displaced = num("displaced")?;
    let (bs, es, cls) = (
        num("baseline_share")?,
        num("escalation_share")?,
        num("climate_share")?,
    );
    let tier = if has("tier") {
        req_strs(df, "tier")?
    } else {
        vec![Tier::Low.as_str().to_owned(); h]
    };
    let (hs, cs, ss) = (
        num("harm_share")?,
        num("conflict_share")?,
        num("spread_share")?,
    );
    let delta = num("delta_risk")?;
    // Snapshots scored before calibration existed lack the column.
    let probability = if df.get_column_index("probability").is_some() {
        f64s(df, "probability")?
    } else {
        vec![None; h]
    };
    // Snapshots scored before the watch flag existed lack the column.
    let watch = if df.get_column_index("watch").is_some() {
        flag("watch")?
    } else {
        vec![false; h]
    };
    let prev = text("prev_tier")?;
    let events = int("events")?;
    let precise = num("precise_share")?;
    let civ = int("civilian_fatalities_90d")?;
    let civ30 = int("civilian_fatalities_30d")?;
    let mission = text("mission")?;
    let (covered, presence) = (flag("covered")?, flag("presence")?);
    let nearest = text("nearest_base")?;
    let nearest_km = num("nearest_base_km")?;
    let troops = int("troops_in_reach")?;
    let tp = num("troops_per_1000")?;
    let (gap, under) = (flag("gap")?, flag("under_covered")?);
    let severity = num("gap_severity")?;
    let z = |v: Option<f64>| v.unwrap_or(0.0);
    (0..df.height())
        .map(|i| {
            Ok(CellRecord {
                cell: cell[i].ok_or_else(|| missing("snapshot cell"))?,
                lat: z(lat[i]),
                lon: z(lon[i]),
                area: area[i].as_deref().map(Arc::from),
                harm: z(harm[i]),
                conflict: z(conflict[i]),
                spread: z(spread[i]),
                baseline: z(baseline[i]),
                escalation: z(escalation[i]),
                climate: z(climate[i]),
                hazard: z(hazard[i]),
                population: population[i],
                displaced: z(displaced[i]),
                exposure: z(exposure[i]),
                risk: z(risk[i]),
                tier: Tier::parse(&tier[i]).ok_or_else(|| missing("tier"))?,
                probability: probability[i],
                watch: watch[i],
                harm_share: z(hs[i]),
                conflict_share: z(cs[i]),
                spread_share: z(ss[i]),
                baseline_share: z(bs[i]),
                escalation_share: z(es[i]),
                climate_share: z(cls[i]),
                delta_risk: delta[i],
                prev_tier: prev[i].as_deref().and_then(Tier::parse),
                events: events[i].unwrap_or(0),
                precise_share: precise[i],
                civilian_fatalities_30d: civ30[i].unwrap_or(0),
                civilian_fatalities_90d: civ[i].unwrap_or(0),
                coverage: CellCoverage {
                    covered: covered[i],
                    presence: presence[i],
                    nearest_base: nearest[i].as_deref().map(Arc::from),
                    nearest_base_km: nearest_km[i],
                    mission: mission[i].as_deref().map(Arc::from),
                    troops_in_reach: troops[i].unwrap_or(0),
                    troops_per_1000: tp[i],
                },
                flags: Flags {
                    gap: gap[i],
                    under_covered: under[i],
                    gap_severity: z(severity[i]),
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tier columns built from views are the columns of their names, with and without
    /// missing ones, and are written to the same bytes.
    #[test]
    fn tier_columns_are_the_names_columns() {
        use crate::model::rows::IntoColumn;
        for n in [0usize, 1, 7, 1000] {
            let tiers: Vec<Tier> = (0..n).map(|i| Tier::ALL[(i * 3 + i / 7) % 5]).collect();
            let prev: Vec<Option<Tier>> = tiers
                .iter()
                .enumerate()
                .map(|(i, t)| (i % 4 != 1).then_some(*t))
                .collect();
            let all: Vec<Option<Tier>> = tiers.iter().copied().map(Some).collect();
            let ours = [
                tiers.clone().into_column("tier"),
                prev.clone().into_column("prev_tier"),
                all.clone().into_column("all"),
            ];
            let names = |v: &[Option<Tier>], name: &str| {
                Column::new(
                    name.into(),
                    v.iter().map(|t| t.map(Tier::as_str)).collect::<Vec<_>>(),
                )
            };
            let theirs = [
                Column::new(
                    "tier".into(),
                    tiers.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
                ),
                names(&prev, "prev_tier"),
                names(&all, "all"),
            ];
            for (a, b) in ours.iter().zip(&theirs) {
                assert!(a.equals_missing(b), "{n} rows, {}", a.name());
                assert_eq!(a.null_count(), b.null_count());
                let bytes = |c: &Column| {
                    let mut df = DataFrame::new_infer_height(vec![c.clone()])
                        .unwrap_or_else(|e| panic!("{e}"));
                    let mut out = Vec::new();
                    ParquetWriter::new(&mut out)
                        .finish(&mut df)
                        .unwrap_or_else(|e| panic!("{e}"));
                    out
                };
                assert!(bytes(a) == bytes(b), "{n} rows, {}", a.name());
            }
        }
    }

    #[test]
    fn tiers_follow_thresholds() {
        let t = [0.15, 0.3, 0.45, 0.6];
        assert_eq!(Tier::of(0.0, &t), Tier::Low);
        assert_eq!(Tier::of(0.15, &t), Tier::Moderate);
        assert_eq!(Tier::of(0.44, &t), Tier::Elevated);
        assert_eq!(Tier::of(0.45, &t), Tier::High);
        assert_eq!(Tier::of(0.99, &t), Tier::Critical);
        assert!(Tier::High.is_high() && !Tier::Elevated.is_high());
    }

    fn day(cells: &[u64], k: f64) -> Vec<CellRecord> {
        let names: Vec<Arc<str>> = vec!["Ouham".into(), "Bamingui (MINUSCA)".into()];
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut r = CellRecord::quiet(*c, (4.0 + i as f64, 18.0));
                r.area = (i % 3 != 0).then(|| names[0].clone());
                r.population = (i % 2 == 0).then_some(10.0 * i as f64);
                r.harm = k * i as f64;
                r.risk = (k * i as f64).min(1.0);
                r.tier = if i % 2 == 0 { Tier::High } else { Tier::Low };
                r.prev_tier = (i % 4 == 1).then_some(Tier::Critical);
                r.delta_risk = (i % 5 != 0).then_some(k);
                r.coverage = CellCoverage {
                    covered: i % 2 == 1,
                    presence: i % 3 == 1,
                    nearest_base: (i % 2 == 1).then(|| names[1].clone()),
                    nearest_base_km: (i % 2 == 1).then_some(2.5 * i as f64),
                    mission: (i % 2 == 1).then(|| "MINUSCA".into()),
                    troops_in_reach: i as i64,
                    troops_per_1000: (i % 3 == 0).then_some(0.1 * i as f64),
                };
                r.flags.gap = i % 7 == 0;
                r.flags.gap_severity = k;
                r
            })
            .collect()
    }

    #[test]
    fn a_frame_with_the_day_befores_fixed_columns_equals_one_gathered_whole() {
        let cells: Vec<u64> = (0..50).map(|i| 0x8726_0000_0000_0000 + i).collect();
        let before = snapshot_frame(&day(&cells, 0.01), None).unwrap_or_else(|e| panic!("{e}"));
        let rows = day(&cells, 0.02);
        let whole = snapshot_frame(&rows, None).unwrap_or_else(|e| panic!("{e}"));
        let reused = snapshot_frame(&rows, Some(&before)).unwrap_or_else(|e| panic!("{e}"));
        assert!(whole.equals_missing(&reused));
        let names: Vec<&str> = whole
            .get_column_names()
            .iter()
            .map(|n| n.as_str())
            .collect();
        assert_eq!(names, SNAPSHOT_COLUMNS.to_vec());
        // The fixed columns are the day before's buffers; the daily ones are new.
        let ptr = |df: &DataFrame, n: &str| {
            df.column(n)
                .and_then(|c| {
                    c.as_materialized_series()
                        .f64()
                        .map(|c| c.cont_slice().map(<[f64]>::as_ptr))
                })
                .ok()
                .and_then(Result::ok)
        };
        assert_eq!(ptr(&reused, "lat"), ptr(&before, "lat"));
        assert_ne!(ptr(&reused, "harm"), ptr(&before, "harm"));
        assert_eq!(
            CellRecord::from_frame(&reused).map(|r| r.len()).ok(),
            Some(50)
        );
    }

    #[test]
    fn a_frame_of_other_cells_is_not_reused() {
        let cells: Vec<u64> = (0..50).map(|i| 0x8726_0000_0000_0000 + i).collect();
        let mut other = cells.clone();
        other[49] += 100;
        let before = snapshot_frame(&day(&other, 0.01), None).unwrap_or_else(|e| panic!("{e}"));
        let shorter =
            snapshot_frame(&day(&cells[..49], 0.01), None).unwrap_or_else(|e| panic!("{e}"));
        let rows = day(&cells, 0.02);
        let whole = snapshot_frame(&rows, None).unwrap_or_else(|e| panic!("{e}"));
        for previous in [&before, &shorter] {
            let df = snapshot_frame(&rows, Some(previous)).unwrap_or_else(|e| panic!("{e}"));
            assert!(whole.equals_missing(&df));
        }
    }
}
