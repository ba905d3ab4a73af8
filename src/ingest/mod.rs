//! Ingest: one reader per source format, each producing canonical rows plus the rows it
//! rejected; [`ingest_file`] validates the reject share, merges with what is stored and
//! publishes atomically.

pub mod acled;
pub mod areas;
pub mod climate;
mod csvrow;
pub mod csvsource;
pub mod geopko;
pub mod idp;
pub mod incidents;
pub mod population;
pub mod raster;
pub mod ucdp;

mod error;
mod kind;
mod merge;
mod reject;
mod tables;

pub use error::IngestError;
pub use kind::Kind;
pub use merge::{link_cross_source, merge_events, supersede_candidates, Merged};
pub use reject::{check_coordinates, Parsed, Reject};

use crate::config::Config;
use crate::model::digest::sha256_hex;
use crate::store::{IngestRecord, Store};
use reject::write_rejects;
use std::path::Path;
use tables::{
    areas_tables, bases_tables, climate_tables, events_tables, idp_tables, population_tables,
    Tables,
};

/// Per-file options of `vigil ingest`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IngestOptions {
    /// Areas: the level of every area in the file.
    pub level: Option<String>,
    /// Areas: the property holding the name.
    pub name_field: Option<String>,
    /// Climate rasters: the month the file holds (`YYYY-MM`); default: from the file name
    /// (`chirps-v2.0.2023.07.tif`).
    pub period: Option<String>,
    /// Climate rasters: the variable the file holds; default `precip_mm`.
    pub variable: Option<String>,
    /// Population rasters: people per pixel (default) or per km².
    pub units: population::Units,
}

/// The bytes of an input file: memory-mapped when large (no copy of a 450 MB export),
/// read otherwise.
enum Input {
    Mapped(memmap2::Mmap),
    Read(Vec<u8>),
}

impl std::ops::Deref for Input {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Input::Mapped(m) => m,
            Input::Read(v) => v,
        }
    }
}

fn read_input(path: &Path) -> std::io::Result<Input> {
    let file = std::fs::File::open(path)?;
    if file.metadata()?.len() < (16 << 20) {
        return std::fs::read(path).map(Input::Read);
    }
    // The one unsafe block of the crate.
    // SAFETY: the map is only read, while this function's caller holds it; a file truncated
    // by another process meanwhile is the one way to fault, as with any mmap reader.
    #[allow(
        unsafe_code,
        reason = "memory-mapping a large input file is unsafe by nature"
    )]
    let mapped = unsafe { memmap2::Mmap::map(&file) };
    mapped.map(Input::Mapped)
}

/// The cells a density raster fills: the store's area cells, if any are loaded.
fn density_grid(store: &Store, units: population::Units) -> Result<Option<Vec<u64>>, IngestError> {
    if units != population::Units::PerKm2 {
        return Ok(None);
    }
    let mut cells: Vec<u64> = store
        .read::<crate::model::rows::AreaCell>()?
        .into_iter()
        .map(|a| a.cell)
        .collect();
    cells.sort_unstable();
    cells.dedup();
    Ok((!cells.is_empty()).then_some(cells))
}

/// What a reader made of a file, before it is merged with the store.
enum Read {
    Events(Parsed<crate::model::rows::Event>),
    Bases(Parsed<geopko::RawBase>),
    Population(Parsed<crate::model::rows::PopulationCell>),
    Climate(Parsed<crate::model::rows::ClimateValue>),
    Idp(Parsed<crate::model::rows::IdpSite>),
    Areas(areas::ParsedAreas),
}

/// Reads `bytes` (the content of `file`) as `kind`.
fn read_kind(
    store: &Store,
    config: &Config,
    kind: Kind,
    file: &str,
    bytes: &[u8],
    res: h3o::Resolution,
    opts: &IngestOptions,
) -> Result<Read, IngestError> {
    Ok(match kind {
        Kind::Acled => Read::Events(acled::read(file, bytes, res)?),
        Kind::Ucdp => Read::Events(ucdp::read(file, bytes, res, ucdp::GED)?),
        Kind::UcdpCandidate => Read::Events(ucdp::read(file, bytes, res, ucdp::CANDIDATE)?),
        Kind::Incidents => {
            Read::Events(incidents::read(file, bytes, res, &config.ingest.incidents)?)
        }
        Kind::Geopko => Read::Bases(geopko::read(file, bytes, res)?),
        Kind::Population => {
            let grid = density_grid(store, opts.units)?;
            Read::Population(population::read(
                file,
                bytes,
                res,
                opts.units,
                grid.as_deref(),
            )?)
        }
        Kind::Climate => Read::Climate(climate::read(file, bytes, res, opts)?),
        Kind::Idp => Read::Idp(idp::read(file, bytes, res, &config.ingest.idp)?),
        Kind::Areas => {
            let area_opts = areas::AreaOptions {
                level: opts.level.clone(),
                name_field: opts.name_field.clone(),
                max_cells: config.grid.max_cells,
                max_field_bytes: config.ingest.max_field_bytes,
            };
            Read::Areas(areas::read(file, bytes, res, &area_opts)?)
        }
    })
}

impl Read {
    /// The rows merged with the store's, as the frames to publish, and the rejects.
    fn into_tables(
        self,
        store: &Store,
        config: &Config,
        record: &mut IngestRecord,
    ) -> Result<Tables, IngestError> {
        match self {
            Read::Events(parsed) => events_tables(store, config, parsed, record),
            Read::Bases(parsed) => bases_tables(store, config, parsed, record),
            Read::Population(parsed) => population_tables(store, parsed, record),
            Read::Climate(parsed) => climate_tables(store, parsed, record),
            Read::Idp(parsed) => idp_tables(store, parsed, record),
            Read::Areas(parsed) => areas_tables(store, parsed, record),
        }
    }
}

/// Reads `path` as `kind`, validates, merges with the store and publishes.
pub fn ingest_file(
    store: &mut Store,
    config: &Config,
    kind: Kind,
    path: &Path,
    opts: &IngestOptions,
) -> Result<IngestRecord, IngestError> {
    let started = std::time::Instant::now();
    let file = path.display().to_string();
    let bytes = read_input(path).map_err(|source| IngestError::Io {
        file: file.clone(),
        source,
    })?;
    let bytes: &[u8] = &bytes;
    let res = crate::grid::resolution(config.grid.resolution)?;
    let _span = tracing::info_span!("ingest", kind = %kind, file = %file).entered();
    let mut record = IngestRecord {
        kind: kind.as_str().to_owned(),
        file: file.clone(),
        attribution: kind.attribution().to_owned(),
        ..IngestRecord::default()
    };
    // The file is parsed on every core; its hash (for the manifest) is computed on another
    // core once it is parsed, while the rows are merged and framed.
    let limits = csvsource::Limits::of(config);
    let (sha, parsed) = std::thread::scope(|scope| {
        let parsed = csvsource::with_limits(limits, || -> Result<_, IngestError> {
            let read = read_kind(store, config, kind, &file, bytes, res, opts)?;
            let hashing = scope.spawn(|| sha256_hex(bytes));
            Ok((hashing, read.into_tables(store, config, &mut record)?))
        });
        match parsed {
            Ok((hashing, tables)) => (
                hashing.join().unwrap_or_else(|_| sha256_hex(bytes)),
                Ok(tables),
            ),
            Err(e) => (String::new(), Err(e)),
        }
    });
    let (tables, rejects) = parsed?;
    tracing::debug!(
        ms = started.elapsed().as_millis(),
        "parsed, merged and framed"
    );
    record.sha256 = sha.clone();
    record.rejected = rejects.iter().map(|r| r.lines as usize).sum();
    for r in &rejects {
        *record
            .rejects_by_reason
            .entry(r.reason.to_owned())
            .or_default() += r.lines as usize;
    }
    if !rejects.is_empty() {
        let rel = format!("rejects/{}-{}.csv", kind.as_str(), &sha[..16]);
        write_rejects(&store.root().join(&rel), &file, &rejects)?;
        // A bucket gets the report too, before any commit names it.
        store.upload(&rel)?;
        record.rejects_file = Some(rel);
    }
    let share = if record.rows_read == 0 {
        0.0
    } else {
        record.rejected as f64 / record.rows_read as f64
    };
    if share > config.ingest.max_reject_share {
        return Err(IngestError::TooManyRejects {
            file,
            rejected: record.rejected,
            total: record.rows_read,
            share: share * 100.0,
            max: config.ingest.max_reject_share * 100.0,
            first: rejects.first().map(ToString::to_string).unwrap_or_default(),
            rejects_file: store
                .root()
                .join(record.rejects_file.clone().unwrap_or_default())
                .display()
                .to_string(),
        });
    }
    if record.accepted == 0 {
        return Err(IngestError::NothingAccepted {
            file,
            rejected: record.rejected,
        });
    }
    let t = std::time::Instant::now();
    store.publish(tables, Some(record.clone()))?;
    tracing::debug!(ms = t.elapsed().as_millis(), "publish");
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const RES: h3o::Resolution = h3o::Resolution::Seven;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn arbitrary_bytes_never_panic_a_reader(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = acled::read("f", &bytes, RES);
            let _ = ucdp::read("f", &bytes, RES, ucdp::GED);
            let _ = geopko::read("f", &bytes, RES);
            let _ = population::read("f", &bytes, RES, population::Units::People, None);
            let _ = climate::read("f", &bytes, RES, &IngestOptions::default());
            let _ = areas::read("f", &bytes, RES, &areas::AreaOptions::default());
            let _ = idp::read("f", &bytes, RES, &Default::default());
            let _ = incidents::read("f", &bytes, RES, &Default::default());
        }

        #[test]
        fn arbitrary_bytes_behind_a_tiff_header_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut tiff = b"II*\0".to_vec();
            tiff.extend(bytes);
            let _ = population::read("f.tif", &tiff, RES, population::Units::People, None);
            let _ = population::read("f.tif", &tiff, RES, population::Units::PerKm2, None);
            let _ = climate::read("f_2020.01.tif", &tiff, RES, &IngestOptions::default());
            let mut gz = vec![0x1f, 0x8b];
            gz.extend(&tiff[4..]);
            let _ = climate::read("spei_1_1.csv.gz", &gz, RES, &IngestOptions::default());
        }

        #[test]
        fn arbitrary_rows_never_panic_and_every_row_is_accounted_for(
            rows in proptest::collection::vec(proptest::collection::vec("[-0-9a-zA-Z ./:\"]{0,12}", 6), 0..20)
        ) {
            let mut text = String::from("event_id_cnty,event_date,event_type,latitude,longitude,fatalities\n");
            for r in &rows {
                text.push_str(&r.join(","));
                text.push('\n');
            }
            if let Ok(p) = acled::read("f", text.as_bytes(), RES) {
                let rejected: u64 = p.rejects.iter().map(|r| r.lines).sum();
                prop_assert_eq!(p.rows.len() + rejected as usize, p.rows_read);
                for e in &p.rows {
                    prop_assert!((-90.0..=90.0).contains(&e.lat) && (-180.0..=180.0).contains(&e.lon));
                }
            }
        }
    }
}
