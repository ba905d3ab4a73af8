//! ACLED export CSV: the current 31-column layout, the 2019–2023 layout and the old
//! UPPERCASE layout (columns are found by name, case-insensitively).

use super::csvsource::{Col, CsvSource, Row};
use super::{check_coordinates, IngestError, Parsed, Reject};
use crate::grid::cell_of;
use crate::model::day::parse_flexible_date;
use crate::model::rows::{Category, Event, Precision};
use h3o::Resolution;

const REQUIRED: [&str; 6] = [
    "event_id_cnty",
    "event_date",
    "event_type",
    "latitude",
    "longitude",
    "fatalities",
];

/// Maps ACLED's event type (current or pre-2018), sub-event type and civilian-targeting flag
/// to the canonical category.
pub fn categorise(event_type: &str, civilian_targeting: bool) -> Category {
    // Case-insensitive prefixes, compared in place (a lowercased copy per row costs an
    // allocation per event).
    let is = |prefix: &str| {
        event_type
            .as_bytes()
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
    };
    if is("violence against civilians") || civilian_targeting {
        Category::CivilianHarm
    } else if is("battle") {
        Category::ArmedClash
    } else if is("explosions") || is("remote violence") {
        Category::RemoteViolence
    } else if is("riots") || is("protests") {
        // Mob violence counts as civilian harm only when ACLED flags civilian targeting.
        Category::Unrest
    } else {
        Category::Other
    }
}

fn precision(geo_precision: &str) -> Precision {
    match geo_precision.trim() {
        "1" => Precision::Exact,
        "2" => Precision::Near,
        _ => Precision::Region,
    }
}

/// The columns an event is built from, resolved once per file.
struct Cols<'n> {
    id: Col<'n>,
    date: Col<'n>,
    event_type: Col<'n>,
    lat: Col<'n>,
    lon: Col<'n>,
    fatalities: Col<'n>,
    targeting: Col<'n>,
    timestamp: Col<'n>,
    geo_precision: Col<'n>,
    actor1: Col<'n>,
    actor2: Col<'n>,
    admin1: Col<'n>,
    admin2: Col<'n>,
}

impl Cols<'static> {
    fn new(src: &CsvSource<'_>) -> Self {
        Self {
            id: src.col("event_id_cnty"),
            date: src.col("event_date"),
            event_type: src.col("event_type"),
            lat: src.col("latitude"),
            lon: src.col("longitude"),
            fatalities: src.col("fatalities"),
            targeting: src.col("civilian_targeting"),
            timestamp: src.col("timestamp"),
            geo_precision: src.col("geo_precision"),
            actor1: src.col("actor1"),
            actor2: src.col("actor2"),
            admin1: src.col("admin1"),
            admin2: src.col("admin2"),
        }
    }
}

/// The `source` of ACLED events.
pub const SOURCE: &str = "acled";

fn event(row: &Row<'_>, c: &Cols<'_>, res: Resolution) -> Result<Event, Reject> {
    let source_id = row.req(c.id)?.to_owned();
    let raw_date = row.req(c.date)?;
    let date = parse_flexible_date(raw_date)
        .ok_or_else(|| row.reject("event_date", "unreadable date", raw_date.to_owned()))?;
    let date = row.plausible_day("event_date", date)?;
    let event_type = row.req(c.event_type)?;
    let (lat, lon) = check_coordinates(row, c.lat, c.lon)?;
    let fatalities = row.opt_deaths(c.fatalities)?.unwrap_or(0);
    let targeting = !row.get(c.targeting).is_empty();
    let category = categorise(event_type, targeting);
    let published_at = match row.opt_i64(c.timestamp)? {
        Some(t) if t > 0 => Some(t),
        _ => None,
    };
    let cell = cell_of(lat, lon, res)
        .map_err(|e| row.reject("latitude", "invalid coordinates", e.to_string()))?;
    let civilian_targeted = category == Category::CivilianHarm;
    Ok(Event {
        source: SOURCE.into(),
        source_id,
        date_start: date,
        date_end: date,
        published_at,
        lat,
        lon,
        cell: Some(u64::from(cell)),
        precision: precision(row.get(c.geo_precision)),
        category,
        civilian_targeted,
        fatalities,
        // In violence against civilians, ACLED's fatalities are the civilians killed.
        civilian_fatalities: civilian_targeted.then_some(fatalities),
        actor1: row.get(c.actor1).to_owned(),
        actor2: row.get(c.actor2).to_owned(),
        admin1: row.get(c.admin1).to_owned(),
        admin2: row.get(c.admin2).to_owned(),
        duplicate_of: None,
    })
}

/// Reads an ACLED CSV.
pub fn read(file: &str, bytes: &[u8], res: Resolution) -> Result<Parsed<Event>, IngestError> {
    let mut src = CsvSource::new(file, bytes, "event_id_cnty", None)?;
    src.require(&REQUIRED)?;
    let cols = Cols::new(&src);
    let t = std::time::Instant::now();
    let parsed = src.read_all("acled", bytes.len(), |row| event(row, &cols, res));
    tracing::debug!(
        ms = t.elapsed().as_millis(),
        rows = parsed.rows_read,
        "acled parsed"
    );
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "event_id_cnty,event_date,year,time_precision,disorder_type,event_type,sub_event_type,actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,interaction,civilian_targeting,iso,region,country,admin1,admin2,admin3,location,latitude,longitude,geo_precision,source,source_scale,notes,fatalities,tags,timestamp";

    #[test]
    fn current_layout_with_bom_and_quoted_notes() {
        let csv = format!(
            "\u{feff}{HEADER}\nXYZ1,16 May 2025,2025,1,Political violence,Violence against civilians,Attack,Militia A,,Identity militia,Civilians (X),,Civilians,Identity militia-Civilians,Civilian targeting,140,Middle Africa,Xland,Prov,Dist,Sub,Town,6.5,21.0,1,Radio,National,\"Notes, with \"\"quotes\"\"\nand a newline\",3,,1747400000\n"
        );
        let p = read("t.csv", csv.as_bytes(), Resolution::Seven).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.rejects, vec![]);
        let e = &p.rows[0];
        assert_eq!(e.category, Category::CivilianHarm);
        assert_eq!(e.civilian_fatalities, Some(3));
        assert_eq!(e.published_at, Some(1_747_400_000));
        assert_eq!(crate::model::day::format_date(e.date_start), "2025-05-16");
    }

    #[test]
    fn event_types_are_matched_by_prefix_in_any_case() {
        let cases = [
            ("Violence against civilians", false, Category::CivilianHarm),
            ("VIOLENCE AGAINST CIVILIANS", false, Category::CivilianHarm),
            ("Battles", false, Category::ArmedClash),
            ("Battle-No change of territory", false, Category::ArmedClash),
            (
                "Explosions/Remote violence",
                false,
                Category::RemoteViolence,
            ),
            ("Remote violence", false, Category::RemoteViolence),
            ("Riots", false, Category::Unrest),
            ("PROTESTS", true, Category::CivilianHarm),
            ("Strategic developments", false, Category::Other),
            ("Batt", false, Category::Other),
            ("", false, Category::Other),
            ("Bättle", false, Category::Other),
        ];
        for (event_type, targeting, want) in cases {
            assert_eq!(categorise(event_type, targeting), want, "{event_type}");
        }
    }

    #[test]
    fn old_uppercase_layout() {
        let csv = "EVENT_ID_CNTY,EVENT_DATE,EVENT_TYPE,ACTOR1,ACTOR2,LATITUDE,LONGITUDE,GEO_PRECISION,FATALITIES\nCAR1,18/04/2001,Battle-No change of territory,A,B,6.5,21.0,2,4\nCAR2,19/04/2001,Remote violence,A,,6.5,21.0,3,0\n";
        let p =
            read("old.csv", csv.as_bytes(), Resolution::Seven).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.rows[0].category, Category::ArmedClash);
        assert_eq!(p.rows[0].precision, Precision::Near);
        assert_eq!(p.rows[1].category, Category::RemoteViolence);
        assert_eq!(p.rows[1].precision, Precision::Region);
    }

    #[test]
    fn bad_rows_are_rejected_with_line_and_column() {
        let csv = "event_id_cnty,event_date,event_type,latitude,longitude,fatalities\nA,2020-01-01,Battles,6.5,21,0\nB,2020-01-02,Battles,abc,21,0\nC,someday,Battles,6.5,21,0\nD,2020-01-02,Battles,6.5\n";
        let p =
            read("bad.csv", csv.as_bytes(), Resolution::Seven).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.rows.len(), 1);
        let text: Vec<String> = p.rejects.iter().map(ToString::to_string).collect();
        assert_eq!(text[0], "line 3, column `latitude`: not a number (abc)");
        assert_eq!(
            text[1],
            "line 4, column `event_date`: unreadable date (someday)"
        );
        assert!(
            text[2].starts_with("line 5: wrong number of fields"),
            "{}",
            text[2]
        );
    }

    #[test]
    fn missing_column_names_file_and_column() {
        let csv = "event_id_cnty,event_date,latitude,longitude,fatalities\n";
        let err = read("x.csv", csv.as_bytes(), Resolution::Seven).err();
        assert_eq!(
            err.map(|e| e.to_string()).unwrap_or_default(),
            "x.csv:1: missing required column `event_type`"
        );
    }

    #[test]
    fn layout_2019_2023_with_numeric_interaction_codes() {
        let csv = "data_id,iso,event_id_cnty,event_id_no_cnty,event_date,year,time_precision,event_type,sub_event_type,actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,interaction,region,country,admin1,admin2,admin3,location,latitude,longitude,geo_precision,source,source_scale,notes,fatalities,timestamp,iso3\n\
7001,140,CAF100,100,16-Feb-19,2019,1,Violence against civilians,Attack,Militia,,4,Civilians,,7,47,Middle Africa,CAR,P,D,,T,6.5,21.0,1,S,National,n,2,1550000000,CAF\n\
7002,140,CAF101,101,29-September-2018,2018,1,Riots,Mob violence,Rioters,,5,Civilians,,7,57,Middle Africa,CAR,P,D,,T,6.5,21.0,2,S,National,n,0,1540000000,CAF\n";
        let p =
            read("old.csv", csv.as_bytes(), Resolution::Seven).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.rejects, vec![]);
        assert_eq!(p.rows[0].category, Category::CivilianHarm);
        assert_eq!(
            crate::model::day::format_date(p.rows[0].date_start),
            "2019-02-16"
        );
        assert_eq!(p.rows[1].category, Category::Unrest);
        assert_eq!(
            crate::model::day::format_date(p.rows[1].date_start),
            "2018-09-29"
        );
    }
}
