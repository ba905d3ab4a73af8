//! One alert episode as people and programs read it: its headline, its links (map view,
//! explanation, CAP message) and the JSON body a webhook receives. The episode given is
//! already what its reader may see (`Audience::episode`).

use crate::model::episode::{compass_words, Change, Episode, EpisodeKind};
use serde_json::{json, Value};

/// Where a reader follows an episode: the server's public address, or relative links
/// when none is configured.
#[derive(Debug, Clone)]
pub struct Links {
    base: String,
}

impl Links {
    /// Links under `public_url` (`server.public_url`; empty: relative links).
    pub fn new(public_url: &str) -> Self {
        Self {
            base: public_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The web map at the episode's day, centred on it, its peak cell selected.
    pub fn map(&self, e: &Episode) -> String {
        let layers = if e.kind == EpisodeKind::Gap || e.nearest_base.is_some() {
            "risk,gaps,bases"
        } else {
            "risk"
        };
        format!(
            "{}/map#date={}&z=9.00&c={:.4},{:.4}&l={layers}&cell={:x}",
            self.base, e.updated, e.lon, e.lat, e.peak_cell
        )
    }

    /// Why the peak cell has its risk, on the episode's day.
    pub fn explain(&self, e: &Episode) -> String {
        format!(
            "{}/cells/{:x}/explain?date={}",
            self.base, e.peak_cell, e.updated
        )
    }

    /// The episode's current CAP message.
    pub fn cap(&self, e: &Episode) -> String {
        format!("{}/alerts/episodes/{}.cap", self.base, e.id)
    }

    /// A feed under the server (`/alerts.atom`, `/alerts.cap`).
    pub fn feed(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// Where the episode is, in words: "14 cells, 31 km north-east of Bria, Haute-Kotto" for
/// a reader who sees bases, "14 cells in Haute-Kotto, Ouaka" otherwise.
pub fn place(e: &Episode) -> String {
    let n = e.cells.len();
    let cells = if n == 1 {
        "1 cell".to_owned()
    } else {
        format!("{n} cells")
    };
    let areas = e
        .areas
        .iter()
        .take(3)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    let tail = if areas.is_empty() {
        String::new()
    } else {
        format!(", {areas}")
    };
    match (&e.nearest_base, areas.is_empty()) {
        (Some(b), _) if b.km >= 1.0 => {
            format!(
                "{cells}, {:.0} km {} of {}{tail}",
                b.km,
                compass_words(&b.direction),
                b.name
            )
        }
        (Some(b), _) => format!("{cells} at {}{tail}", b.name),
        (None, false) => format!("{cells} in {areas}"),
        (None, true) => format!("{cells} around {:.3}, {:.3}", e.lat, e.lon),
    }
}

/// What the episode is: "Critical risk", "High risk" or "Coverage gap".
pub fn event_name(e: &Episode) -> &'static str {
    match (e.kind, e.tier.as_str()) {
        (EpisodeKind::Gap, _) => "Coverage gap",
        (EpisodeKind::Risk, "critical") => "Critical risk",
        (EpisodeKind::Risk, _) => "High risk",
    }
}

/// One line: what, what happened, where.
pub fn headline(e: &Episode) -> String {
    let what = match e.change {
        Change::New => "new",
        Change::Updated => "growing",
        Change::Closed => "ended",
    };
    format!("{} ({what}): {}", event_name(e), place(e))
}

/// A paragraph for people: the numbers behind the headline.
pub fn description(e: &Episode) -> String {
    let mut s = format!(
        "{}. Since {}; peak risk {:.2}, mean {:.2} over {} cell{}.",
        headline(e),
        e.opened,
        e.peak_risk,
        e.mean_risk,
        e.cells.len(),
        if e.cells.len() == 1 { "" } else { "s" }
    );
    if let Some(p) = e.probability {
        s.push_str(&format!(
            " Probability of civilian harm up to {:.0} %.",
            p * 100.0
        ));
    }
    if let Some(p) = e.people {
        s.push_str(&format!(" About {:.0} people live there.", p));
    }
    s.push_str(&format!(
        " {} events in the scoring window, {} civilian fatalities in the last 30 days.",
        e.events, e.civilian_fatalities_30d
    ));
    if let Some(d) = e.drivers.first() {
        let killed = match d.civilian_fatalities {
            Some(c) if c > 0 => format!(", {} killed, {c} of them civilians", d.fatalities),
            _ if d.fatalities > 0 => format!(", {} killed", d.fatalities),
            _ => String::new(),
        };
        let more = match e.drivers.len().saturating_sub(1) {
            0 => String::new(),
            1 => " and 1 more event".to_owned(),
            n => format!(" and {n} more events"),
        };
        s.push_str(&format!(
            " Driven by {} {} ({} {}{killed}){more}.",
            d.date,
            d.category.replace('_', " "),
            d.source,
            d.id,
        ));
    }
    if let Some(into) = &e.merged_into {
        s.push_str(&format!(" Merged into {into}."));
    } else if e.change == Change::Closed {
        s.push_str(if e.kind == EpisodeKind::Gap {
            " Its cells fell back below high risk or came within a base's reach."
        } else {
            " Its cells fell back below high risk."
        });
    }
    s
}

/// The JSON body a webhook receives.
pub fn payload(e: &Episode, links: &Links, attribution: &[String]) -> Value {
    let mut v = json!({
        "type": "vigil.episode",
        "id": e.id,
        "version": e.version,
        "delivery": e.delivery_id(),
        "change": e.change.as_str(),
        "kind": e.kind.as_str(),
        "date": e.updated,
        "opened": e.opened,
        "closed": e.closed,
        "merged_into": e.merged_into,
        "headline": headline(e),
        "description": description(e),
        "cells": e.cells.len(),
        "h3": e.cells.iter().map(|c| format!("{c:x}")).collect::<Vec<_>>(),
        "areas": e.areas,
        "centre": {"lat": e.lat, "lon": e.lon},
        "tier": e.tier,
        "peak_risk": e.peak_risk,
        "mean_risk": e.mean_risk,
        "probability": e.probability,
        "people": e.people,
        "events": e.events,
        "civilian_fatalities_30d": e.civilian_fatalities_30d,
        "drivers": e.drivers,
        "links": {
            "map": links.map(e),
            "explain": links.explain(e),
            "cap": links.cap(e),
        },
        "attribution": attribution,
    });
    if let (Some(b), Some(m)) = (&e.nearest_base, v.as_object_mut()) {
        m.insert(
            "nearest_base".into(),
            json!({"name": b.name, "km": b.km, "direction": b.direction}),
        );
        m.insert("missions".into(), json!(e.missions));
    }
    v
}
