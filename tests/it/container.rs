//! The container starts (issue 12): the Dockerfile's CMD, run exactly as written (port
//! replaced), serves `/healthz`, and its HEALTHCHECK command says so.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The JSON-array form of a Dockerfile instruction.
fn instruction(dockerfile: &str, name: &str) -> Vec<String> {
    let line = dockerfile
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("the Dockerfile has no {name}"));
    let json = &line[line
        .find('[')
        .unwrap_or_else(|| panic!("{name} is not exec form"))..];
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn the_dockerfile_cmd_serves_and_its_healthcheck_passes() {
    let root = env!("CARGO_MANIFEST_DIR");
    let dockerfile =
        std::fs::read_to_string(format!("{root}/Dockerfile")).unwrap_or_else(|e| panic!("{e}"));
    for from in dockerfile.lines().filter(|l| l.starts_with("FROM ")) {
        let image = from.split_whitespace().nth(1).unwrap_or_default();
        let tag = image.split(':').nth(1).unwrap_or_default();
        assert!(
            tag.chars().filter(|c| *c == '.').count() >= 1 && !tag.starts_with("1-"),
            "base image not pinned to a release: {from}"
        );
    }
    let user = dockerfile
        .lines()
        .find(|l| l.starts_with("USER "))
        .unwrap_or_else(|| panic!("no USER"));
    assert!(
        user[5..]
            .split(':')
            .all(|p| p.trim().parse::<u32>().is_ok_and(|u| u > 0)),
        "USER must be a numeric, non-root uid: {user}"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let with_port = |args: Vec<String>| -> Vec<String> {
        args.into_iter()
            .map(|a| a.replace(":8080", &format!(":{port}")))
            .collect()
    };
    let cmd = with_port(instruction(&dockerfile, "CMD"));
    let check = with_port(instruction(&dockerfile, "HEALTHCHECK"));
    assert_eq!(cmd[0], "vigil");
    assert_eq!(check[0], "vigil");
    let store = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut server = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(&cmd[1..])
        .current_dir(root)
        .env("VIGIL_STORE", store.path())
        .env_remove("VIGIL_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let healthy = loop {
        let ok = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(&check[1..])
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            break true;
        }
        if started.elapsed() > Duration::from_secs(120) {
            break false;
        }
        if let Ok(Some(status)) = server.try_wait() {
            panic!("the container command exited: {status}");
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let _ = server.kill();
    let _ = server.wait();
    assert!(healthy, "no healthy /healthz within 120 s");
}
