//! The files of `deploy/` run as written: their YAML is read (PyYAML, as `kubectl` would
//! read it), and the command line, environment, probes and ports of each container are
//! checked against each other and then run against a store — the ConfigMap's vigil.toml
//! is Vigil's configuration, the Deployment's `serve` answers its readiness probe, the
//! CronJob's `update` ends with 0, the Indexed Jobs' workers, told their index as
//! Kubernetes tells them, finish the backtest and the range. (Only dates are changed, to
//! those of the bundled sample.) Skips, saying so, without python3 and PyYAML, unless
//! VIGIL_REQUIRE_PYTHON_GIS is set, as in CI.

use crate::common;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn deploy(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(rel)
}

/// The documents of a YAML file, as JSON; `None` (skipping) without PyYAML.
fn yaml(path: &Path) -> Option<Vec<Value>> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))",
        ])
        .arg(path)
        .output();
    let why = match out {
        Ok(o) if o.status.success() => {
            return Some(serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}")));
        }
        Ok(o) => String::from_utf8_lossy(&o.stderr).to_string(),
        Err(e) => e.to_string(),
    };
    let missing = why.contains("No module named") || why.contains("No such file");
    assert!(missing, "{}: not valid YAML: {why}", path.display());
    assert!(
        std::env::var_os("VIGIL_REQUIRE_PYTHON_GIS").is_none(),
        "VIGIL_REQUIRE_PYTHON_GIS is set but python3 cannot read YAML: {why}"
    );
    eprintln!("skipping: python3 with PyYAML is needed to read deploy/ ({why})");
    None
}

fn kind<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
}

/// The pod template's first container.
fn container(workload: &Value) -> &Value {
    let spec = if workload["kind"] == "CronJob" {
        &workload["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    } else {
        &workload["spec"]["template"]["spec"]
    };
    &spec["containers"][0]
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn env(c: &Value, name: &str) -> Option<String> {
    c["env"].as_array()?.iter().find_map(|e| {
        (e["name"] == name).then(|| e["value"].as_str().unwrap_or_default().to_owned())
    })
}

/// A container's command line as it runs here: `vigil` and its arguments, with the store
/// and configuration of the test, and `replace` applied to the values of options.
fn command(c: &Value, store: &Path, config: &Path, replace: &[(&str, &str)]) -> Command {
    assert_eq!(strings(&c["command"]), vec!["vigil"]);
    let mut args = strings(&c["args"]);
    for (flag, value) in replace {
        if let Some(i) = args.iter().position(|a| a == flag) {
            args[i + 1] = (*value).to_owned();
        }
    }
    assert_eq!(
        env(c, "VIGIL_CONFIG").as_deref(),
        Some("/etc/vigil/vigil.toml"),
        "the ConfigMap's mount"
    );
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vigil"));
    cmd.args(&args)
        .env("VIGIL_STORE", store)
        .env("VIGIL_CONFIG", config)
        .env("VIGIL_CACHE_DIR", store.with_extension("cache"))
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("JOB_COMPLETIONS");
    cmd
}

fn get(addr: &str, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap_or_else(|e| panic!("{e}"));
    out
}

#[test]
fn the_kubernetes_files_run_as_written() {
    let Some(config_docs) = yaml(&deploy("kubernetes/config.yaml")) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = tmp.path().join("vigil.toml");
    let toml = kind(&config_docs, "ConfigMap")["data"]["vigil.toml"]
        .as_str()
        .unwrap_or_else(|| panic!("no vigil.toml in the ConfigMap"));
    std::fs::write(&config, toml).unwrap_or_else(|e| panic!("{e}"));
    let parsed = vigil::config::Config::load(Some(&config)).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !parsed.server.public_url.is_empty(),
        "replicas need public_url for equal bodies"
    );
    assert!(
        !parsed.server.tokens.is_empty(),
        "a public bind needs tokens"
    );
    let secret = kind(&config_docs, "Secret");
    assert!(secret["stringData"]["VIGIL_STORE"]
        .as_str()
        .is_some_and(|s| s.starts_with("s3://")));
    let (_dir, ctx, _) = common::scored_store();
    let store = ctx.store.clone();

    // The Deployment: serve on the container port; the readiness probe's path answers 200
    // without a token, the API asks for one; the Service targets that port.
    let docs = yaml(&deploy("kubernetes/deployment.yaml")).unwrap_or_default();
    let deployment = kind(&docs, "Deployment");
    let c = container(deployment);
    let port = c["ports"][0]["containerPort"].as_u64().unwrap_or(0);
    let args = strings(&c["args"]);
    let bind = args
        .iter()
        .position(|a| a == "--bind")
        .map(|i| args[i + 1].clone())
        .unwrap_or_default();
    assert_eq!(bind, format!("0.0.0.0:{port}"));
    let probe = &c["readinessProbe"]["httpGet"];
    assert_eq!(probe["path"], "/healthz");
    assert_eq!(probe["port"].as_u64(), Some(port));
    assert_eq!(
        kind(&docs, "Service")["spec"]["ports"][0]["targetPort"].as_u64(),
        Some(port)
    );
    assert!(deployment["spec"]["replicas"].as_u64().unwrap_or(0) >= 2);
    let mut serve = command(c, &store, &config, &[("--bind", "127.0.0.1:0")]);
    let mut child = serve
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("stdout"));
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    // The rest of what it prints is read, so that it never writes to a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let addr = first
        .rsplit("http://")
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let ready = get(&addr, "/healthz");
    let refused = get(&addr, "/collections/risk/items?limit=1");
    let _ = child.kill();
    let _ = child.wait();
    assert!(ready.starts_with("HTTP/1.1 200"), "{first}\n{ready}");
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");

    // The CronJob: one `vigil update`, which ends with 0.
    let docs = yaml(&deploy("kubernetes/cronjob-update.yaml")).unwrap_or_default();
    let cron = kind(&docs, "CronJob");
    assert_eq!(cron["spec"]["concurrencyPolicy"], "Forbid");
    let out = command(container(cron), &store, &config, &[])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The Indexed Jobs: each worker told its index as Kubernetes tells it.
    for (file, replace, check) in [
        (
            "kubernetes/job-backtest.yaml",
            vec![
                ("--from", "2023-01-01"),
                ("--to", "2024-11-30"),
                ("--step", "28"),
                ("--tune-until", "2023-12-31"),
            ],
            "backtest",
        ),
        (
            "kubernetes/job-score-range.yaml",
            vec![("--from", "2024-12-01"), ("--to", "2024-12-08")],
            "score",
        ),
    ] {
        let docs = yaml(&deploy(file)).unwrap_or_default();
        let job = kind(&docs, "Job");
        let spec = &job["spec"];
        assert_eq!(spec["completionMode"], "Indexed", "{file}");
        let n = spec["completions"].as_u64().unwrap_or(0);
        assert_eq!(spec["parallelism"].as_u64(), Some(n), "{file}");
        let c = container(job);
        assert_eq!(env(c, "JOB_COMPLETIONS"), Some(n.to_string()), "{file}");
        let workers: Vec<std::process::Child> = (0..n)
            .map(|i| {
                command(c, &store, &config, &replace)
                    .env("JOB_COMPLETIONS", n.to_string())
                    .env("JOB_COMPLETION_INDEX", i.to_string())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap_or_else(|e| panic!("{e}"))
            })
            .collect();
        let mut printed = String::new();
        for w in workers {
            let out = w.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
            assert!(
                out.status.success(),
                "{file}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            printed.push_str(&String::from_utf8_lossy(&out.stdout));
        }
        match check {
            "backtest" => {
                assert!(printed.contains("the last worker"), "{printed}");
                let runs = std::fs::read_dir(store.join("work/backtest"))
                    .into_iter()
                    .flatten()
                    .flatten()
                    .filter(|r| r.path().join("results.json").is_file())
                    .count();
                assert_eq!(runs, 1);
            }
            _ => assert_eq!(printed.lines().count(), 8, "{printed}"),
        }
    }
}

#[test]
fn the_compose_file_serves_and_updates_one_store() {
    let Some(docs) = yaml(&deploy("docker-compose.yml")) else {
        return;
    };
    let services = &docs[0]["services"];
    let vigil = &services["vigil"];
    let command = strings(&vigil["command"]);
    assert_eq!(command[..2], ["vigil", "serve"]);
    let bind = command
        .iter()
        .position(|a| a == "--bind")
        .map(|i| command[i + 1].clone())
        .unwrap_or_default();
    let port = bind.rsplit(':').next().unwrap_or_default();
    assert!(strings(&vigil["ports"]).contains(&format!("{port}:{port}")));
    let health = strings(&vigil["healthcheck"]["test"]);
    assert_eq!(
        health,
        [
            "CMD",
            "vigil",
            "healthcheck",
            "--url",
            &format!("http://127.0.0.1:{port}/healthz")
        ]
    );
    // Both services on the one store volume; the loop runs `vigil update`.
    let update = &services["update"];
    assert!(strings(&update["entrypoint"])
        .join(" ")
        .contains("vigil update"));
    for s in [vigil, update] {
        assert_eq!(s["environment"]["VIGIL_STORE"], "/app/store");
        assert!(strings(&s["volumes"]).contains(&"store:/app/store".to_owned()));
    }
    // The Dockerfile's build context is the repository root.
    let context = vigil["build"]["context"].as_str().unwrap_or("?");
    assert!(deploy(context).join("Dockerfile").is_file(), "{context}");
}
