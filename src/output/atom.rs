//! Alert episodes as an Atom feed (RFC 4287): one entry per episode, newest change first,
//! for feed readers and chat integrations (`/alerts.atom`), and the same feed pointing at
//! each episode's CAP message (`/alerts.cap`, the CAP-feed convention).

use super::alert::{description, headline, Links};
use super::xml::escape;
use crate::model::episode::Episode;

/// Which feed: entries linking to the map, or to their CAP messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedKind {
    /// `/alerts.atom`.
    Map,
    /// `/alerts.cap`.
    Cap,
}

/// The feed of `episodes` (what the reader may see), `through` the last day computed.
pub fn feed(
    episodes: &[Episode],
    through: Option<&str>,
    links: &Links,
    kind: FeedKind,
    attribution: &[String],
) -> String {
    let path = match kind {
        FeedKind::Map => "/alerts.atom",
        FeedKind::Cap => "/alerts.cap",
    };
    let mut sorted: Vec<&Episode> = episodes.iter().collect();
    sorted.sort_by(|a, b| b.updated.cmp(&a.updated).then(a.id.cmp(&b.id)));
    let updated = sorted
        .first()
        .map(|e| e.updated.as_str())
        .or(through)
        .unwrap_or("1970-01-01");
    let mut x = String::with_capacity(1024 + 1024 * sorted.len());
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    x.push_str(&format!(
        "  <id>urn:vigil:alerts:{}</id>\n",
        match kind {
            FeedKind::Map => "episodes",
            FeedKind::Cap => "cap",
        }
    ));
    x.push_str("  <title>Vigil alerts: civilian-risk and coverage-gap episodes</title>\n");
    x.push_str(&format!("  <updated>{updated}T00:00:00Z</updated>\n"));
    x.push_str("  <author><name>Vigil</name></author>\n");
    x.push_str(&format!(
        "  <link rel=\"self\" href=\"{}\"/>\n",
        escape(&links.feed(path))
    ));
    if !attribution.is_empty() {
        x.push_str(&format!(
            "  <rights>{}</rights>\n",
            escape(&attribution.join("; "))
        ));
    }
    for e in sorted {
        x.push_str("  <entry>\n");
        x.push_str(&format!(
            "    <id>urn:vigil:episode:{}</id>\n",
            escape(&e.id)
        ));
        x.push_str(&format!("    <title>{}</title>\n", escape(&headline(e))));
        x.push_str(&format!("    <updated>{}T00:00:00Z</updated>\n", e.updated));
        x.push_str(&format!(
            "    <published>{}T00:00:00Z</published>\n",
            e.opened
        ));
        let (map, cap) = (escape(&links.map(e)), escape(&links.cap(e)));
        match kind {
            FeedKind::Map => {
                x.push_str(&format!(
                    "    <link rel=\"alternate\" type=\"text/html\" href=\"{map}\"/>\n"
                ));
                x.push_str(&format!(
                    "    <link rel=\"related\" type=\"application/cap+xml\" href=\"{cap}\"/>\n"
                ));
            }
            FeedKind::Cap => {
                x.push_str(&format!(
                    "    <link rel=\"alternate\" type=\"application/cap+xml\" href=\"{cap}\"/>\n"
                ));
                x.push_str(&format!(
                    "    <link rel=\"related\" type=\"text/html\" href=\"{map}\"/>\n"
                ));
            }
        }
        x.push_str(&format!(
            "    <category term=\"{}\"/>\n    <category term=\"{}\"/>\n",
            e.kind.as_str(),
            e.change.as_str()
        ));
        x.push_str(&format!(
            "    <summary>{}</summary>\n",
            escape(&description(e))
        ));
        x.push_str("  </entry>\n");
    }
    x.push_str("</feed>\n");
    x
}
