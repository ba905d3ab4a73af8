//! Typed configuration (`vigil.toml`). Every key has a documented default
//! (`docs/configuration.md`); unknown keys are an error.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Errors while reading or validating the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read configuration {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema (including unknown keys).
    #[error("invalid configuration {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the TOML parser said, with line and column.
        message: String,
    },
    /// A value is outside its allowed range.
    #[error("invalid configuration value `{key}`: {reason}")]
    Invalid {
        /// The dotted key.
        key: &'static str,
        /// Why it is refused.
        reason: String,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// H3 grid settings.
    pub grid: GridConfig,
    /// Ingest settings.
    pub ingest: IngestConfig,
    /// Risk-index settings.
    pub score: ScoreConfig,
    /// Coverage and gap settings.
    pub coverage: CoverageConfig,
    /// HTTP server settings.
    pub server: ServerConfig,
    /// Web map settings.
    pub map: MapConfig,
    /// Store maintenance settings.
    pub store: StoreConfig,
    /// What `vigil update` picks up.
    pub update: UpdateConfig,
    /// Alert episodes and where their messages go.
    pub alerts: AlertsConfig,
}

/// `[update]`: the drop folders `vigil update` ingests from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UpdateConfig {
    /// `[[update.sources]]`, ingested in this order. Default none.
    pub sources: Vec<DropSource>,
    /// Files modified less than this many seconds ago are left for the next run (a copy
    /// into the folder may still be under way). Default 10.
    pub settle_secs: u64,
}

impl Default for UpdateConfig {
    fn default() -> Self {
        Self {
            sources: Vec::new(),
            settle_secs: 10,
        }
    }
}

/// `[[update.sources]]`: files of one kind.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DropSource {
    /// What the files hold, as for `vigil ingest` (`acled`, `ucdp`, `incidents`, `geopko`,
    /// `bases`, `areas`, `population`, `climate`, `idp`…).
    pub kind: String,
    /// The files: a path whose last part may hold `*` and `?` (e.g.
    /// `/srv/drop/acled/*.csv`); relative paths are relative to the working folder.
    pub path: String,
    /// Areas only: the level of every area (as `vigil ingest areas --level`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// Areas only: the property holding the name (as `--name-field`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_field: Option<String>,
}

/// `[alerts]`: how alerting cells group into episodes and how messages are delivered.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// Alerting cells whose centres are within this many km join one episode (beyond
    /// touching cells, which always do). Default 0.
    pub join_km: f64,
    /// Closed episodes stay in the feeds this many days. Default 30.
    pub keep_closed_days: u32,
    /// CAP `<sender>`: who the messages are from (no spaces, commas, `<` or `&`). Default
    /// `vigil@localhost`.
    pub sender: String,
    /// CAP `<status>`: `Actual`, `Exercise`, `System`, `Test` or `Draft`. Default `Actual`.
    pub status: String,
    /// An update run spends at most this many seconds delivering; messages not tried by
    /// then wait for the next run. Default 30.
    pub delivery_budget_secs: u64,
    /// Connect, send and answer timeout of one delivery attempt, seconds. Default 5.
    pub timeout_secs: u64,
    /// Attempts per message before it is written to the dead-letter file. Default 5.
    pub max_attempts: u32,
    /// Delay before the first retry, milliseconds; it doubles with every retry, plus a
    /// random jitter of up to as much again. Default 500.
    pub backoff_ms: u64,
    /// `[[alerts.webhooks]]`: where messages are POSTed. Default none.
    pub webhooks: Vec<Webhook>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            join_km: 0.0,
            keep_closed_days: 30,
            sender: "vigil@localhost".into(),
            status: "Actual".into(),
            delivery_budget_secs: 30,
            timeout_secs: 5,
            max_attempts: 5,
            backoff_ms: 500,
            webhooks: Vec::new(),
        }
    }
}

/// `[[alerts.webhooks]]`: one destination and what it subscribes to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    /// Its name (logs, the outbox, the dead-letter file).
    pub name: String,
    /// `http://host:port/path` (plain HTTP: put a TLS relay on the same host for an
    /// `https://` receiver).
    pub url: String,
    /// The shared secret of the HMAC-SHA256 signature (at least 16 characters).
    pub secret: String,
    /// Cleared for deployment-sensitive content: coverage-gap episodes, the nearest base
    /// and the mission. Default false.
    #[serde(default)]
    pub cleared: bool,
    /// Lowest tier of an episode's peak sent (`high` or `critical`). Default `high`.
    #[serde(default = "default_min_tier")]
    pub min_tier: String,
    /// Only episodes touching one of these areas (names as loaded). Default: all.
    #[serde(default)]
    pub areas: Vec<String>,
    /// Only episodes in one of these missions' areas. Default: all.
    #[serde(default)]
    pub missions: Vec<String>,
    /// Only episodes whose highest probability reaches this (a calibrated store; 0: all).
    /// Default 0.
    #[serde(default)]
    pub min_probability: f64,
}

fn default_min_tier() -> String {
    "high".into()
}

/// `[store]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Files a newer manifest no longer names are kept this long, seconds, for readers (a
    /// server) that still hold the older manifest; then the garbage collector (`vigil gc`,
    /// and every writer when it ends) removes them. Default 600.
    pub gc_grace_secs: u64,
    /// Options of the object store of a `--store` URL (`s3://…`, `gs://…`, `az://…`), by the
    /// `object_store` crate's names: `aws_region`, `aws_endpoint_url`, `aws_allow_http`,
    /// `aws_access_key_id`… They win over the environment's `AWS_*` (`GOOGLE_*`, `AZURE_*`)
    /// variables. A name the store's scheme does not know is an error. Default none.
    pub object_options: std::collections::BTreeMap<String, String>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            gc_grace_secs: 600,
            object_options: Default::default(),
        }
    }
}

/// `[grid]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct GridConfig {
    /// Base H3 resolution of every table and snapshot (5–9). Default 7 (≈5.2 km² cells).
    pub resolution: u8,
    /// Most cells one input may produce: an areas file whose polygons would fill more, or
    /// a population file whose coarse cells would spread over more, is refused with the
    /// count before anything is allocated. Default 20000000.
    pub max_cells: u64,
}

impl Default for GridConfig {
    fn default() -> Self {
        Self {
            resolution: 7,
            max_cells: 20_000_000,
        }
    }
}

/// `[ingest]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// A file whose share of rejected rows exceeds this is refused whole. Default 0.05.
    pub max_reject_share: f64,
    /// A Geo-PKO row is valid until the mission's next map, or at most this many days. Default 365.
    pub base_max_validity_days: u32,
    /// ACLED and UCDP events at most this many days apart can be the same incident. Default 1.
    pub duplicate_window_days: u32,
    /// … and at most this far apart, km. Default 5.
    pub duplicate_km: f64,
    /// A raster whose decoded pixels (width × height × 8 bytes: Vigil holds each pixel as a
    /// 64-bit float) would exceed this many bytes is refused before decoding. Default
    /// 4000000000.
    pub max_raster_bytes: u64,
    /// A CSV field or GeoJSON property longer than this many bytes rejects its row or
    /// feature. Default 65536.
    pub max_field_bytes: usize,
    /// Events dated more than this many days after today are rejected (as are events
    /// before 1946). Default 1.
    pub future_days: u32,
    /// Fatalities of one event must be a whole number from 0 to this. Default 100000.
    pub max_fatalities: i64,
    /// Column names of IDP site lists (IOM DTM exports vary by country and round).
    pub idp: IdpColumns,
    /// Column names and category values of a mission's own incident log.
    pub incidents: IncidentColumns,
}

/// `[ingest.idp]`: which columns of an IDP site list hold what.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct IdpColumns {
    /// Site name. Default `site_name`.
    pub site: String,
    /// Latitude. Default `latitude`.
    pub lat: String,
    /// Longitude. Default `longitude`.
    pub lon: String,
    /// Residents (individuals). Default `individuals`.
    pub population: String,
    /// Assessment date; empty when the list has none. Default `date`.
    pub date: String,
}

impl Default for IdpColumns {
    fn default() -> Self {
        Self {
            site: "site_name".into(),
            lat: "latitude".into(),
            lon: "longitude".into(),
            population: "individuals".into(),
            date: "date".into(),
        }
    }
}

/// `[ingest.incidents]`: which columns of an incident log hold what.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentColumns {
    /// Unique incident identifier. Default `id`.
    pub id: String,
    /// Date. Default `date`.
    pub date: String,
    /// Latitude. Default `latitude`.
    pub lat: String,
    /// Longitude. Default `longitude`.
    pub lon: String,
    /// Category. Default `category`.
    pub category: String,
    /// Fatalities; empty when the log has none. Default `fatalities`.
    pub fatalities: String,
    /// Values of the category column mapped to canonical categories (`civilian_harm`,
    /// `armed_clash`, `remote_violence`, `unrest`, `other`); the canonical names map to
    /// themselves. Default: empty.
    pub categories: std::collections::BTreeMap<String, String>,
}

impl Default for IncidentColumns {
    fn default() -> Self {
        Self {
            id: "id".into(),
            date: "date".into(),
            lat: "latitude".into(),
            lon: "longitude".into(),
            category: "category".into(),
            fatalities: "fatalities".into(),
            categories: std::collections::BTreeMap::new(),
        }
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            max_reject_share: 0.05,
            base_max_validity_days: 365,
            duplicate_window_days: 1,
            duplicate_km: 5.0,
            max_raster_bytes: 4_000_000_000,
            max_field_bytes: 65_536,
            future_days: 1,
            max_fatalities: 100_000,
            idp: IdpColumns::default(),
            incidents: IncidentColumns::default(),
        }
    }
}

/// `[score]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ScoreConfig {
    /// Half-life of an event's weight, in days. Default 30.
    pub half_life_days: f64,
    /// Events older than this many days leave the decayed components (their weight is
    /// < 0.02 % by default). Default 365.
    pub window_days: u32,
    /// Radius of the spread component, km. Default 20.
    pub spread_km: f64,
    /// Distance over which a neighbour's signal decays by e in the spread component, km. Default 8.
    pub spread_decay_km: f64,
    /// Radius of the neighbourhood whose recent activity is compared with its own baseline
    /// (escalation), km. Default 10.
    pub escalation_km: f64,
    /// Length of the recent period of the escalation component, days. Default 30.
    pub recent_days: u32,
    /// Length of the baseline period before it, days. Default 365.
    pub baseline_days: u32,
    /// Smoothing of the escalation ratio (events-equivalents added to the recent amount's
    /// denominator, so that one or two events do not read as a surge). Default 2.
    pub escalation_smoothing: f64,
    /// Default reference level of the civilian-harm amount H (used until `vigil normalise`
    /// fixes one on a reference period). Default 1.5.
    pub harm_scale: f64,
    /// Default reference level of the armed-conflict amount C. Default 2.0.
    pub conflict_scale: f64,
    /// Default reference level of the spread amount S. Default 4.0.
    pub spread_scale: f64,
    /// Default reference level of the neighbourhood trend amounts (baseline and escalation). Default 5.0.
    pub trend_scale: f64,
    /// Residents at which the exposure component reaches 1 − 1/e. Default 250.
    pub exposure_scale: f64,
    /// Weights of civilian harm, armed conflict, spread and neighbourhood trend (baseline
    /// and escalation share one weight) in the threat load. Default [0.4, 0.15, 0.25, 0.2].
    pub weights: [f64; 4],
    /// Climate stress multiplies the threat load by (1 + climate_weight × stress). Default 0.25.
    pub climate_weight: f64,
    /// A cell takes the climate value of the nearest climate grid point within this
    /// distance, km. Default 40.
    pub climate_km: f64,
    /// Quantile of the non-zero amounts over the reference period that `vigil normalise`
    /// fixes as each amount's reference level. Default 0.98.
    pub normalisation_quantile: f64,
    /// Lower bounds of the tiers moderate, elevated, high and critical on the risk scale.
    /// Default [0.2, 0.35, 0.5, 0.7].
    pub tier_thresholds: [f64; 4],
    /// Share of the grid's cells put on watch: those of highest forecast probability (a
    /// calibration must be stored). As many cells at most are gaps: the uncovered high or
    /// critical ones, then the uncovered cells of highest probability. 0 turns the watch
    /// off. Default 0.01.
    pub watch_share: f64,
}

impl Default for ScoreConfig {
    fn default() -> Self {
        Self {
            half_life_days: 30.0,
            window_days: 365,
            spread_km: 20.0,
            spread_decay_km: 8.0,
            escalation_km: 10.0,
            recent_days: 30,
            baseline_days: 365,
            escalation_smoothing: 2.0,
            harm_scale: 1.5,
            conflict_scale: 2.0,
            spread_scale: 4.0,
            trend_scale: 5.0,
            exposure_scale: 250.0,
            weights: [0.4, 0.15, 0.25, 0.2],
            climate_weight: 0.25,
            climate_km: 40.0,
            normalisation_quantile: 0.98,
            tier_thresholds: [0.2, 0.35, 0.5, 0.7],
            watch_share: 0.01,
        }
    }
}

/// `[coverage]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CoverageConfig {
    /// Troops at or above which a base is battalion-size. Default 650.
    pub battalion_troops: u32,
    /// Reach of a battalion-size base, km. Default 25.
    pub battalion_radius_km: f64,
    /// Troops at or above which a base is company-size. Default 150.
    pub company_troops: u32,
    /// Reach of a company-size base, km. Default 15.
    pub company_radius_km: f64,
    /// Reach of smaller posts and temporary operating bases, km. Default 10.
    pub post_radius_km: f64,
    /// Reach of police-only posts, km. Default 5.
    pub police_radius_km: f64,
    /// Troops per 1,000 residents below which a high-risk covered cell is under-covered. Default 2.
    pub min_troops_per_1000: f64,
    /// Gaps chosen by the forecast (beyond the high and critical cells) are at least this
    /// far apart, km: a cell within it of a gap already chosen would be answered by the
    /// same place. 0: no spacing. Default 5 (methodology §7).
    pub gap_spacing_km: f64,
    /// A month whose expected rainfall at a base exceeds this many mm is a rainy-season
    /// month for it. Default 200.
    pub rainy_month_mm: f64,
    /// In a rainy-season month a base's reach is multiplied by this factor. Default 0.5.
    pub rainy_reach_factor: f64,
}

impl Default for CoverageConfig {
    fn default() -> Self {
        Self {
            battalion_troops: 650,
            battalion_radius_km: 25.0,
            company_troops: 150,
            company_radius_km: 15.0,
            post_radius_km: 10.0,
            police_radius_km: 5.0,
            min_troops_per_1000: 2.0,
            gap_spacing_km: 5.0,
            rainy_month_mm: 200.0,
            rainy_reach_factor: 0.5,
        }
    }
}

/// `[map]`
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MapConfig {
    /// A MapLibre style URL drawn under Vigil's layers on `/map` (a mission's own tile
    /// server). Empty (the default): no basemap, the loaded areas are the reference layer
    /// and the page asks no host but this server.
    pub basemap: String,
}

/// `[server]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Items per page when `limit` is not given. Default 100.
    pub default_limit: usize,
    /// Largest page; larger `limit` values are clamped to it. Default 10000.
    pub max_limit: usize,
    /// Largest request body (scenarios, plans), bytes. Default 1048576.
    pub body_limit_bytes: usize,
    /// A request taking longer is answered 408. Default 30.
    pub request_timeout_secs: u64,
    /// How often the server looks for a newly published snapshot and swaps to it, seconds
    /// (0: never). Default 10.
    pub reload_secs: u64,
    /// A connection that has not sent a request's headers within this many seconds is
    /// closed (slow-header clients cannot hold connections). Default 10.
    pub header_timeout_secs: u64,
    /// Connections served at once; further ones wait to be accepted. Default 512.
    pub max_connections: usize,
    /// Heavy answers (item pages over 1,000 features, grids) rendered and sent at once;
    /// others wait their turn, so memory stays bounded under many clients. Default 4.
    pub max_heavy_requests: usize,
    /// The URL clients reach the server at, when it differs from what they send in `Host`
    /// (behind a TLS proxy, under a path prefix): e.g. `https://vigil.example.org/vigil`.
    /// Every link, `next`/`prev` page and TileJSON `tiles` URL starts with it. Default
    /// empty: built from the request (see `trust_proxy`).
    pub public_url: String,
    /// Believe a proxy's `Forwarded` (RFC 7239 `proto`, `host`) and `X-Forwarded-Proto`,
    /// `X-Forwarded-Host`, `X-Forwarded-Prefix` headers when building links. Turn on only
    /// when every request comes through a proxy that sets (or strips) them; ignored when
    /// `public_url` is set. Default false.
    pub trust_proxy: bool,
    /// Bearer tokens, stored as the SHA-256 of the token. Default none: the server then
    /// binds loopback only unless started with `--allow-anonymous`.
    pub tokens: Vec<TokenConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            default_limit: 100,
            max_limit: 10_000,
            body_limit_bytes: 1 << 20,
            request_timeout_secs: 30,
            reload_secs: 10,
            header_timeout_secs: 10,
            max_connections: 512,
            max_heavy_requests: 4,
            public_url: String::new(),
            trust_proxy: false,
            tokens: Vec::new(),
        }
    }
}

/// `[[server.tokens]]`: one bearer token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Who holds it (logged, never the token).
    pub name: String,
    /// Lower-case hex SHA-256 of the token (`vigil token` makes one).
    pub sha256: String,
    /// `risk:read`, `deployments:read` (bases, coverage gaps, scenarios, plans) or `admin`.
    pub scopes: Vec<Scope>,
}

/// A scope a token carries and a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Scope {
    /// `risk:read`: the risk grid, events, areas, grids, explanations, alerts, summaries.
    RiskRead,
    /// `deployments:read`: bases, coverage gaps, scenarios, plans.
    DeploymentsRead,
    /// `admin`: everything, and `/metrics`.
    Admin,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 3] = [Scope::RiskRead, Scope::DeploymentsRead, Scope::Admin];

    /// The configuration name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::RiskRead => "risk:read",
            Scope::DeploymentsRead => "deployments:read",
            Scope::Admin => "admin",
        }
    }

    /// The scope of a configuration name.
    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

impl TryFrom<String> for Scope {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Scope::parse(&s)
            .ok_or_else(|| format!("unknown scope `{s}`; use risk:read, deployments:read or admin"))
    }
}

impl From<Scope> for String {
    fn from(s: Scope) -> String {
        s.as_str().to_owned()
    }
}

impl Config {
    /// `[update]` and `[alerts]`: kinds, URLs, secrets, CAP values.
    fn validate_alerts(&self) -> Result<(), ConfigError> {
        let invalid = |key: &'static str, reason: String| Err(ConfigError::Invalid { key, reason });
        // Kinds are checked by `vigil update` (the ingest layer knows them).
        for s in &self.update.sources {
            if s.path.trim().is_empty() {
                return invalid("update.sources.path", "must name files".into());
            }
        }
        let a = &self.alerts;
        if !(a.join_km.is_finite() && (0.0..=100.0).contains(&a.join_km)) {
            return invalid(
                "alerts.join_km",
                format!("must be 0 to 100, got {}", a.join_km),
            );
        }
        if a.sender.is_empty() || a.sender.contains([' ', ',', '<', '&']) {
            return invalid(
                "alerts.sender",
                format!(
                    "must be non-empty without spaces, commas, `<` or `&`; got `{}`",
                    a.sender
                ),
            );
        }
        if !["Actual", "Exercise", "System", "Test", "Draft"].contains(&a.status.as_str()) {
            return invalid(
                "alerts.status",
                format!(
                    "must be Actual, Exercise, System, Test or Draft; got `{}`",
                    a.status
                ),
            );
        }
        if a.max_attempts == 0 || a.timeout_secs == 0 {
            return invalid(
                "alerts.max_attempts",
                "max_attempts and timeout_secs must be at least 1".into(),
            );
        }
        let mut names = std::collections::HashSet::new();
        for w in &a.webhooks {
            if w.name.is_empty() || !names.insert(w.name.as_str()) {
                return invalid(
                    "alerts.webhooks.name",
                    format!("must be non-empty and unique; got `{}`", w.name),
                );
            }
            if crate::model::http_url::HttpUrl::parse(&w.url).is_none() {
                return invalid(
                    "alerts.webhooks.url",
                    format!(
                        "`{}` ({}): expected http://host:port/path; for an https:// receiver \
                         run a TLS relay beside Vigil",
                        w.url, w.name
                    ),
                );
            }
            if w.secret.chars().count() < 16 {
                return invalid(
                    "alerts.webhooks.secret",
                    format!("`{}`: at least 16 characters", w.name),
                );
            }
            if !matches!(w.min_tier.as_str(), "high" | "critical") {
                return invalid(
                    "alerts.webhooks.min_tier",
                    format!("`{}`: high or critical, got `{}`", w.name, w.min_tier),
                );
            }
            if !(0.0..=1.0).contains(&w.min_probability) {
                return invalid(
                    "alerts.webhooks.min_probability",
                    format!("`{}`: 0 to 1, got {}", w.name, w.min_probability),
                );
            }
        }
        Ok(())
    }

    /// Reads `path` when given, else the defaults.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })
    }

    /// Parses and validates TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: PathBuf::from("<text>"),
            message: e.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks ranges that the types cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        fn positive(key: &'static str, v: f64) -> Result<(), ConfigError> {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(ConfigError::Invalid {
                    key,
                    reason: format!("must be a positive number, got {v}"),
                })
            }
        }
        if !(5..=9).contains(&self.grid.resolution) {
            return Err(ConfigError::Invalid {
                key: "grid.resolution",
                reason: format!("must be 5 to 9, got {}", self.grid.resolution),
            });
        }
        let positive_int = |key: &'static str, v: u64| {
            if v == 0 {
                Err(ConfigError::Invalid {
                    key,
                    reason: "must be at least 1".into(),
                })
            } else {
                Ok(())
            }
        };
        positive_int("grid.max_cells", self.grid.max_cells)?;
        let basemap = &self.map.basemap;
        let is_url = basemap.starts_with("http://") || basemap.starts_with("https://");
        if !basemap.is_empty() && !is_url {
            return Err(ConfigError::Invalid {
                key: "map.basemap",
                reason: format!(
                    "must be an http(s) URL of a MapLibre style, or empty; got `{basemap}`"
                ),
            });
        }
        let public = &self.server.public_url;
        if let Some(problem) = public_url_problem(public).filter(|_| !public.is_empty()) {
            return Err(ConfigError::Invalid {
                key: "server.public_url",
                reason: format!("{problem}; got `{public}`"),
            });
        }
        positive_int("ingest.max_raster_bytes", self.ingest.max_raster_bytes)?;
        positive_int("ingest.max_field_bytes", self.ingest.max_field_bytes as u64)?;
        positive_int(
            "ingest.max_fatalities",
            self.ingest.max_fatalities.max(0) as u64,
        )?;
        positive_int(
            "server.header_timeout_secs",
            self.server.header_timeout_secs,
        )?;
        positive_int("server.max_connections", self.server.max_connections as u64)?;
        positive_int(
            "server.max_heavy_requests",
            self.server.max_heavy_requests as u64,
        )?;
        let share = self.ingest.max_reject_share;
        if !(0.0..=1.0).contains(&share) {
            return Err(ConfigError::Invalid {
                key: "ingest.max_reject_share",
                reason: format!("must be between 0 and 1, got {share}"),
            });
        }
        self.validate_alerts()?;
        let s = &self.score;
        positive("score.half_life_days", s.half_life_days)?;
        positive("score.spread_km", s.spread_km)?;
        positive("score.spread_decay_km", s.spread_decay_km)?;
        positive("score.escalation_km", s.escalation_km)?;
        positive("score.escalation_smoothing", s.escalation_smoothing)?;
        positive("score.harm_scale", s.harm_scale)?;
        positive("score.conflict_scale", s.conflict_scale)?;
        positive("score.spread_scale", s.spread_scale)?;
        positive("score.trend_scale", s.trend_scale)?;
        positive("score.exposure_scale", s.exposure_scale)?;
        positive("score.climate_km", s.climate_km)?;
        if s.window_days == 0 || s.recent_days == 0 || s.baseline_days == 0 {
            return Err(ConfigError::Invalid {
                key: "score.window_days",
                reason: "window_days, recent_days and baseline_days must be at least 1".into(),
            });
        }
        if s.weights.iter().any(|w| !(w.is_finite() && *w >= 0.0))
            || s.weights.iter().sum::<f64>() <= 0.0
        {
            return Err(ConfigError::Invalid {
                key: "score.weights",
                reason: format!("must be non-negative and not all zero, got {:?}", s.weights),
            });
        }
        if !(s.climate_weight.is_finite() && s.climate_weight >= 0.0) {
            return Err(ConfigError::Invalid {
                key: "score.climate_weight",
                reason: format!("must be a non-negative number, got {}", s.climate_weight),
            });
        }
        if !(s.normalisation_quantile > 0.0 && s.normalisation_quantile < 1.0) {
            return Err(ConfigError::Invalid {
                key: "score.normalisation_quantile",
                reason: format!("must be within (0, 1), got {}", s.normalisation_quantile),
            });
        }
        if !(0.0..=1.0).contains(&s.watch_share) {
            return Err(ConfigError::Invalid {
                key: "score.watch_share",
                reason: format!("must be within [0, 1], got {}", s.watch_share),
            });
        }
        let t = s.tier_thresholds;
        if !(t[0] > 0.0 && t[0] < t[1] && t[1] < t[2] && t[2] < t[3] && t[3] < 1.0) {
            return Err(ConfigError::Invalid {
                key: "score.tier_thresholds",
                reason: format!("must be strictly increasing within (0, 1), got {t:?}"),
            });
        }
        for (from, to) in &self.ingest.incidents.categories {
            if crate::model::rows::Category::parse(to).is_none() {
                return Err(ConfigError::Invalid {
                    key: "ingest.incidents.categories",
                    reason: format!(
                        "`{from}` maps to `{to}`, not one of civilian_harm, armed_clash, remote_violence, unrest, other"
                    ),
                });
            }
        }
        let c = &self.coverage;
        positive("coverage.battalion_radius_km", c.battalion_radius_km)?;
        positive("coverage.company_radius_km", c.company_radius_km)?;
        positive("coverage.post_radius_km", c.post_radius_km)?;
        positive("coverage.police_radius_km", c.police_radius_km)?;
        positive("coverage.rainy_month_mm", c.rainy_month_mm)?;
        if !(c.gap_spacing_km.is_finite() && (0.0..=500.0).contains(&c.gap_spacing_km)) {
            return Err(ConfigError::Invalid {
                key: "coverage.gap_spacing_km",
                reason: format!("must be within [0, 500], got {}", c.gap_spacing_km),
            });
        }
        if !(c.rainy_reach_factor > 0.0 && c.rainy_reach_factor <= 1.0) {
            return Err(ConfigError::Invalid {
                key: "coverage.rainy_reach_factor",
                reason: format!("must be within (0, 1], got {}", c.rainy_reach_factor),
            });
        }
        for t in &self.server.tokens {
            let hex = t.sha256.len() == 64
                && t.sha256
                    .chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
            if !hex {
                return Err(ConfigError::Invalid {
                    key: "server.tokens.sha256",
                    reason: format!(
                        "token `{}`: expected 64 lower-case hex digits (the SHA-256 of the token, as `vigil token` prints)",
                        t.name
                    ),
                });
            }
        }
        if self.server.request_timeout_secs == 0 || self.server.body_limit_bytes == 0 {
            return Err(ConfigError::Invalid {
                key: "server.request_timeout_secs",
                reason: "request_timeout_secs and body_limit_bytes must be at least 1".into(),
            });
        }
        if self.server.default_limit == 0 || self.server.default_limit > self.server.max_limit {
            return Err(ConfigError::Invalid {
                key: "server.default_limit",
                reason: "must be at least 1 and at most server.max_limit".into(),
            });
        }
        Ok(())
    }
}

impl crate::model::params::Normalisation {
    /// The configuration's default reference levels.
    pub fn defaults(cfg: &ScoreConfig) -> Self {
        crate::model::params::Normalisation {
            basis: "defaults".into(),
            harm: cfg.harm_scale,
            conflict: cfg.conflict_scale,
            spread: cfg.spread_scale,
            trend: cfg.trend_scale,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_defaults() {
        assert_eq!(Config::from_toml("").ok(), Some(Config::default()));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = Config::from_toml("[grid]\nresolutoin = 8\n").err();
        let msg = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("resolutoin"), "{msg}");
        assert!(Config::from_toml("[nonsense]\n").is_err());
    }

    #[test]
    fn out_of_range_values_are_refused() {
        assert!(Config::from_toml("[grid]\nresolution = 12\n").is_err());
        assert!(Config::from_toml("[score]\nweights = [0.5, -0.5, 0.5, 0.1]\n").is_err());
        assert!(Config::from_toml("[score]\ntier_thresholds = [0.5, 0.4, 0.6, 0.7]\n").is_err());
        assert!(Config::from_toml("[grid]\nresolution = 8\n").is_ok());
        for bad in ["-1.0", "501.0", "nan"] {
            let toml = format!("[coverage]\ngap_spacing_km = {bad}\n");
            let msg = Config::from_toml(&toml)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(msg.contains("gap_spacing_km"), "{bad}: {msg}");
        }
        assert!(Config::from_toml("[coverage]\ngap_spacing_km = 0.0\n").is_ok());
    }
}

#[cfg(test)]
mod token_tests {
    use super::*;

    #[test]
    fn tokens_are_validated() {
        let entry = |sha: &str, scope: &str| {
            format!("[[server.tokens]]\nname = \"a\"\nsha256 = \"{sha}\"\nscopes = [\"{scope}\"]\n")
        };
        let good = "0".repeat(64);
        assert!(Config::from_toml(&entry(&good, "risk:read")).is_ok());
        let err = |t: &str| {
            Config::from_toml(t)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(err(&entry("abc", "risk:read")).contains("64 lower-case hex"));
        assert!(err(&entry(&"G".repeat(64), "risk:read")).contains("sha256"));
        assert!(err(&entry(&good, "root")).contains("unknown scope `root`"));
        assert!(err(
            "[[server.tokens]]\nname = \"a\"\nsha256 = \"x\"\nscopes = []\ntoken = \"plain\"\n"
        )
        .contains("token"));
    }

    #[test]
    fn the_basemap_is_a_web_url_or_nothing() {
        let with = |url: &str| Config::from_toml(&format!("[map]\nbasemap = \"{url}\"\n"));
        assert!(with("").is_ok());
        assert!(with("https://tiles.example/style.json").is_ok());
        assert!(with("http://10.0.0.5:8080/styles/basic/style.json").is_ok());
        let err = with("file:///etc/passwd")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("map.basemap"), "{err}");
        assert!(
            Config::from_toml("[map]\nbasemap_url = \"x\"\n").is_err(),
            "unknown key"
        );
    }
}

#[cfg(test)]
mod alert_tests {
    use super::*;

    #[test]
    fn webhooks_and_drop_sources_are_checked() {
        let hook = |extra: &str| {
            Config::from_toml(&format!(
                "[[alerts.webhooks]]\nname = \"joc\"\nsecret = \"0123456789abcdef\"\n{extra}\n"
            ))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
        };
        assert_eq!(hook("url = \"http://127.0.0.1:9000/x\""), "");
        assert!(hook("url = \"https://hooks.example.org/x\"").contains("TLS relay"));
        assert!(hook("url = \"http://h/x\"\nmin_tier = \"elevated\"").contains("min_tier"));
        assert!(hook("url = \"http://h/x\"\nmin_probability = 2.0").contains("min_probability"));
        assert!(hook("url = \"http://h/x\"\nsecrets = 1").contains("unknown field"));
        let short = Config::from_toml(
            "[[alerts.webhooks]]\nname = \"a\"\nurl = \"http://h/\"\nsecret = \"short\"\n",
        );
        assert!(short
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
            .contains("16"));
        let sender = Config::from_toml("[alerts]\nsender = \"a b\"\n");
        assert!(sender.is_err());
        let status = Config::from_toml("[alerts]\nstatus = \"Real\"\n");
        assert!(status.is_err());
    }
}

#[cfg(test)]
mod doc_tests {
    use super::*;

    #[test]
    fn the_documented_defaults_are_the_defaults() {
        let doc = include_str!("../docs/configuration.md");
        let block = doc
            .split("```toml\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .unwrap_or_default();
        assert!(block.contains("[coverage]"));
        let parsed = Config::from_toml(block).map_err(|e| e.to_string());
        assert_eq!(parsed, Ok(Config::default()));
    }
}

/// Why `url` cannot be a public URL (scheme, host, optional path; no query, fragment,
/// user or spaces), or `None` when it can.
pub fn public_url_problem(url: &str) -> Option<&'static str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let Some(rest) = rest else {
        return Some("must start with http:// or https://");
    };
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
    if !host_ok {
        return Some("needs a host name (letters, digits, `.-:[]`) after the scheme");
    }
    let path_ok = path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/-._~%".contains(c));
    if !path_ok {
        return Some("may only add a path (no query, fragment or spaces)");
    }
    None
}
