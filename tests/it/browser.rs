//! Issue 15: the web map in a real browser. Starts two `vigil serve` processes on the
//! sample store with five weekly snapshots and two IDP sites (one without tokens; one with a
//! risk:read and a deployments:read token, and a basemap on a local "tile server" that the
//! suite plays) and runs `web/tests/map.test.mjs` — Debian's Chromium, headless, driven by
//! playwright-core — against them. Screenshots and timings are left in
//! `target/tmp/browser/`.
//!
//! Skips, saying what is missing, without Node.js, Chromium (`/usr/bin/chromium` or
//! `$CHROMIUM`) or `web/node_modules` (`cd web && npm ci`) — unless VIGIL_REQUIRE_BROWSER
//! is set (as CI sets it), then it fails.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("web")
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// What the suite needs and is not here.
fn missing() -> Vec<String> {
    let mut out = Vec::new();
    if Command::new("node").arg("--version").output().is_err() {
        out.push("Node.js (node)".to_owned());
    }
    if !chromium().exists() {
        out.push(format!(
            "Chromium ({}; apt-get install chromium)",
            chromium().display()
        ));
    }
    if !web_dir().join("node_modules/playwright-core").exists() {
        out.push("web/node_modules (cd web && npm ci)".to_owned());
    }
    out
}

fn available() -> bool {
    let missing = missing();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("VIGIL_REQUIRE_BROWSER").is_none(),
        "VIGIL_REQUIRE_BROWSER is set but the browser suite cannot run: missing {}",
        missing.join(", ")
    );
    eprintln!("skipping the browser suite: missing {}", missing.join(", "));
    false
}

/// A child process killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `vigil serve` on a free loopback port; returns it and its base URL.
fn serve(store: &Path, config: Option<&Path>) -> (Server, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vigil"));
    cmd.args(["--log", "warn", "--store"]).arg(store);
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    let mut child = cmd
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("stdout"));
    let server = Server(child);
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    // Keep reading: a closed pipe would end the server at its next line of output.
    std::thread::spawn(move || lines.for_each(drop));
    let url = first
        .rsplit("serving on ")
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{first}");
    (server, url)
}

#[test]
fn the_web_map_in_chromium() {
    if !available() {
        return;
    }
    // The vendored MapLibre is the one package-lock.json pins.
    let check = Command::new("node")
        .arg("tools/vendor.mjs")
        .arg("--check")
        .current_dir(web_dir())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    // The sample with five weekly snapshots, and two sites of displaced people (a synthetic
    // IOM DTM list) scored in.
    let (dir, ctx) = common::fresh_store();
    let demo = vigil::app::load_sample_weeks(&ctx, &common::sample_dir(), 4)
        .unwrap_or_else(|e| panic!("{e}"));
    let idp = dir.path().join("dtm.csv");
    std::fs::write(
        &idp,
        "site_name,latitude,longitude,individuals,date\n\
         Camp Lakouanga,6.70,22.02,2400,2024-11-15\n\
         Site Mbali-Nord,6.95,20.40,650,2024-11-20\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    common::ingest(&ctx, &[(vigil::ingest::Kind::Idp, idp.as_path())]);
    vigil::app::score_range(&ctx, &demo.earlier[0], &demo.date, 7, None)
        .unwrap_or_else(|e| panic!("{e}"));
    let (risk_token, full_token) = ("browser-analyst-token", "browser-planner-token");
    // A mission's own tile server for the basemap, played by the suite on a free port.
    let basemap_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let config = dir.path().join("vigil.toml");
    std::fs::write(
        &config,
        format!(
            "[map]\nbasemap = \"http://127.0.0.1:{basemap_port}/style.json\"\n\n\
             [[server.tokens]]\nname = \"analyst\"\nsha256 = \"{}\"\nscopes = [\"risk:read\"]\n\n\
             [[server.tokens]]\nname = \"planner\"\nsha256 = \"{}\"\nscopes = [\"risk:read\", \"deployments:read\"]\n",
            vigil::server::auth::token_hash(risk_token),
            vigil::server::auth::token_hash(full_token)
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (_open, open_url) = serve(&ctx.store, None);
    let (_tokens, tokens_url) = serve(&ctx.store, Some(&config));
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&artifacts).unwrap_or_else(|e| panic!("{e}"));
    // The latest day's tile archive, as `vigil export tiles` writes it, for the archive page.
    let pmtiles = artifacts.join("day.pmtiles");
    common::export(
        &ctx,
        vigil::output::export::What::Tiles,
        None,
        None,
        vigil::output::export::Format::Pmtiles,
        Some(&pmtiles),
    )
    .unwrap_or_else(|e| panic!("{e}"));

    let mut suite = Command::new("node")
        .arg("tests/map.test.mjs")
        .current_dir(web_dir())
        .env("VIGIL_URL", &open_url)
        .env("VIGIL_TOKENS_URL", &tokens_url)
        .env("VIGIL_RISK_TOKEN", risk_token)
        .env("VIGIL_FULL_TOKEN", full_token)
        .env("VIGIL_ARTIFACTS", &artifacts)
        .env("VIGIL_PMTILES", &pmtiles)
        .env("VIGIL_BASEMAP_PORT", basemap_port.to_string())
        .env("CHROMIUM", chromium())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    // Read its output on threads so that a full pipe never blocks it.
    let drain = |r: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut r) = r {
                let _ = r.read_to_string(&mut s);
            }
            s
        })
    };
    let out = drain(suite.stdout.take().map(|r| Box::new(r) as _));
    let err = drain(suite.stderr.take().map(|r| Box::new(r) as _));
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        match suite.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
            _ => {
                let _ = suite.kill();
                let _ = suite.wait();
                break None;
            }
        }
    };
    let (out, err) = (
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    );
    println!("{out}");
    eprintln!("{err}");
    eprintln!("screenshots and timings: {}", artifacts.display());
    let status =
        status.unwrap_or_else(|| panic!("the browser suite ran over 5 minutes:\n{out}\n{err}"));
    assert!(status.success(), "the browser suite failed:\n{out}\n{err}");
    assert!(out.contains(" passed, 0 failed"), "{out}");
}
