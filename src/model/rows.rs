//! The canonical tables (DESIGN §2) as Rust rows, and their conversion to and from polars
//! DataFrames. Every reader in `ingest` produces these rows; `store` persists them as Parquet.

use polars::prelude::*;
use serde::{Deserialize, Serialize};

/// How precisely an event is located.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// The named place itself.
    Exact,
    /// Near a known place (within ≈25 km).
    Near,
    /// Known only to the second administrative level.
    Admin2,
    /// Known only to the first administrative level.
    Admin1,
    /// A larger region or a linear feature.
    Region,
    /// Country only: kept, never placed in a cell.
    Country,
}

impl Precision {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::Near => "near",
            Self::Admin2 => "admin2",
            Self::Admin1 => "admin1",
            Self::Region => "region",
            Self::Country => "country",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "exact" => Self::Exact,
            "near" => Self::Near,
            "admin2" => Self::Admin2,
            "admin1" => Self::Admin1,
            "region" => Self::Region,
            "country" => Self::Country,
            _ => return None,
        })
    }
}

/// Canonical event category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Violence against civilians, one-sided violence, civilian targeting.
    CivilianHarm,
    /// Battles, state-based and non-state conflict.
    ArmedClash,
    /// Explosions and remote violence not aimed at civilians.
    RemoteViolence,
    /// Protests and riots.
    Unrest,
    /// Everything else (strategic developments…).
    Other,
}

impl Category {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CivilianHarm => "civilian_harm",
            Self::ArmedClash => "armed_clash",
            Self::RemoteViolence => "remote_violence",
            Self::Unrest => "unrest",
            Self::Other => "other",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "civilian_harm" => Self::CivilianHarm,
            "armed_clash" => Self::ArmedClash,
            "remote_violence" => Self::RemoteViolence,
            "unrest" => Self::Unrest,
            "other" => Self::Other,
            _ => return None,
        })
    }
}

/// A source's name as events carry it: borrowed when it is one of the sources Vigil
/// reads (no allocation per event), owned otherwise.
pub fn source_name(name: &str) -> std::borrow::Cow<'static, str> {
    const KNOWN: [&str; 5] = [
        "acled",
        "ucdp_ged",
        "ucdp_candidate",
        "incidents",
        "synthetic",
    ];
    KNOWN
        .iter()
        .find(|k| **k == name)
        .map_or_else(|| name.to_owned().into(), |k| (*k).into())
}

/// One row of `events`.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `acled`, `ucdp_ged`, `ucdp_candidate` or `incidents` (borrowed when it is one of
    /// those: no allocation per event).
    pub source: std::borrow::Cow<'static, str>,
    /// The source's own identifier.
    pub source_id: String,
    /// First day, days since 1970-01-01.
    pub date_start: i32,
    /// Last day.
    pub date_end: i32,
    /// Publication time, Unix seconds, when the source says.
    pub published_at: Option<i64>,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Base-resolution cell; `None` for country-level events.
    pub cell: Option<u64>,
    /// Location precision.
    pub precision: Precision,
    /// Category.
    pub category: Category,
    /// Civilians were the main target.
    pub civilian_targeted: bool,
    /// Total fatalities.
    pub fatalities: i64,
    /// Civilian fatalities when the source distinguishes them.
    pub civilian_fatalities: Option<i64>,
    /// First actor.
    pub actor1: String,
    /// Second actor.
    pub actor2: String,
    /// First-level administrative unit named by the source.
    pub admin1: String,
    /// Second-level administrative unit named by the source.
    pub admin2: String,
    /// `source:source_id` of the event this one reports again (another source's record of
    /// the same incident); scoring counts only the event it points to.
    pub duplicate_of: Option<String>,
}

/// One row of `bases`: a deployment location valid over a period.
#[derive(Debug, Clone, PartialEq)]
pub struct Base {
    /// Mission acronym.
    pub mission: String,
    /// First day of validity.
    pub valid_from: i32,
    /// Last day of validity (inclusive).
    pub valid_to: i32,
    /// Place name.
    pub location: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Base-resolution cell.
    pub cell: u64,
    /// Troop estimate.
    pub troops: Option<i64>,
    /// Infantry present.
    pub infantry: bool,
    /// Formed police unit present.
    pub fpu: bool,
    /// Individual police (UNPOL) present.
    pub unpol: bool,
    /// Military observers present.
    pub observers: bool,
    /// Medical unit.
    pub medical: bool,
    /// Aviation unit.
    pub aviation: bool,
    /// Engineering unit.
    pub engineering: bool,
    /// Reserve unit.
    pub reserve: bool,
    /// Headquarters level 0–3.
    pub hq: Option<i64>,
    /// Number of troop-contributing countries.
    pub tcc_count: Option<i64>,
    /// The deployment map the row comes from.
    pub source: String,
}

/// One row of `population`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PopulationCell {
    /// Base-resolution cell.
    pub cell: u64,
    /// Residents.
    pub population: f64,
}

/// One row of `climate`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClimateValue {
    /// Base-resolution cell.
    pub cell: u64,
    /// First day of the period (a month).
    pub period: i32,
    /// Variable name, e.g. `precip_mm`.
    pub variable: String,
    /// Value.
    pub value: f64,
}

/// One row of `idp_sites`.
#[derive(Debug, Clone, PartialEq)]
pub struct IdpSite {
    /// Site name.
    pub site: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Base-resolution cell.
    pub cell: u64,
    /// Residents.
    pub population: f64,
    /// Assessment date, when the list gives one.
    pub date: Option<i32>,
}

impl IdpSite {
    /// The sites as known on day `d`: each site's (name and cell) latest assessment dated on
    /// or before `d`; lists without dates always count. The one rule behind displaced
    /// residents in scoring and the `idp-sites` layer.
    pub fn known_on(sites: &[IdpSite], d: i32) -> Vec<&IdpSite> {
        let mut latest: std::collections::HashMap<(&str, u64), &IdpSite> =
            std::collections::HashMap::new();
        for s in sites.iter().filter(|s| s.date.is_none_or(|x| x <= d)) {
            let e = latest.entry((s.site.as_str(), s.cell)).or_insert(s);
            if s.date >= e.date {
                *e = s;
            }
        }
        let mut out: Vec<&IdpSite> = latest.into_values().collect();
        out.sort_by(|a, b| (a.site.as_str(), a.cell).cmp(&(b.site.as_str(), b.cell)));
        out
    }
}

/// One row of `areas`.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    /// Stable identifier.
    pub area_id: String,
    /// Name.
    pub name: String,
    /// Level (`ADM1`, `ADM2`, `mission`, `sector`…).
    pub level: String,
    /// Parent area id, when known.
    pub parent: Option<String>,
    /// Geometry as GeoJSON text (WGS84).
    pub geometry: String,
}

/// One row of `area_cells`: the cell set of an area.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaCell {
    /// Area identifier.
    pub area_id: String,
    /// Level of the area (a cell belongs to at most one area per level).
    pub level: String,
    /// Base-resolution cell.
    pub cell: u64,
}

/// A table that converts to and from a DataFrame.
pub trait Table: Sized {
    /// The table's name in the store (`events.parquet`…).
    const NAME: &'static str;
    /// Rows → DataFrame.
    fn to_frame(rows: &[Self]) -> PolarsResult<DataFrame>;
    /// DataFrame → rows.
    fn from_frame(df: &DataFrame) -> PolarsResult<Vec<Self>>;
}

/// A column named `name` from one value per row.
pub(crate) fn column<'a, R, V, P: ?Sized>(
    name: &str,
    rows: &'a [R],
    f: impl Fn(&'a R) -> V,
) -> Column
where
    Series: NamedFrom<Vec<V>, P>,
{
    Column::new(name.into(), rows.iter().map(f).collect::<Vec<V>>())
}

pub(crate) fn strs(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<String>>> {
    let c = df.column(name)?.cast(&DataType::String)?;
    Ok(c.str()?.iter().map(|v| v.map(str::to_owned)).collect())
}
pub(crate) fn req_strs(df: &DataFrame, name: &str) -> PolarsResult<Vec<String>> {
    Ok(strs(df, name)?
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect())
}
pub(crate) fn f64s(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<f64>>> {
    let c = df.column(name)?.cast(&DataType::Float64)?;
    Ok(c.f64()?.iter().collect())
}
pub(crate) fn i64s(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<i64>>> {
    let c = df.column(name)?.cast(&DataType::Int64)?;
    Ok(c.i64()?.iter().collect())
}
pub(crate) fn u64s(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<u64>>> {
    let c = df.column(name)?.cast(&DataType::UInt64)?;
    Ok(c.u64()?.iter().collect())
}
pub(crate) fn dates(df: &DataFrame, name: &str) -> PolarsResult<Vec<i32>> {
    let c = df.column(name)?.cast(&DataType::Int32)?;
    Ok(c.i32()?.iter().map(Option::unwrap_or_default).collect())
}
pub(crate) fn bools(df: &DataFrame, name: &str) -> PolarsResult<Vec<bool>> {
    let c = df.column(name)?.cast(&DataType::Boolean)?;
    Ok(c.bool()?.iter().map(Option::unwrap_or_default).collect())
}
fn date_col(name: &str, v: Vec<i32>) -> PolarsResult<Column> {
    Column::new(name.into(), v).cast(&DataType::Date)
}
pub(crate) fn missing(what: &str) -> PolarsError {
    PolarsError::ComputeError(format!("stored table holds an invalid value: {what}").into())
}

impl Event {
    /// A one-day event at a point, exactly located, with no actors, admin names, civilian
    /// fatality count, publication time or link: the base that fixtures and synthetic
    /// generators complete with struct-update syntax.
    pub fn at(
        source: &str,
        source_id: &str,
        day: i32,
        (lat, lon): (f64, f64),
        cell: Option<u64>,
        category: Category,
        fatalities: i64,
    ) -> Event {
        Event {
            source: source_name(source),
            source_id: source_id.into(),
            date_start: day,
            date_end: day,
            published_at: None,
            lat,
            lon,
            cell,
            precision: Precision::Exact,
            category,
            civilian_targeted: category == Category::CivilianHarm,
            fatalities,
            civilian_fatalities: None,
            actor1: String::new(),
            actor2: String::new(),
            admin1: String::new(),
            admin2: String::new(),
            duplicate_of: None,
        }
    }
}

/// Frame columns gathered in one pass over `rows` (a pass per column would read every row
/// once per column): `one_pass!(rows, r, [name: value of r, ...])` gives one column per
/// name, in order, named after it.
macro_rules! one_pass {
    ($rows:expr, $r:ident, [$($name:ident : $value:expr),+ $(,)?]) => {{
        let rows = $rows;
        $(let mut $name = Vec::with_capacity(rows.len());)+
        for $r in rows {
            $($name.push($value);)+
        }
        vec![$($crate::model::rows::IntoColumn::into_column($name, stringify!($name))),+]
    }};
}
pub(crate) use one_pass;

/// A gathered vector made a frame column: vectors of plain numbers are moved into the
/// column as they are (`Column::new` copied them: 9 % of a daily range's CPU went to such
/// copies and to the lists of pieces behind an unzip), the others converted as
/// `Column::new` does.
pub(crate) trait IntoColumn {
    fn into_column(self, name: &str) -> Column;
}

macro_rules! moved_into_column {
    ($($native:ty => $chunked:ty),+ $(,)?) => {$(
        impl IntoColumn for Vec<$native> {
            fn into_column(self, name: &str) -> Column {
                Column::from(<$chunked>::from_vec(name.into(), self).into_series())
            }
        }
    )+};
}
moved_into_column!(f64 => Float64Chunked, i64 => Int64Chunked, u64 => UInt64Chunked,
    i32 => Int32Chunked, u32 => UInt32Chunked, f32 => Float32Chunked);

macro_rules! converted_into_column {
    ($($t:ty),+ $(,)?) => {$(
        impl IntoColumn for Vec<$t> {
            fn into_column(self, name: &str) -> Column {
                Column::new(name.into(), self)
            }
        }
    )+};
}
converted_into_column!(
    bool,
    Option<f64>,
    Option<i64>,
    Option<u64>,
    Option<i32>,
    Option<bool>,
    &str,
    Option<&str>,
);

/// The first nine columns of the events table.
fn event_columns_head(rows: &[Event]) -> PolarsResult<Vec<Column>> {
    let mut columns = one_pass!(
        rows,
        r,
        [
            source: &*r.source,
            source_id: r.source_id.as_str(),
            date_start: r.date_start,
            date_end: r.date_end,
            published_at: r.published_at,
            lat: r.lat,
            lon: r.lon,
            cell: r.cell,
            precision: r.precision.as_str(),
        ]
    );
    for c in columns.iter_mut().filter(|c| c.name().starts_with("date_")) {
        *c = c.cast(&DataType::Date)?;
    }
    Ok(columns)
}

/// The other nine columns of the events table.
fn event_columns_tail(rows: &[Event]) -> Vec<Column> {
    one_pass!(
        rows,
        r,
        [
            category: r.category.as_str(),
            civilian_targeted: r.civilian_targeted,
            fatalities: r.fatalities,
            civilian_fatalities: r.civilian_fatalities,
            actor1: r.actor1.as_str(),
            actor2: r.actor2.as_str(),
            admin1: r.admin1.as_str(),
            admin2: r.admin2.as_str(),
            duplicate_of: r.duplicate_of.as_deref(),
        ]
    )
}

impl Table for Event {
    const NAME: &'static str = "events";

    fn to_frame(rows: &[Self]) -> PolarsResult<DataFrame> {
        // Half of the columns on another core.
        let (head, tail) = std::thread::scope(|scope| {
            let tail = scope.spawn(|| event_columns_tail(rows));
            (event_columns_head(rows), tail.join())
        });
        let mut columns = head?;
        columns.extend(
            tail.map_err(|_| PolarsError::ComputeError("building the events frame failed".into()))?,
        );
        DataFrame::new_infer_height(columns)
    }

    fn from_frame(df: &DataFrame) -> PolarsResult<Vec<Self>> {
        let source = req_strs(df, "source")?;
        let source_id = req_strs(df, "source_id")?;
        let ds = dates(df, "date_start")?;
        let de = dates(df, "date_end")?;
        let published = i64s(df, "published_at")?;
        let lat = f64s(df, "lat")?;
        let lon = f64s(df, "lon")?;
        let cell = u64s(df, "cell")?;
        let precision = req_strs(df, "precision")?;
        let category = req_strs(df, "category")?;
        let targeted = bools(df, "civilian_targeted")?;
        let fatalities = i64s(df, "fatalities")?;
        let civ = i64s(df, "civilian_fatalities")?;
        let (a1, a2) = (req_strs(df, "actor1")?, req_strs(df, "actor2")?);
        let (ad1, ad2) = (req_strs(df, "admin1")?, req_strs(df, "admin2")?);
        let dup = strs(df, "duplicate_of")?;
        (0..df.height())
            .map(|i| {
                Ok(Event {
                    source: source_name(&source[i]),
                    source_id: source_id[i].clone(),
                    date_start: ds[i],
                    date_end: de[i],
                    published_at: published[i],
                    lat: lat[i].unwrap_or(f64::NAN),
                    lon: lon[i].unwrap_or(f64::NAN),
                    cell: cell[i],
                    precision: Precision::parse(&precision[i])
                        .ok_or_else(|| missing("precision"))?,
                    category: Category::parse(&category[i]).ok_or_else(|| missing("category"))?,
                    civilian_targeted: targeted[i],
                    fatalities: fatalities[i].unwrap_or(0),
                    civilian_fatalities: civ[i],
                    actor1: a1[i].clone(),
                    actor2: a2[i].clone(),
                    admin1: ad1[i].clone(),
                    admin2: ad2[i].clone(),
                    duplicate_of: dup[i].clone(),
                })
            })
            .collect()
    }
}

impl Base {
    /// A stable identifier of the base row (the same in features, tiles and plans): a
    /// digest of its mission, location, position and first day.
    pub fn id(&self) -> String {
        let key = format!(
            "{}|{}|{}|{}|{}",
            self.mission, self.location, self.lat, self.lon, self.valid_from
        );
        crate::model::digest::sha256_hex(key.as_bytes())[..16].to_owned()
    }

    /// A base of `mission` at a point, valid `valid_from..=valid_to`, with `troops`
    /// (infantry when there are troops) and no other unit flags, HQ level or TCC count: the
    /// base that fixtures and generators complete with struct-update syntax.
    pub fn at(
        mission: &str,
        location: &str,
        (lat, lon): (f64, f64),
        cell: u64,
        (valid_from, valid_to): (i32, i32),
        troops: Option<i64>,
    ) -> Base {
        Base {
            mission: mission.into(),
            valid_from,
            valid_to,
            location: location.into(),
            lat,
            lon,
            cell,
            troops,
            infantry: troops.is_some_and(|t| t > 0),
            fpu: false,
            unpol: false,
            observers: false,
            medical: false,
            aviation: false,
            engineering: false,
            reserve: false,
            hq: None,
            tcc_count: None,
            source: String::new(),
        }
    }
}

impl Table for Base {
    const NAME: &'static str = "bases";

    fn to_frame(rows: &[Self]) -> PolarsResult<DataFrame> {
        DataFrame::new_infer_height(vec![
            column("mission", rows, |r| r.mission.as_str()),
            date_col("valid_from", rows.iter().map(|r| r.valid_from).collect())?,
            date_col("valid_to", rows.iter().map(|r| r.valid_to).collect())?,
            column("location", rows, |r| r.location.as_str()),
            column("lat", rows, |r| r.lat),
            column("lon", rows, |r| r.lon),
            column("cell", rows, |r| r.cell),
            column("troops", rows, |r| r.troops),
            column("infantry", rows, |r| r.infantry),
            column("fpu", rows, |r| r.fpu),
            column("unpol", rows, |r| r.unpol),
            column("observers", rows, |r| r.observers),
            column("medical", rows, |r| r.medical),
            column("aviation", rows, |r| r.aviation),
            column("engineering", rows, |r| r.engineering),
            column("reserve", rows, |r| r.reserve),
            column("hq", rows, |r| r.hq),
            column("tcc_count", rows, |r| r.tcc_count),
            column("source", rows, |r| r.source.as_str()),
        ])
    }

    fn from_frame(df: &DataFrame) -> PolarsResult<Vec<Self>> {
        let mission = req_strs(df, "mission")?;
        let (vf, vt) = (dates(df, "valid_from")?, dates(df, "valid_to")?);
        let location = req_strs(df, "location")?;
        let (lat, lon) = (f64s(df, "lat")?, f64s(df, "lon")?);
        let cell = u64s(df, "cell")?;
        let troops = i64s(df, "troops")?;
        let flags: Vec<Vec<bool>> = [
            "infantry",
            "fpu",
            "unpol",
            "observers",
            "medical",
            "aviation",
            "engineering",
            "reserve",
        ]
        .iter()
        .map(|n| bools(df, n))
        .collect::<PolarsResult<_>>()?;
        let hq = i64s(df, "hq")?;
        let tcc = i64s(df, "tcc_count")?;
        let source = req_strs(df, "source")?;
        (0..df.height())
            .map(|i| {
                Ok(Base {
                    mission: mission[i].clone(),
                    valid_from: vf[i],
                    valid_to: vt[i],
                    location: location[i].clone(),
                    lat: lat[i].unwrap_or(f64::NAN),
                    lon: lon[i].unwrap_or(f64::NAN),
                    cell: cell[i].ok_or_else(|| missing("base cell"))?,
                    troops: troops[i],
                    infantry: flags[0][i],
                    fpu: flags[1][i],
                    unpol: flags[2][i],
                    observers: flags[3][i],
                    medical: flags[4][i],
                    aviation: flags[5][i],
                    engineering: flags[6][i],
                    reserve: flags[7][i],
                    hq: hq[i],
                    tcc_count: tcc[i],
                    source: source[i].clone(),
                })
            })
            .collect()
    }
}

impl Table for PopulationCell {
    const NAME: &'static str = "population";

    fn to_frame(rows: &[Self]) -> PolarsResult<DataFrame> {
        DataFrame::new_infer_height(vec![
            column("cell", rows, |r| r.cell),
            column("population", rows, |r| r.population),
        ])
    }

    fn from_frame(df: &DataFrame) -> PolarsResult<Vec<Self>> {
        let cell = u64s(df, "cell")?;
        let pop = f64s(df, "population")?;
        (0..df.height())
            .map(|i| {
                Ok(PopulationCell {
                    cell: cell[i].ok_or_else(|| missing("population cell"))?,
                    population: pop[i].unwrap_or(0.0),
                })
            })
            .collect()
    }
}

impl Table for ClimateValue {
    const NAME: &'static str = "climate";

    fn to_frame(rows: &[Self]) -> PolarsResult<DataFrame> {
        DataFrame::new_infer_height(vec![
            column("cell", rows, |r| r.cell),
            date_col("period", rows.iter().map(|r| r.period).collect())?,
            column("variable", rows, |r| r.variable.as_str()),
            column("value", rows, |r| r.value),
        ])
    }

    fn from_frame(df: &DataFrame) -> PolarsResult<Vec<Self>> {
        let cell = u64s(df, "cell")?;
        let period = dates(df, "period")?;
        let variable = req_strs(df, "variable")?;
        let value = f64s(df, "value")?;
        (0..df.height())
            .map(|i| {
                Ok(ClimateValue {
                    cell: cell[i].ok_or_else(|| missing("climate cell"))?,
                    period: period[i],
                    variable: variable[i].clone(),
                    value: value[i].unwrap_or(f64::NAN),
                })
            })
            .collect()
    }
}

impl Table for IdpSite {
    const NAME: &'static str = "idp_sites";

    fn to_frame(rows: &[Self]) -> PolarsResult<DataFrame> {
        DataFrame::new_infer_height(vec![
            column("site", rows, |r| r.site.as_str()),
            column("lat", rows, |r| r.lat),
            column("lon", rows, |r| r.lon),
            column("cell", rows, |r| r.cell),
            column("population", rows, |r| r.population),
            column("date", rows, |r| r.date).cast(&DataType::Date)?,
        ])
    }

    fn from_frame(df: &DataFrame) -> PolarsResult<Vec<Self>> {
        let site = req_strs(df, "site")?;
        let (lat, lon) = (f64s(df, "lat")?, f64s(df, "lon")?);
        let cell = u64s(df, "cell")?;
        let pop = f64s(df, "population")?;
        let date = i64s(df, "date")?;
        (0..df.height())
            .map(|i| {
                Ok(IdpSite {
                    site: site[i].clone(),
                    lat: lat[i].unwrap_or(f64::NAN),
                    lon: lon[i].unwrap_or(f64::NAN),
                    cell: cell[i].ok_or_else(|| missing("idp cell"))?,
                    population: pop[i].unwrap_or(0.0),
                    date: date[i].and_then(|d| i32::try_from(d).ok()),
                })
            })
            .collect()
    }
}

impl Table for Area {
    const NAME: &'static str = "areas";

    fn to_frame(rows: &[Self]) -> PolarsResult<DataFrame> {
        DataFrame::new_infer_height(vec![
            column("area_id", rows, |r| r.area_id.as_str()),
            column("name", rows, |r| r.name.as_str()),
            column("level", rows, |r| r.level.as_str()),
            column("parent", rows, |r| r.parent.as_deref()),
            column("geometry", rows, |r| r.geometry.as_str()),
        ])
    }

    fn from_frame(df: &DataFrame) -> PolarsResult<Vec<Self>> {
        let id = req_strs(df, "area_id")?;
        let name = req_strs(df, "name")?;
        let level = req_strs(df, "level")?;
        let parent = strs(df, "parent")?;
        let geometry = req_strs(df, "geometry")?;
        Ok((0..df.height())
            .map(|i| Area {
                area_id: id[i].clone(),
                name: name[i].clone(),
                level: level[i].clone(),
                parent: parent[i].clone(),
                geometry: geometry[i].clone(),
            })
            .collect())
    }
}

impl Table for AreaCell {
    const NAME: &'static str = "area_cells";

    fn to_frame(rows: &[Self]) -> PolarsResult<DataFrame> {
        DataFrame::new_infer_height(vec![
            column("area_id", rows, |r| r.area_id.as_str()),
            column("level", rows, |r| r.level.as_str()),
            column("cell", rows, |r| r.cell),
        ])
    }

    fn from_frame(df: &DataFrame) -> PolarsResult<Vec<Self>> {
        let id = req_strs(df, "area_id")?;
        let level = req_strs(df, "level")?;
        let cell = u64s(df, "cell")?;
        (0..df.height())
            .map(|i| {
                Ok(AreaCell {
                    area_id: id[i].clone(),
                    level: level[i].clone(),
                    cell: cell[i].ok_or_else(|| missing("area cell"))?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod idp_tests {
    use super::IdpSite;

    #[test]
    fn a_site_counts_with_its_latest_assessment_known_on_the_day() {
        let site = |name: &str, cell: u64, population: f64, date: Option<i32>| IdpSite {
            site: name.into(),
            lat: 0.0,
            lon: 0.0,
            cell,
            population,
            date,
        };
        let sites = [
            site("A", 1, 100.0, Some(10)),
            site("A", 1, 300.0, Some(20)),
            site("A", 1, 900.0, Some(30)),
            site("A", 2, 50.0, Some(5)),
            site("B", 1, 70.0, None),
        ];
        let on = |d: i32| -> Vec<(String, u64, f64)> {
            IdpSite::known_on(&sites, d)
                .into_iter()
                .map(|s| (s.site.clone(), s.cell, s.population))
                .collect()
        };
        assert_eq!(
            on(25),
            [
                ("A".into(), 1, 300.0),
                ("A".into(), 2, 50.0),
                ("B".into(), 1, 70.0)
            ]
        );
        assert_eq!(on(4), [("B".into(), 1, 70.0)], "undated lists always count");
        assert_eq!(on(30)[0].2, 900.0);
    }
}
