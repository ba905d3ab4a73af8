//! The command line's value types: clap enums that mirror the library's, so that the
//! library does not depend on clap (each converts into its library type).

use vigil::analysis::report::ReportFormat;
use vigil::ingest::population::Units;
use vigil::ingest::Kind;
use vigil::output::export::{Format, What};

/// A clap value enum mirroring a library enum variant for variant, with its conversion.
macro_rules! mirror {
    ($(#[$am:meta])* $arg:ident => $lib:ident { $( $(#[$m:meta])* $v:ident ),* $(,)? }) => {
        $(#[$am])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
        pub enum $arg { $( $(#[$m])* $v ),* }

        impl From<$arg> for $lib {
            fn from(a: $arg) -> Self {
                match a { $( $arg::$v => $lib::$v ),* }
            }
        }
    };
}

mirror! {
    /// What a file holds.
    KindArg => Kind {
        /// ACLED export CSV (current, 2019–2023 and UPPERCASE layouts).
        Acled,
        /// UCDP GED: CSV (49 columns; headerless files accepted) or GeoJSON.
        Ucdp,
        /// UCDP Candidate (monthly, preliminary): same layouts; superseded by GED where GED covers.
        #[value(name = "ucdp-candidate")]
        UcdpCandidate,
        /// Geo-PKO deployment CSV: v2.x location maps, v1.x, or the v2.3 FrontMap aggregate.
        Geopko,
        /// `h3,population` CSV at any resolution, or a GeoTIFF of people per pixel or per km² (`--units`).
        Population,
        /// Tidy climate CSV (`lat,lon,date,variable,value` or `h3,…`), a monthly GeoTIFF
        /// (CHIRPS style) or an SPEIbase series `spei_<lon>_<lat>.csv[.gz]`.
        Climate,
        /// Boundaries as GeoJSON (geoBoundaries or any GeoJSON with a name property).
        Areas,
        /// IDP site list CSV (columns named in `[ingest.idp]`).
        Idp,
        /// A mission's own incident log CSV (columns and categories in `[ingest.incidents]`).
        Incidents,
    }
}

mirror! {
    /// What a population raster's pixel counts.
    UnitsArg => Units {
        /// People in the pixel.
        People,
        /// People per km² (density).
        #[value(name = "per-km2")]
        PerKm2,
    }
}

mirror! {
    /// What to export.
    WhatArg => What {
        /// The `events` table (points).
        Events,
        /// The `bases` table (points).
        Bases,
        /// The `population` table (cells).
        Population,
        /// The `areas` table (polygons).
        Areas,
        /// A daily grid snapshot (cells).
        Grid,
        /// A daily grid rolled up to a coarser resolution or an area level (`--level`).
        Rollup,
        /// The vector tiles of a day (risk; gaps and bases unless --risk-only) as one PMTiles
        /// archive, for the web map or QGIS without a server.
        Tiles,
        /// A field kit in the folder --out: the day's GeoPackage (risk, gaps, bases, events,
        /// areas, IDP sites) styled for QGIS, its PMTiles, the grid CSV and a README.
        Kit,
    }
}

mirror! {
    /// Output encoding.
    FormatArg => Format {
        /// Comma-separated values with a header row.
        Csv,
        /// GeoParquet 1.1 (Apache Parquet with a WKB `geometry` column and `geo` metadata).
        Parquet,
        /// RFC 7946 GeoJSON FeatureCollection.
        Geojson,
        /// OGC GeoPackage (SQLite), one layer in EPSG:4326.
        Gpkg,
        /// PMTiles v3 vector tile archive (for `tiles`).
        Pmtiles,
    }
}

mirror! {
    /// How a report is written.
    ReportFormatArg => ReportFormat {
        /// Aligned columns for the terminal.
        Table,
        /// CSV with a header row.
        Csv,
        /// A JSON array of objects.
        Json,
    }
}
