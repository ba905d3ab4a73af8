//! `vigil serve` as a process: it prints where it serves, answers, refuses a public address
//! without tokens, and stops cleanly on SIGTERM (as `docker stop` sends it).

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

fn vigil() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
}

fn http_get(addr: &str, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap_or_else(|e| panic!("{e}"));
    out
}

/// A `vigil … serve` started from `cmd` (stdout piped): the child, the rest of its standard
/// output, its first line and the address it serves on.
fn started(
    mut cmd: Command,
) -> (
    std::process::Child,
    std::io::Lines<BufReader<std::process::ChildStdout>>,
    String,
    String,
) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("stdout"));
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    let addr = first
        .rsplit("http://")
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    (child, lines, first, addr)
}

#[test]
fn serve_answers_and_stops_on_sigterm() {
    let (_dir, ctx, _) = common::scored_store();
    let mut cmd = vigil();
    cmd.args(["--log", "warn", "--store"])
        .arg(&ctx.store)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stderr(Stdio::null());
    let (mut child, mut lines, first, addr) = started(cmd);
    assert!(
        first.starts_with("Vigil is serving on http://127.0.0.1:"),
        "{first}"
    );
    let second = lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(
        second.contains("web map") && second.trim_end().ends_with(&format!("{addr}/map")),
        "the map's URL comes first: {second}"
    );
    let answer = http_get(&addr, "/healthz");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"status\":\"ok\""));
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success());
    let exit = child.wait().unwrap_or_else(|e| panic!("{e}"));
    assert!(exit.success(), "graceful shutdown exits 0: {exit:?}");
}

#[test]
fn a_public_address_without_tokens_is_refused() {
    let (_dir, ctx, _) = common::scored_store();
    let out = vigil()
        .args(["--log", "warn", "--store"])
        .arg(&ctx.store)
        .args(["serve", "--bind", "0.0.0.0:0"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--allow-anonymous") && err.contains("tokens"),
        "{err}"
    );
}

#[test]
fn token_prints_a_token_and_its_hash() {
    let out = vigil()
        .args([
            "token",
            "--name",
            "joc",
            "--scopes",
            "risk:read,deployments:read",
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let token = text
        .lines()
        .next()
        .and_then(|l| l.rsplit(": ").next())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(token.len(), 64);
    let hash = vigil::server::auth::token_hash(&token);
    assert!(text.contains(&format!("sha256 = \"{hash}\"")), "{text}");
    assert!(text.contains("scopes = [\"risk:read\", \"deployments:read\"]"));
    // The printed entry is a valid configuration.
    let entry = &text[text.find("[[server.tokens]]").unwrap_or(0)..];
    vigil::config::Config::from_toml(entry).unwrap_or_else(|e| panic!("{e}"));
    let bad = vigil()
        .args(["token", "--name", "x", "--scopes", "root"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!bad.status.success());
}

/// Serves the store until one request to `/healthz?secret=x` is answered, then stops;
/// returns what it wrote on standard error.
fn served_log(store: &std::path::Path, args: &[&str], rust_log: Option<&str>) -> String {
    let mut cmd = vigil();
    cmd.args(args)
        .arg("--store")
        .arg(store)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stderr(Stdio::piped());
    match rust_log {
        Some(v) => cmd.env("RUST_LOG", v),
        None => cmd.env_remove("RUST_LOG"),
    };
    let (mut child, lines, _, addr) = started(cmd);
    let answer = http_get(&addr, "/healthz?secret=x");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let _ = child.wait();
    drop(lines);
    err
}

#[test]
fn the_access_log_the_log_flag_and_the_json_format() {
    let (_dir, ctx, _) = common::scored_store();
    // JSON lines, one per request, the path without its query; no colour codes in a pipe.
    let json = served_log(&ctx.store, &["--log", "info", "--log-format", "json"], None);
    assert!(!json.contains('\u{1b}'), "ANSI codes in a pipe: {json}");
    let access: Vec<serde_json::Value> = json
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["target"] == "vigil::access")
        .collect();
    assert_eq!(access.len(), 1, "{json}");
    let f = &access[0]["fields"];
    assert_eq!(f["method"], "GET");
    assert_eq!(f["path"], "/healthz");
    assert_eq!(f["status"], 200);
    assert!(f["ms"].as_f64().is_some_and(|ms| ms >= 0.0));
    assert!(!json.contains("secret"), "the query is never logged");
    // Text lines carry the same; `--log` wins over RUST_LOG.
    let text = served_log(&ctx.store, &["--log", "info"], Some("warn"));
    assert!(!text.contains('\u{1b}'), "{text}");
    assert!(
        text.lines().any(|l| l.contains("vigil::access")
            && l.contains("path=/healthz")
            && l.contains("status=200")),
        "{text}"
    );
    let quiet = served_log(&ctx.store, &["--log", "warn"], Some("debug"));
    assert!(
        !quiet.contains("vigil::access"),
        "--log warn hides info even with RUST_LOG=debug: {quiet}"
    );
    // Without --log, RUST_LOG applies.
    let env = served_log(&ctx.store, &[], Some("warn"));
    assert!(!env.contains("vigil::access"), "{env}");
    let bad = vigil()
        .args(["--log", "vigil=loud", "serve"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--log `vigil=loud`"));
}

/// A server whose standard output is closed before it prints its URLs (its terminal or
/// pipe gone) keeps serving, and says so on its log.
#[test]
fn serve_keeps_serving_when_its_stdout_is_closed() {
    let (_dir, ctx, _) = common::scored_store();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = format!("127.0.0.1:{port}");
    let mut child = vigil()
        .args(["--log", "warn", "--store"])
        .arg(&ctx.store)
        .args(["serve", "--bind", &addr])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    // The read end of its stdout closed: its first write gets EPIPE.
    drop(child.stdout.take());
    let mut answer = String::new();
    for _ in 0..200 {
        if std::net::TcpStream::connect(&addr).is_ok() {
            answer = http_get(&addr, "/healthz");
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Still serving after it tried to print.
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        child.try_wait().ok().flatten().is_none(),
        "the server exited"
    );
    assert!(http_get(&addr, "/healthz").starts_with("HTTP/1.1 200"));
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let exit = child.wait().unwrap_or_else(|e| panic!("{e}"));
    let mut log = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut log);
    }
    assert!(exit.success(), "{exit:?} {log}");
    assert!(log.contains("stdout is closed"), "{log}");
}
