//! Text placed in XML and HTML: the five characters that would end or change markup.

/// `s` with `&`, `<`, `>` and `"` escaped (for element text and double-quoted attributes).
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
