//! Alert episodes: a group of neighbouring cells that entered high or critical risk (or
//! became coverage gaps) on the same day, followed while it lasts, and the log the store
//! keeps of them so that an update run after a crash neither repeats nor loses one.

use serde::{Deserialize, Serialize};

/// What an episode is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EpisodeKind {
    /// Cells at high or critical risk.
    Risk,
    /// Coverage gaps: high-risk cells no base reaches (deployment-sensitive).
    Gap,
}

impl EpisodeKind {
    /// The name used in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            EpisodeKind::Risk => "risk",
            EpisodeKind::Gap => "gap",
        }
    }

    /// Whether the episode says where peacekeepers are not (only for cleared readers).
    pub fn is_deployment_sensitive(self) -> bool {
        self == EpisodeKind::Gap
    }
}

/// What happened to an episode in one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// It began.
    New,
    /// It grew: cells joined it.
    Updated,
    /// Its cells fell back (or became covered).
    Closed,
}

impl Change {
    /// The name used in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::New => "new",
            Change::Updated => "updated",
            Change::Closed => "closed",
        }
    }
}

/// The nearest base to an episode (deployment-sensitive).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NearestBase {
    /// The base's location name.
    pub name: String,
    /// Great-circle distance from the base to the episode's centre, km.
    pub km: f64,
    /// Compass direction from the base to the episode's centre (`N`, `NE`, …).
    pub direction: String,
}

/// One event that drove an episode: recorded in its cells in the 30 days before the
/// version's day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Driver {
    /// The event's source (`acled`, `ucdp`, `incidents`…).
    pub source: String,
    /// Its identifier in that source.
    pub id: String,
    /// Its (last) day, `YYYY-MM-DD`.
    pub date: String,
    /// Its category (`civilian_harm`, `armed_clash`…).
    pub category: String,
    /// Fatalities.
    pub fatalities: i64,
    /// Civilian fatalities, when the source says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub civilian_fatalities: Option<i64>,
}

/// One episode as of its latest version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    /// Stable identifier: `{kind}-{opened as YYYYMMDD}-{n}`.
    pub id: String,
    /// Risk or gap.
    pub kind: EpisodeKind,
    /// Version: 1 when it began, one more for every message after.
    pub version: u32,
    /// The last message's change.
    pub change: Change,
    /// Day it began (`YYYY-MM-DD`).
    pub opened: String,
    /// Day of the latest version.
    pub updated: String,
    /// The day of each version, oldest first (a CAP update references the ones before).
    #[serde(default)]
    pub dates: Vec<String>,
    /// Day it closed, once closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<String>,
    /// The episode it merged into, when it closed because its cells joined an older one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
    /// Its cells as of this version (sorted; on a close, the cells it had before).
    pub cells: Vec<u64>,
    /// Its cells on the last day computed (sorted): what the next day's groups are matched
    /// with. Cells that leave change this, not the version.
    #[serde(default)]
    pub tracked: Vec<u64>,
    /// Names of the areas its cells lie in, most cells first.
    pub areas: Vec<String>,
    /// Missions whose area holds its cells (deployment-sensitive).
    pub missions: Vec<String>,
    /// Mean centre of its cells, latitude.
    pub lat: f64,
    /// Mean centre of its cells, longitude.
    pub lon: f64,
    /// Highest risk of its cells.
    pub peak_risk: f64,
    /// Mean risk of its cells.
    pub mean_risk: f64,
    /// Highest tier of its cells.
    pub tier: String,
    /// The cell of the highest risk (the explanation's link).
    pub peak_cell: u64,
    /// Highest probability of harm of its cells, when the store is calibrated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// People living in its cells, when population is loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub people: Option<f64>,
    /// Events of the scoring window in its cells.
    pub events: i64,
    /// Civilian fatalities of the last 30 days in its cells.
    pub civilian_fatalities_30d: i64,
    /// The nearest base to its centre (deployment-sensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nearest_base: Option<NearestBase>,
    /// The events that drove it: up to five in its cells in the 30 days before its day,
    /// civilian harm and the deadliest first.
    #[serde(default)]
    pub drivers: Vec<Driver>,
}

impl Episode {
    /// Whether it is still open.
    pub fn is_open(&self) -> bool {
        self.closed.is_none()
    }

    /// The key a receiver deduplicates on: one per episode version.
    pub fn delivery_id(&self) -> String {
        format!("{}.v{}", self.id, self.version)
    }
}

/// One message waiting for a destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The destination's name (`[[alerts.webhooks]] name`).
    pub destination: String,
    /// The episode.
    pub episode: String,
    /// The episode's version.
    pub version: u32,
}

/// What the store keeps of alerts: the episodes (open ones, and closed ones for a while),
/// the last day whose alerts are computed, and the outbox of messages not yet delivered.
/// Written with the manifest, so a change of episodes and its messages commit together.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertLog {
    /// Whether `vigil update` started the log (from the snapshots there were then).
    #[serde(default)]
    pub started: bool,
    /// The last snapshot day whose alerts are computed (`YYYY-MM-DD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub through: Option<String>,
    /// Episodes begun so far (numbers the next one).
    #[serde(default)]
    pub begun: u64,
    /// Open episodes and those closed within `alerts.keep_closed_days`, by identifier.
    #[serde(default)]
    pub episodes: Vec<Episode>,
    /// Messages not yet delivered: one per destination and episode version.
    #[serde(default)]
    pub outbox: Vec<Pending>,
}

impl AlertLog {
    /// Whether nothing was ever recorded.
    pub fn is_empty(&self) -> bool {
        *self == AlertLog::default()
    }

    /// The episode `id`.
    pub fn episode(&self, id: &str) -> Option<&Episode> {
        self.episodes.iter().find(|e| e.id == id)
    }
}

/// The compass point (8 directions) of a bearing in degrees clockwise from north.
pub fn compass(bearing_deg: f64) -> &'static str {
    const POINTS: [&str; 8] = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"];
    let b = bearing_deg.rem_euclid(360.0);
    POINTS[((b + 22.5) / 45.0) as usize % 8]
}

/// The long name of a compass point (`NE` → `north-east`).
pub fn compass_words(point: &str) -> &'static str {
    match point {
        "N" => "north",
        "NE" => "north-east",
        "E" => "east",
        "SE" => "south-east",
        "S" => "south",
        "SW" => "south-west",
        "W" => "west",
        "NW" => "north-west",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearings_round_to_the_nearest_compass_point() {
        assert_eq!(compass(0.0), "N");
        assert_eq!(compass(22.4), "N");
        assert_eq!(compass(22.6), "NE");
        assert_eq!(compass(45.0), "NE");
        assert_eq!(compass(180.0), "S");
        assert_eq!(compass(-45.0), "NW");
        assert_eq!(compass(359.0), "N");
        assert_eq!(compass_words(compass(50.0)), "north-east");
    }
}
