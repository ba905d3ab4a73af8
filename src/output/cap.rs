//! An alert episode as an OASIS CAP 1.2 message (Common Alerting Protocol, the format of
//! early-warning systems): one `<alert>` per episode version, updates referencing the
//! versions before, the episode's outline as `<polygon>`s. The mapping is in
//! `docs/alerts.md`.

use super::alert::{description, event_name, headline, Links};
use super::xml::escape;
use crate::model::episode::{Change, Episode, EpisodeKind};

/// Who sends, and the message status (`[alerts] sender`, `status`).
#[derive(Debug, Clone)]
pub struct CapSender {
    /// `<sender>`.
    pub sender: String,
    /// `<status>`: Actual, Exercise, System, Test or Draft.
    pub status: String,
}

/// The CAP identifier of version `version` of episode `id`.
pub fn identifier(sender: &str, id: &str, version: u32) -> String {
    let domain: String = sender
        .rsplit('@')
        .next()
        .unwrap_or(sender)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || ".-_".contains(*c))
        .collect();
    format!("{domain}.{id}.v{version}")
}

/// Midnight UTC of a `YYYY-MM-DD` day in CAP's date-time form.
fn at_midnight(day: &str) -> String {
    format!("{day}T00:00:00+00:00")
}

/// The day after `day` (`YYYY-MM-DD`), or `day` itself when it is not a date.
fn next_day(day: &str) -> String {
    crate::model::day::parse_iso_date(day)
        .map(|d| crate::model::day::format_date(d + 1))
        .unwrap_or_else(|| day.to_owned())
}

/// The CAP message of the episode's current version. `sent` is midnight UTC of the day
/// the version is about, so that a message computed again (after a crash) is the same
/// message; `expires` a day later, when the next snapshot replaces it.
pub fn message(e: &Episode, sender: &CapSender, links: &Links) -> String {
    let mut x = String::with_capacity(4096);
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str("<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">\n");
    let el = |x: &mut String, indent: &str, name: &str, value: &str| {
        x.push_str(&format!("{indent}<{name}>{}</{name}>\n", escape(value)));
    };
    el(
        &mut x,
        "  ",
        "identifier",
        &identifier(&sender.sender, &e.id, e.version),
    );
    el(&mut x, "  ", "sender", &sender.sender);
    el(&mut x, "  ", "sent", &at_midnight(&e.updated));
    el(&mut x, "  ", "status", &sender.status);
    let msg_type = if e.version == 1 { "Alert" } else { "Update" };
    el(&mut x, "  ", "msgType", msg_type);
    el(&mut x, "  ", "source", "Vigil civilian-risk grid");
    el(&mut x, "  ", "scope", "Restricted");
    let restriction = if e.kind == EpisodeKind::Gap || e.nearest_base.is_some() {
        "UN peace operation staff cleared for deployment information"
    } else {
        "UN peace operation staff"
    };
    el(&mut x, "  ", "restriction", restriction);
    if e.version > 1 {
        let refs: Vec<String> = (1..e.version)
            .map(|v| {
                let day = e.dates.get(v as usize - 1).map_or(&e.opened, |d| d);
                format!(
                    "{},{},{}",
                    sender.sender,
                    identifier(&sender.sender, &e.id, v),
                    at_midnight(day)
                )
            })
            .collect();
        el(&mut x, "  ", "references", &refs.join(" "));
    }
    el(&mut x, "  ", "incidents", &e.id);
    x.push_str("  <info>\n");
    el(&mut x, "    ", "language", "en");
    el(&mut x, "    ", "category", "Security");
    el(&mut x, "    ", "event", event_name(e));
    let response = if e.change == Change::Closed {
        "AllClear"
    } else {
        "Monitor"
    };
    el(&mut x, "    ", "responseType", response);
    let (urgency, severity, certainty) = if e.change == Change::Closed {
        ("Past", "Minor", "Observed")
    } else {
        let severity = if e.tier == "critical" {
            "Extreme"
        } else {
            "Severe"
        };
        let certainty = match e.probability {
            Some(p) if p > 0.5 => "Likely",
            _ => "Possible",
        };
        ("Expected", severity, certainty)
    };
    el(&mut x, "    ", "urgency", urgency);
    el(&mut x, "    ", "severity", severity);
    el(&mut x, "    ", "certainty", certainty);
    x.push_str("    <eventCode>\n");
    el(&mut x, "      ", "valueName", "vigil:episode-kind");
    el(&mut x, "      ", "value", e.kind.as_str());
    x.push_str("    </eventCode>\n");
    el(&mut x, "    ", "effective", &at_midnight(&e.updated));
    el(
        &mut x,
        "    ",
        "expires",
        &at_midnight(&next_day(&e.updated)),
    );
    el(&mut x, "    ", "senderName", "Vigil");
    el(&mut x, "    ", "headline", &headline(e));
    el(&mut x, "    ", "description", &description(e));
    el(&mut x, "    ", "web", &links.map(e));
    let mut param = |name: &str, value: String| {
        x.push_str("    <parameter>\n");
        el(&mut x, "      ", "valueName", name);
        el(&mut x, "      ", "value", &value);
        x.push_str("    </parameter>\n");
    };
    param("vigil:change", e.change.as_str().to_owned());
    param("vigil:cells", e.cells.len().to_string());
    param("vigil:peak_risk", format!("{:.4}", e.peak_risk));
    param("vigil:mean_risk", format!("{:.4}", e.mean_risk));
    param("vigil:tier", e.tier.clone());
    if let Some(p) = e.probability {
        param("vigil:probability", format!("{p:.4}"));
    }
    if let Some(p) = e.people {
        param("vigil:people", format!("{p:.0}"));
    }
    param("vigil:events", e.events.to_string());
    param(
        "vigil:civilian_fatalities_30d",
        e.civilian_fatalities_30d.to_string(),
    );
    param("vigil:explain", links.explain(e));
    if let Some(b) = &e.nearest_base {
        param("vigil:nearest_base", b.name.clone());
        param("vigil:nearest_base_km", format!("{:.1}", b.km));
    }
    x.push_str("    <area>\n");
    let area = if e.areas.is_empty() {
        super::alert::place(e)
    } else {
        e.areas.join(", ")
    };
    el(&mut x, "      ", "areaDesc", &area);
    for ring in crate::grid::outline(&e.cells) {
        if ring.len() < 4 {
            continue;
        }
        let pts: Vec<String> = ring
            .iter()
            .map(|(lat, lon)| format!("{lat:.5},{lon:.5}"))
            .collect();
        el(&mut x, "      ", "polygon", &pts.join(" "));
    }
    x.push_str("    </area>\n");
    x.push_str("  </info>\n");
    x.push_str("</alert>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::episode::{Episode, NearestBase};

    pub(crate) fn episode(version: u32, change: Change) -> Episode {
        let centre = h3o::LatLng::new(6.5, 21.9)
            .map(|ll| ll.to_cell(h3o::Resolution::Seven))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut cells: Vec<u64> = centre
            .grid_disk::<Vec<_>>(1)
            .into_iter()
            .map(u64::from)
            .collect();
        cells.sort_unstable();
        Episode {
            id: "risk-20240601-1".into(),
            kind: EpisodeKind::Risk,
            version,
            change,
            opened: "2024-06-01".into(),
            updated: "2024-06-03".into(),
            dates: vec!["2024-06-01".into(), "2024-06-03".into()],
            closed: None,
            merged_into: None,
            peak_cell: cells[0],
            cells,
            tracked: Vec::new(),
            areas: vec!["Haute-Kotto & <Vakaga>".into()],
            missions: vec!["MINUKA".into()],
            lat: 6.5,
            lon: 21.9,
            peak_risk: 0.91,
            mean_risk: 0.8,
            tier: "critical".into(),
            probability: Some(0.6),
            people: Some(1200.0),
            events: 9,
            civilian_fatalities_30d: 3,
            nearest_base: Some(NearestBase {
                name: "Bria".into(),
                km: 31.2,
                direction: "NE".into(),
            }),
            drivers: Vec::new(),
        }
    }

    #[test]
    fn an_update_references_the_versions_before_and_the_outline_is_closed() {
        let sender = CapSender {
            sender: "vigil@mission.example.org".into(),
            status: "Exercise".into(),
        };
        let x = message(
            &episode(2, Change::Updated),
            &sender,
            &Links::new("https://v.example"),
        );
        assert!(x.contains("<identifier>mission.example.org.risk-20240601-1.v2</identifier>"));
        assert!(x.contains("<msgType>Update</msgType>"));
        assert!(x.contains("<status>Exercise</status>"));
        assert!(x.contains(
            "<references>vigil@mission.example.org,mission.example.org.risk-20240601-1.v1,2024-06-01T00:00:00+00:00</references>"
        ));
        assert!(
            x.contains("<severity>Extreme</severity>")
                && x.contains("<certainty>Likely</certainty>")
        );
        assert!(
            x.contains("<areaDesc>Haute-Kotto &amp; &lt;Vakaga&gt;</areaDesc>"),
            "{x}"
        );
        assert!(x.contains("31 km north-east of Bria"), "{x}");
        let polygons: Vec<&str> = x.split("<polygon>").skip(1).collect();
        assert_eq!(polygons.len(), 1, "seven touching cells: one outline");
        let pts: Vec<&str> = polygons[0]
            .split("</polygon>")
            .next()
            .unwrap_or("")
            .split(' ')
            .collect();
        // Seven hexagons' outline: 18 vertices, closed.
        assert_eq!(pts.len(), 19, "{pts:?}");
        assert_eq!(pts.first(), pts.last());
        let closed = message(&episode(3, Change::Closed), &sender, &Links::new(""));
        assert!(closed.contains("<responseType>AllClear</responseType>"));
        let first = message(&episode(1, Change::New), &sender, &Links::new(""));
        assert!(first.contains("<msgType>Alert</msgType>") && !first.contains("<references>"));
    }

    #[test]
    fn an_uncleared_reader_sees_no_base_and_no_gap_episode() {
        use crate::model::visibility::Audience;
        let e = episode(1, Change::New);
        let seen = Audience::RiskOnly
            .episode(&e)
            .unwrap_or_else(|| panic!("risk is shown"));
        assert!(seen.nearest_base.is_none() && seen.missions.is_empty());
        let x = message(
            &seen,
            &CapSender {
                sender: "a@b".into(),
                status: "Actual".into(),
            },
            &Links::new(""),
        );
        assert!(
            !x.contains("Bria") && !x.contains("MINUKA") && !x.contains("l=risk,gaps,bases"),
            "{x}"
        );
        let gap = Episode {
            kind: EpisodeKind::Gap,
            ..e.clone()
        };
        assert!(Audience::RiskOnly.episode(&gap).is_none());
        assert_eq!(Audience::WithDeployments.episode(&gap), Some(gap));
    }
}
