//! `vigil update` end to end, as a timer runs it: a drop folder receives the sample in daily
//! slices; repeated runs ingest each slice once, score each new day once and deliver each
//! episode version once to a webhook receiver on loopback, with valid signatures — also
//! when runs are killed (SIGKILL) at arbitrary moments and run again. A receiver that is
//! down gets its messages from the dead-letter file through `vigil alerts redeliver`; one
//! that hangs does not hold the run past its delivery budget. The CAP messages validate
//! against the OASIS CAP 1.2 schema (`xmllint`), the Atom feed parses (`feedparser`).

use crate::common;
use hmac::{Hmac, Mac};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "test-secret-0123456789";

/// One message a receiver got.
#[derive(Debug, Clone)]
struct Received {
    delivery: String,
    signature_ok: bool,
    body: serde_json::Value,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Accept,
    Hang,
}

/// A webhook receiver on loopback: records what it gets, answers 204 (or never answers).
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start(mode: Mode) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        Self::on(listener, mode)
    }

    fn on(listener: TcpListener, mode: Mode) -> Receiver {
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = got.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let sink = sink.clone();
                std::thread::spawn(move || handle(conn, mode, &sink));
            }
        });
        Receiver {
            url: format!("http://{addr}/hooks/vigil"),
            got,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().map(|g| g.clone()).unwrap_or_default()
    }
}

fn handle(mut conn: TcpStream, mode: Mode, sink: &Mutex<Vec<Received>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let Ok(n) = conn.read(&mut chunk) else { return };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_owned())
            })
            .unwrap_or_default()
    };
    let len: usize = header("content-length").parse().unwrap_or(0);
    while buf.len() < head_end + len {
        let Ok(n) = conn.read(&mut chunk) else { return };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    if mode == Mode::Hang {
        std::thread::sleep(Duration::from_secs(60));
        return;
    }
    let body = &buf[head_end..head_end + len];
    let ts = header("x-vigil-timestamp");
    let sig = header("x-vigil-signature");
    // Checked here with the HMAC primitive directly, as a receiver would.
    let signature_ok = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes())
        .map(|mut mac| {
            mac.update(ts.as_bytes());
            mac.update(b".");
            mac.update(body);
            let hex: String = mac
                .finalize()
                .into_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            sig == format!("sha256={hex}")
        })
        .unwrap_or(false);
    let fresh = ts
        .parse::<u64>()
        .ok()
        .zip(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok(),
        )
        .is_some_and(|(t, now)| now.as_secs().abs_diff(t) < 300);
    if let Ok(mut g) = sink.lock() {
        g.push(Received {
            delivery: header("x-vigil-delivery"),
            signature_ok: signature_ok && fresh,
            body: serde_json::from_slice(body).unwrap_or_default(),
        });
    }
    let _ = conn
        .write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

/// The sample's files split by day: slice 0 holds the static files and the events up to
/// `first`; slice i the events of day i after it (only days with events).
fn slices(first: &str, days: usize) -> Vec<Vec<(&'static str, String, Vec<u8>)>> {
    let sample = common::sample_dir();
    let split = |file: &str, column: &str| -> (Vec<u8>, Vec<(String, Vec<u8>)>) {
        let mut r = csv::Reader::from_path(sample.join(file)).unwrap_or_else(|e| panic!("{e}"));
        let headers = r.headers().unwrap_or_else(|e| panic!("{e}")).clone();
        let col = headers
            .iter()
            .position(|h| h == column)
            .unwrap_or_else(|| panic!("{file}: no {column}"));
        let mut by_day: std::collections::BTreeMap<String, Vec<csv::StringRecord>> =
            Default::default();
        for rec in r.records() {
            let rec = rec.unwrap_or_else(|e| panic!("{e}"));
            by_day
                .entry(rec[col][..10].to_owned())
                .or_default()
                .push(rec);
        }
        let write = |rows: &[&csv::StringRecord]| {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(&headers).unwrap_or_else(|e| panic!("{e}"));
            for row in rows {
                w.write_record(*row).unwrap_or_else(|e| panic!("{e}"));
            }
            w.into_inner().unwrap_or_else(|e| panic!("{e}"))
        };
        let head: Vec<&csv::StringRecord> = by_day
            .range(..=first.to_owned())
            .flat_map(|(_, v)| v)
            .collect();
        let later = by_day
            .range(first.to_owned()..)
            .filter(|(d, _)| d.as_str() > first)
            .map(|(d, v)| (d.clone(), write(&v.iter().collect::<Vec<_>>())))
            .collect();
        (write(&head), later)
    };
    let (acled0, acled) = split("acled.csv", "event_date");
    let (ucdp0, ucdp) = split("ucdp_ged.csv", "date_start");
    let read = |f: &str| std::fs::read(sample.join(f)).unwrap_or_else(|e| panic!("{e}"));
    let mut out = vec![vec![
        ("areas", "admin1.geojson".to_owned(), read("admin1.geojson")),
        (
            "population",
            "population.csv".to_owned(),
            read("population.csv"),
        ),
        ("climate", "rainfall.csv".to_owned(), read("rainfall.csv")),
        ("geopko", "geopko.csv".to_owned(), read("geopko.csv")),
        ("acled", format!("acled-{first}.csv"), acled0),
        ("ucdp", format!("ucdp-{first}.csv"), ucdp0),
    ]];
    for (day, bytes) in acled.into_iter().take(days) {
        let mut slice = vec![("acled", format!("acled-{day}.csv"), bytes)];
        if let Some((_, u)) = ucdp.iter().find(|(d, _)| *d == day) {
            slice.push(("ucdp", format!("ucdp-{day}.csv"), u.clone()));
        }
        out.push(slice);
    }
    out
}

/// A drop folder per kind, a store and a `vigil.toml` sending to `url` (cleared) and to
/// `url` again as an uncleared destination.
struct Site {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Site {
    fn new(url: &str, uncleared_url: Option<&str>, alerts: &str) -> Site {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path().to_path_buf();
        let mut toml = String::from("[update]\nsettle_secs = 0\n");
        for (kind, pattern) in [
            ("areas", "*.geojson"),
            ("population", "*.csv"),
            ("climate", "*.csv"),
            ("geopko", "*.csv"),
            ("acled", "acled-*.csv"),
            ("ucdp", "ucdp-*.csv"),
        ] {
            let folder = root.join("drop").join(kind);
            std::fs::create_dir_all(&folder).unwrap_or_else(|e| panic!("{e}"));
            toml.push_str(&format!(
                "[[update.sources]]\nkind = \"{kind}\"\npath = \"{}\"\n",
                folder.join(pattern).display()
            ));
        }
        toml.push_str(&format!("\n[alerts]\n{alerts}\n"));
        toml.push_str(&format!(
            "[[alerts.webhooks]]\nname = \"joc\"\nurl = \"{url}\"\nsecret = \"{SECRET}\"\ncleared = true\n"
        ));
        if let Some(u) = uncleared_url {
            toml.push_str(&format!(
                "[[alerts.webhooks]]\nname = \"partners\"\nurl = \"{u}\"\nsecret = \"{SECRET}\"\n"
            ));
        }
        std::fs::write(root.join("vigil.toml"), toml).unwrap_or_else(|e| panic!("{e}"));
        Site { _dir: dir, root }
    }

    fn drop_slice(&self, slice: &[(&str, String, Vec<u8>)]) {
        for (kind, name, bytes) in slice {
            let path = self.root.join("drop").join(kind).join(name);
            std::fs::write(path, bytes).unwrap_or_else(|e| panic!("{e}"));
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_vigil"));
        c.arg("--store")
            .arg(self.root.join("store"))
            .arg("--config")
            .arg(self.root.join("vigil.toml"))
            .args(args)
            .env("RUST_LOG", "warn");
        c
    }

    /// Runs the binary with `args` to its end and checks its exit code: its standard output.
    fn expect(&self, args: &[&str], code: i32) -> String {
        let out = self
            .command(args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            out.status.code(),
            Some(code),
            "vigil {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A run to its end: exit code and the JSON report.
    fn update(&self) -> (i32, serde_json::Value) {
        let report = self.root.join("report.json");
        let out = self
            .command(&["update", "--report"])
            .arg(&report)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let code = out.status.code().unwrap_or(-1);
        assert!(
            matches!(code, 0 | 3 | 4),
            "update failed ({code}): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&report).unwrap_or_else(|e| panic!("{e}"));
        (
            code,
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}")),
        )
    }
}

fn ids(got: &[Received]) -> Vec<String> {
    let mut v: Vec<String> = got.iter().map(|r| r.delivery.clone()).collect();
    v.sort();
    v
}

#[test]
fn repeated_and_killed_update_runs_deliver_each_episode_version_once() {
    let slices = slices("2024-12-25", 6);
    assert!(slices.len() >= 5, "the sample has events on the last days");

    // The control: no kills. Each slice is ingested once, each new day scored once.
    let joc = Receiver::start(Mode::Accept);
    let partners = Receiver::start(Mode::Accept);
    let site = Site::new(&joc.url, Some(&partners.url), "");
    let mut scored = Vec::new();
    let mut runs = Vec::new();
    for slice in &slices {
        site.drop_slice(slice);
        let started = Instant::now();
        let (code, first) = site.update();
        runs.push(started.elapsed());
        assert_eq!(code, 0, "{first}");
        assert_eq!(
            first["ingested"].as_array().map(Vec::len),
            Some(slice.len()),
            "{first}"
        );
        for d in first["scored"].as_array().into_iter().flatten() {
            scored.push(d.as_str().unwrap_or_default().to_owned());
        }
        // Run again at once: nothing new — no file, no day, no message.
        let (code, again) = site.update();
        assert_eq!(code, 0);
        assert_eq!(
            again["ingested"].as_array().map(Vec::len),
            Some(0),
            "{again}"
        );
        assert_eq!(again["scored"].as_array().map(Vec::len), Some(0), "{again}");
        assert_eq!(
            again["episodes"].as_array().map(Vec::len),
            Some(0),
            "{again}"
        );
        assert_eq!(again["delivered"], 0);
        assert!(again["already_seen"].as_u64().unwrap_or(0) >= slice.len() as u64);
    }
    let mut unique = scored.clone();
    unique.dedup();
    assert_eq!(unique, scored, "each day scored once");
    assert_eq!(scored.len(), slices.len(), "{scored:?}");
    let control = joc.received();
    assert!(
        control.len() >= 3,
        "the sample's last days alert: {}",
        control.len()
    );
    assert!(control.iter().all(|r| r.signature_ok), "signatures verify");
    // New and growing episodes name the events that drove them.
    let with_drivers = control
        .iter()
        .filter(|r| r.body["change"] != "closed")
        .filter(|r| r.body["drivers"].as_array().is_some_and(|d| !d.is_empty()))
        .count();
    assert!(with_drivers > 0, "no episode names its events");
    assert!(control.iter().any(|r| r.body["description"]
        .as_str()
        .is_some_and(|d| d.contains("Driven by"))));
    let control_ids = ids(&control);
    let mut dedup = control_ids.clone();
    dedup.dedup();
    assert_eq!(dedup, control_ids, "no message twice without kills");
    // Gap episodes and bases only to the cleared destination.
    let p = partners.received();
    assert!(!p.is_empty());
    assert!(p
        .iter()
        .all(|r| r.body["kind"] == "risk" && r.body.get("nearest_base").is_none()));
    assert!(
        control.iter().any(|r| r.body["kind"] == "gap"),
        "the cleared one gets gaps"
    );
    let risk_ids: Vec<String> = ids(&control)
        .into_iter()
        .filter(|i| i.starts_with("risk-"))
        .collect();
    assert_eq!(
        ids(&p),
        risk_ids,
        "the uncleared destination gets every risk episode"
    );
    // A growing episode is updated, not duplicated: versions > 1 exist with one identifier.
    let updated: Vec<&Received> = control
        .iter()
        .filter(|r| r.body["change"] == "updated" || r.body["change"] == "closed")
        .collect();
    assert!(!updated.is_empty(), "episodes change over six days");
    for r in &updated {
        let id = r.body["id"].as_str().unwrap_or_default();
        assert!(control
            .iter()
            .any(|o| o.body["id"] == id && o.body["version"] == 1));
    }

    // The same days with every run killed (SIGKILL) at moments spread over a run's length,
    // then run to the end: the same messages arrive, none lost, repeats only of a message
    // whose receiver answered just before the kill (same X-Vigil-Delivery, deduplicated).
    let run_ms = runs
        .iter()
        .map(Duration::as_millis)
        .max()
        .unwrap_or(1000)
        .max(200) as u64;
    let joc2 = Receiver::start(Mode::Accept);
    let site2 = Site::new(&joc2.url, None, "");
    let mut kills = 0;
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    for slice in &slices {
        site2.drop_slice(slice);
        for _ in 0..3 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let after = Duration::from_millis(seed % run_ms);
            let mut child = site2
                .command(&["update"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("{e}"));
            std::thread::sleep(after);
            if child.try_wait().ok().flatten().is_none() {
                let _ = child.kill();
                kills += 1;
            }
            let _ = child.wait();
        }
        let (code, _) = site2.update();
        assert_eq!(code, 0);
    }
    let (_, last) = site2.update();
    assert_eq!(last["delivered"], 0, "nothing left over: {last}");
    let got = joc2.received();
    assert!(got.iter().all(|r| r.signature_ok));
    let mut got_ids = ids(&got);
    let raw = got_ids.len();
    got_ids.dedup();
    let control_all: Vec<String> = control_ids.clone();
    assert_eq!(
        got_ids, control_all,
        "killed runs lose no message and invent none"
    );
    // And the same messages, body for body (nothing in a body depends on when it was sent).
    for r in &got {
        let twin = control.iter().find(|c| c.delivery == r.delivery);
        assert_eq!(twin.map(|c| &c.body), Some(&r.body), "{}", r.delivery);
    }
    let repeats = raw - got_ids.len();
    eprintln!("{kills} kills, {repeats} repeated deliveries (deduplicated by X-Vigil-Delivery)");
    assert!(repeats <= kills, "{repeats} repeats for {kills} kills");
    // The same snapshots: one per day, as in the control.
    let store_days = |root: &Path| -> Vec<String> {
        let m: serde_json::Value = serde_json::from_slice(
            &std::fs::read(root.join("store/manifest.json")).unwrap_or_else(|e| panic!("{e}")),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        m["snapshots"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    assert_eq!(store_days(&site2.root), store_days(&site.root));
}

#[test]
fn a_receiver_that_is_down_gets_its_messages_through_redeliver() {
    // A port nothing listens on (bound, noted, released).
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    drop(listener);
    let url = format!("http://{addr}/hooks/vigil");
    let site = Site::new(
        &url,
        None,
        "max_attempts = 3\nbackoff_ms = 50\ntimeout_secs = 1\ndelivery_budget_secs = 20",
    );
    site.drop_slice(&slices("2024-12-25", 0)[0]);
    let (code, report) = site.update();
    assert_eq!(code, 4, "delivery failed: {report}");
    let dead = report["dead_lettered"].as_u64().unwrap_or(0);
    assert!(dead > 0 && report["delivered"] == 0, "{report}");
    let file = site.root.join("store/alerts/dead-letter.jsonl");
    let lines = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(lines.lines().count() as u64, dead);
    assert!(
        lines.lines().all(|l| l.contains("\"attempts\":3")),
        "{lines}"
    );
    // Still down: redeliver keeps them (exit 4).
    site.expect(&["alerts", "redeliver"], 4);
    // The receiver comes up on that address: redeliver sends every one, signed.
    let receiver = Receiver::on(
        TcpListener::bind(addr).unwrap_or_else(|e| panic!("{addr}: {e}")),
        Mode::Accept,
    );
    site.expect(&["alerts", "redeliver"], 0);
    let got = receiver.received();
    assert_eq!(got.len() as u64, dead);
    assert!(got.iter().all(|r| r.signature_ok));
    assert!(!file.exists(), "the dead-letter file is emptied");
}

#[test]
fn a_receiver_that_never_answers_does_not_hold_the_run_past_its_budget() {
    let receiver = Receiver::start(Mode::Hang);
    let site = Site::new(
        &receiver.url,
        None,
        "max_attempts = 5\nbackoff_ms = 100\ntimeout_secs = 1\ndelivery_budget_secs = 3",
    );
    site.drop_slice(&slices("2024-12-25", 0)[0]);
    let (code, report) = site.update();
    let seconds = report["seconds"].as_f64().unwrap_or(f64::MAX);
    // Ingest and scoring take their time; delivery at most its budget (plus one timeout).
    let without_delivery = {
        let (_, again) = site.update();
        again["seconds"].as_f64().unwrap_or(0.0)
    };
    assert!(
        report["waiting"].as_u64().unwrap_or(0) + report["dead_lettered"].as_u64().unwrap_or(0) > 0,
        "{report}"
    );
    assert!(matches!(code, 0 | 4));
    assert!(
        without_delivery <= 3.0 + 1.0 + 2.0,
        "a run with only deliveries left took {without_delivery} s (budget 3 s)"
    );
    eprintln!("first run {seconds:.1} s, a run with only deliveries {without_delivery:.1} s");
}

/// `xmllint`, or `None` (skip) — unless VIGIL_REQUIRE_XMLLINT is set (as `.ci/run` sets it).
fn xmllint() -> Option<()> {
    let ok = Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("VIGIL_REQUIRE_XMLLINT").is_none(),
            "VIGIL_REQUIRE_XMLLINT is set but xmllint is missing (apt-get install libxml2-utils)"
        );
        eprintln!("skipping: xmllint (libxml2-utils) is missing");
        return None;
    }
    Some(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cap_messages_validate_against_the_cap_1_2_schema_and_the_feeds_parse() {
    let receiver = Receiver::start(Mode::Accept);
    let site = Site::new(
        &receiver.url,
        None,
        "sender = \"vigil@mission.example.org\"",
    );
    let slices = slices("2024-12-25", 3);
    for s in &slices {
        site.drop_slice(s);
        let (code, _) = tokio::task::block_in_place(|| site.update());
        assert_eq!(code, 0);
    }
    let config =
        vigil::Config::load(Some(&site.root.join("vigil.toml"))).unwrap_or_else(|e| panic!("{e}"));
    let state = vigil::server::load_state(&site.root.join("store"), config)
        .unwrap_or_else(|e| panic!("{e}"));
    let get = |uri: String| {
        let state = state.clone();
        async move { common::call(&state, axum::http::Method::GET, &uri, &[], None).await }
    };
    let list = get("/alerts/episodes".into()).await.json();
    let episodes = list["episodes"].as_array().cloned().unwrap_or_default();
    assert!(!episodes.is_empty());
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut files = Vec::new();
    for e in &episodes {
        let id = e["id"].as_str().unwrap_or_default();
        let cap = get(format!("/alerts/episodes/{id}.cap")).await;
        assert_eq!(cap.status, 200);
        assert!(cap
            .header("content-type")
            .starts_with("application/cap+xml"));
        let text = String::from_utf8_lossy(&cap.body).into_owned();
        assert!(text.contains("<polygon>"), "{text}");
        // Every polygon is closed and has at least four points (CAP 1.2 §3.3.2).
        for poly in text.split("<polygon>").skip(1) {
            let pts: Vec<&str> = poly
                .split("</polygon>")
                .next()
                .unwrap_or("")
                .split(' ')
                .collect();
            assert!(pts.len() >= 4 && pts.first() == pts.last(), "{poly}");
        }
        let path = out.path().join(format!("{id}.xml"));
        std::fs::write(&path, &cap.body).unwrap_or_else(|e| panic!("{e}"));
        files.push(path);
    }
    let atom = get("/alerts.atom".into()).await;
    assert!(atom
        .header("content-type")
        .starts_with("application/atom+xml"));
    let atom_path = out.path().join("alerts.atom");
    std::fs::write(&atom_path, &atom.body).unwrap_or_else(|e| panic!("{e}"));
    let cap_feed = get("/alerts.cap".into()).await;
    let cap_feed_path = out.path().join("alerts-cap.atom");
    std::fs::write(&cap_feed_path, &cap_feed.body).unwrap_or_else(|e| panic!("{e}"));

    if xmllint().is_some() {
        let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/cap/CAP-v1.2.xsd");
        // `xmllint --noout [--schema XSD] FILES`: whether it accepts them, and what it said.
        let lint = |with_schema: bool, files: &[&Path]| {
            let mut c = Command::new("xmllint");
            c.arg("--noout");
            if with_schema {
                c.arg("--schema").arg(&schema);
            }
            let run = c.args(files).output().unwrap_or_else(|e| panic!("{e}"));
            (
                run.status.success(),
                String::from_utf8_lossy(&run.stderr).into_owned(),
            )
        };
        let caps: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
        let (ok, said) = lint(true, &caps);
        assert!(ok, "CAP messages invalid: {said}");
        // And a message the schema must refuse: the check can fail.
        let bad = out.path().join("bad.xml");
        let text = std::fs::read_to_string(&files[0]).unwrap_or_default();
        std::fs::write(
            &bad,
            text.replace("<status>Actual</status>", "<status>Bogus</status>"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !lint(true, &[&bad]).0,
            "the schema check refuses a bad status"
        );
        let (ok, said) = lint(false, &[&atom_path, &cap_feed_path]);
        assert!(ok, "{said}");
    }

    // The Atom feed through a feed parser.
    let probe = Command::new("python3")
        .args(["-c", "import feedparser"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var_os("VIGIL_REQUIRE_PYTHON_GIS").is_none(),
            "VIGIL_REQUIRE_PYTHON_GIS is set but feedparser is missing (tests/python/requirements.txt)"
        );
        eprintln!("skipping: feedparser (tests/python/requirements.txt) is missing");
        return;
    }
    let script = "import feedparser, json, sys\n\
        out = {}\n\
        for p in sys.argv[1:]:\n\
        \x20   f = feedparser.parse(p)\n\
        \x20   out[p] = {'bozo': int(f.bozo), 'version': f.version, 'entries': len(f.entries),\n\
        \x20             'titles': [e.title for e in f.entries],\n\
        \x20             'links': [[l.get('type') for l in e.links] for e in f.entries]}\n\
        print(json.dumps(out))\n";
    let run = Command::new("python3")
        .args(["-c", script])
        .arg(&atom_path)
        .arg(&cap_feed_path)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let parsed: serde_json::Value =
        serde_json::from_slice(&run.stdout).unwrap_or_else(|e| panic!("{e}"));
    for p in [&atom_path, &cap_feed_path] {
        let f = &parsed[p.display().to_string()];
        assert_eq!(f["bozo"], 0, "{f}");
        assert_eq!(f["version"], "atom10", "{f}");
        assert_eq!(f["entries"].as_u64(), Some(episodes.len() as u64), "{f}");
    }
    let cap_links = &parsed[cap_feed_path.display().to_string()]["links"][0];
    assert_eq!(cap_links[0], "application/cap+xml");
}

#[test]
fn a_run_that_cannot_take_the_lock_exits_5() {
    let receiver = Receiver::start(Mode::Accept);
    let site = Site::new(&receiver.url, None, "");
    site.drop_slice(&slices("2024-12-25", 0)[0]);
    let (code, _) = site.update();
    assert_eq!(code, 0);
    let held = vigil::Store::open_writer(
        &site.root.join("store"),
        7,
        &vigil::store::lock::LockOptions {
            timeout: Duration::from_secs(1),
            no_wait: true,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    site.expect(&["--no-wait", "update"], 5);
    drop(held);
    let line = site.expect(&["update"], 0);
    assert!(
        line.starts_with("update: 0 file(s) ingested, 6 already seen"),
        "{line}"
    );
}

#[test]
fn an_unknown_source_kind_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = dir.path().join("vigil.toml");
    std::fs::write(
        &config,
        "[[update.sources]]\nkind = \"acledd\"\npath = \"drop/*.csv\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .arg("--store")
        .arg(dir.path().join("store"))
        .arg("--config")
        .arg(&config)
        .arg("update")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("update.sources.kind") && err.contains("acledd"),
        "{err}"
    );
    assert!(!dir.path().join("store").exists(), "nothing was written");
}

/// On the real CAR extracts (skips without them): the drop folders take the boundaries,
/// Geo-PKO and SPEI files and UCDP GED in two slices; the episodes name real ADM3 areas and
/// MINUSCA bases, and the deadly clash of 2019-07-15 near Birao (23 deaths in UCDP GED)
/// drives a new episode the day it happened.
#[test]
fn on_real_car_data_episodes_name_real_places_and_the_events_behind_them() {
    let (Some(areas), Some(bases), Some(spei), Some(ged)) = (
        common::real("geoboundaries/geoBoundaries-CAF-ADM3_simplified.geojson"),
        common::real("geopko/geopko_v2x_location_map_MINUSCA_UNMISS_MONUSCO_MINUSMA.csv"),
        common::real("spei/spei_-0.25_5.25.csv.gz"),
        common::real("ucdp_ged/GEDEvent_v23_1_CAF_reconstructed.csv"),
    ) else {
        return;
    };
    let receiver = Receiver::start(Mode::Accept);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = &dir.path().to_path_buf();
    let mut toml = String::from("[update]\nsettle_secs = 0\n");
    for (kind, file) in [("areas", &areas), ("geopko", &bases), ("climate", &spei)] {
        let folder = root.join("drop").join(kind);
        std::fs::create_dir_all(&folder).unwrap_or_else(|e| panic!("{e}"));
        let name = file.file_name().unwrap_or_default();
        std::fs::copy(file, folder.join(name)).unwrap_or_else(|e| panic!("{e}"));
        toml.push_str(&format!(
            "[[update.sources]]\nkind = \"{kind}\"\npath = \"{}\"\n",
            folder.join("*").display()
        ));
    }
    let events = root.join("drop/ucdp");
    std::fs::create_dir_all(&events).unwrap_or_else(|e| panic!("{e}"));
    toml.push_str(&format!(
        "[[update.sources]]\nkind = \"ucdp\"\npath = \"{}\"\n",
        events.join("*.csv").display()
    ));
    toml.push_str(&format!(
        "[alerts]\n[[alerts.webhooks]]\nname = \"joc\"\nurl = \"{}\"\nsecret = \"{SECRET}\"\ncleared = true\n",
        receiver.url
    ));
    std::fs::write(root.join("vigil.toml"), toml).unwrap_or_else(|e| panic!("{e}"));
    // UCDP GED up to 2019-07-10, then to 2019-07-15 (the real file, split by date_start).
    let mut r = csv::Reader::from_path(&ged).unwrap_or_else(|e| panic!("{e}"));
    let headers = r.headers().unwrap_or_else(|e| panic!("{e}")).clone();
    let col = headers.iter().position(|h| h == "date_start").unwrap_or(0);
    let rows: Vec<csv::StringRecord> = r.records().map_while(Result::ok).collect();
    let slice = |name: &str, from: &str, to: &str| {
        let mut w = csv::Writer::from_path(events.join(name)).unwrap_or_else(|e| panic!("{e}"));
        w.write_record(&headers).unwrap_or_else(|e| panic!("{e}"));
        for row in rows.iter().filter(|x| {
            let d = &x[col][..10.min(x[col].len())];
            d > from && d <= to
        }) {
            w.write_record(row).unwrap_or_else(|e| panic!("{e}"));
        }
        w.flush().unwrap_or_else(|e| panic!("{e}"));
    };
    let site = Site {
        _dir: dir,
        root: root.clone(),
    };
    slice("ged-a.csv", "", "2019-07-10");
    let (code, first) = site.update();
    assert_eq!(code, 0, "{first}");
    slice("ged-b.csv", "2019-07-10", "2019-07-15");
    let (code, second) = site.update();
    assert_eq!(code, 0, "{second}");
    assert_eq!(
        second["scored"].as_array().and_then(|d| d.last()).cloned(),
        Some(serde_json::json!("2019-07-15")),
        "{second}"
    );
    let got = receiver.received();
    assert!(got.iter().all(|r| r.signature_ok));
    let birao = got
        .iter()
        .find(|r| {
            r.body["date"] == "2019-07-15"
                && r.body["change"] == "new"
                && r.body["drivers"]
                    .as_array()
                    .is_some_and(|d| d.iter().any(|x| x["fatalities"] == 23))
        })
        .unwrap_or_else(|| panic!("no episode of 2019-07-15 driven by the 23-death clash"));
    assert_eq!(
        birao.body["nearest_base"]["name"], "Birao",
        "{}",
        birao.body
    );
    let headline = birao.body["headline"].as_str().unwrap_or_default();
    assert!(headline.contains("of Birao"), "{headline}");
    eprintln!("{headline}");
}

/// A first run killed after it scored a day and before it computed that day's alerts: the
/// next run alerts that day (the log started before the scoring, so the day is not taken
/// for the silent start). The killed run's state is made deterministically: a run on empty
/// folders starts the log, then the day is ingested and scored by hand.
#[test]
fn a_day_scored_by_a_run_killed_before_its_alerts_is_alerted_by_the_next() {
    let slice = &slices("2024-12-25", 0)[0];
    let control = Receiver::start(Mode::Accept);
    let site = Site::new(&control.url, None, "");
    site.drop_slice(slice);
    assert_eq!(site.update().0, 0);
    let expected = ids(&control.received());
    assert!(!expected.is_empty());

    let receiver = Receiver::start(Mode::Accept);
    let crashed = Site::new(&receiver.url, None, "");
    assert_eq!(crashed.update().0, 0, "empty folders: the log starts");
    for (kind, name, bytes) in slice {
        let path = crashed.root.join(name);
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{e}"));
        crashed.expect(&["ingest", kind, &path.display().to_string()], 0);
    }
    crashed.expect(&["score"], 0);
    assert!(receiver.received().is_empty());
    crashed.drop_slice(slice);
    let (code, report) = crashed.update();
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        report["scored"].as_array().map(Vec::len),
        Some(0),
        "{report}"
    );
    assert_eq!(ids(&receiver.received()), expected);

    // Whereas a store scored by hand before any update run starts its log silently: what
    // was already red is not news.
    let quiet = Receiver::start(Mode::Accept);
    let earlier = Site::new(&quiet.url, None, "");
    for (kind, name, bytes) in slice {
        let path = earlier.root.join(name);
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{e}"));
        earlier.expect(&["ingest", kind, &path.display().to_string()], 0);
    }
    earlier.expect(&["score"], 0);
    earlier.drop_slice(slice);
    let (code, report) = earlier.update();
    assert_eq!(code, 0);
    assert_eq!(
        report["episodes"].as_array().map(Vec::len),
        Some(0),
        "{report}"
    );
    assert!(quiet.received().is_empty());
}
