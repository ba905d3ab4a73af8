//! Progress bars: the library reports progress through a callback, the binary draws it.

/// Draws the library's progress as indicatif bars on standard error (hidden when it is not
/// a terminal): days with rate and time left, bytes of a file being read.
pub struct Bars;

struct Bar(indicatif::ProgressBar);

impl vigil::model::progress::Reporter for Bars {
    fn start(
        &self,
        what: &str,
        unit: vigil::model::progress::Unit,
        len: u64,
    ) -> Box<dyn vigil::model::progress::Task> {
        use vigil::model::progress::Unit;
        let bar = indicatif::ProgressBar::new(len);
        match unit {
            Unit::Days => {
                let template = format!(
                    "{what} {{bar:40}} {{pos}}/{{len}} days ({{per_sec}}, {{eta}} left) {{msg}}"
                );
                if let Ok(style) = indicatif::ProgressStyle::with_template(&template) {
                    bar.set_style(style);
                }
            }
            Unit::Bytes => {
                if let Ok(style) = indicatif::ProgressStyle::with_template(
                    "{msg:>12} [{bar:30}] {bytes}/{total_bytes} ({eta})",
                ) {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar.set_message(what.to_owned());
            }
        }
        Box::new(Bar(bar))
    }
}

impl vigil::model::progress::Task for Bar {
    fn set_position(&self, pos: u64) {
        self.0.set_position(pos);
    }

    fn inc(&self, n: u64) {
        self.0.inc(n);
    }

    fn set_message(&self, msg: &str) {
        self.0.set_message(msg.to_owned());
    }

    fn finish(&self) {
        self.0.finish_and_clear();
    }
}
