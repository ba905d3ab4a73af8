//! What a file holds: the kinds `vigil ingest` reads, with their names and attributions.

use super::IngestError;
use std::fmt;
use std::str::FromStr;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// ACLED export CSV (current, 2019–2023 and UPPERCASE layouts).
    Acled,
    /// UCDP GED: CSV (49 columns; headerless files accepted) or GeoJSON.
    Ucdp,
    /// UCDP Candidate (monthly, preliminary): same layouts; superseded by GED where GED covers.
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

impl Kind {
    /// Every kind, for messages.
    pub const ALL: [Kind; 9] = [
        Kind::Acled,
        Kind::Ucdp,
        Kind::UcdpCandidate,
        Kind::Geopko,
        Kind::Population,
        Kind::Climate,
        Kind::Areas,
        Kind::Idp,
        Kind::Incidents,
    ];

    /// The kind's name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Acled => "acled",
            Kind::Ucdp => "ucdp",
            Kind::UcdpCandidate => "ucdp-candidate",
            Kind::Geopko => "geopko",
            Kind::Population => "population",
            Kind::Climate => "climate",
            Kind::Areas => "areas",
            Kind::Idp => "idp",
            Kind::Incidents => "incidents",
        }
    }

    /// The attribution that outputs carrying this source's data must show.
    pub fn attribution(self) -> &'static str {
        match self {
            Kind::Acled => "Armed Conflict Location & Event Data (ACLED), acleddata.com; not for redistribution",
            Kind::Ucdp => "UCDP Georeferenced Event Dataset, CC BY 4.0; Davies, Pettersson & Öberg (2023); Sundberg & Melander (2013)",
            Kind::UcdpCandidate => "UCDP Candidate Events Dataset, CC BY 4.0; Hegre et al. (2020)",
            Kind::Geopko => "Geo-PKO; Cil, Fjelde, Hultman & Nilsson (2020), Mapping blue helmets, JPR 57(2)",
            Kind::Population => "Population estimates as provided by the loaded file",
            Kind::Climate => "Climate series as provided by the loaded file",
            Kind::Areas => "Boundaries as provided by the loaded file (geoBoundaries: CC BY 3.0 IGO)",
            Kind::Idp => "IDP site list as provided by the loaded file (IOM DTM)",
            Kind::Incidents => "Mission incident log as provided by the loaded file",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = IngestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| IngestError::UnknownKind {
                kind: s.to_owned(),
                expected: Kind::ALL.map(Kind::as_str).join(", "),
            })
    }
}
