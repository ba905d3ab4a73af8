//! Issue 16: the OpenAPI document checked in both directions by Schemathesis, a real
//! client of it — every route answers as documented (status codes, media types, bodies,
//! headers), every request the document allows is accepted, every request it forbids is
//! refused, and a request without the token is refused where the document says a token is
//! needed. Seeded and bounded so that CI runs the same cases every time; skips, saying so,
//! when Schemathesis is missing, unless VIGIL_REQUIRE_PYTHON_GIS is set (as `.ci/run` sets it).

use crate::common;

use std::path::Path;
use std::process::Command;
use vigil::config::{Config, Scope, TokenConfig};

/// Cases per operation and the seed; `VIGIL_SCHEMATHESIS_EXAMPLES` asks for more (and a
/// different seed with `VIGIL_SCHEMATHESIS_SEED`) when hunting locally.
fn bounds() -> (String, String) {
    let get = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    (
        get("VIGIL_SCHEMATHESIS_EXAMPLES", "25"),
        get("VIGIL_SCHEMATHESIS_SEED", "16"),
    )
}

#[test]
fn schemathesis_finds_no_disagreement_between_the_document_and_the_server() {
    // As a module, so that the scripts folder need not be on PATH.
    let st = || {
        let mut c = Command::new("python3");
        c.args(["-m", "schemathesis.cli"]);
        c
    };
    let probe = st().arg("--version").output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var_os("VIGIL_REQUIRE_PYTHON_GIS").is_none(),
            "VIGIL_REQUIRE_PYTHON_GIS is set but schemathesis is missing \
             (pip install -r tests/python/requirements.txt)"
        );
        eprintln!("skipping: schemathesis (tests/python/requirements.txt) missing");
        return;
    }
    let (dir, ctx, _) = common::scored_store();
    // Tokens configured, so that the access rules are part of what is checked; the run
    // uses the admin token, which sees every route.
    let mut config = Config::default();
    config.server.tokens = vec![TokenConfig {
        name: "schemathesis".into(),
        sha256: vigil::server::auth::token_hash("st-secret"),
        scopes: vec![Scope::Admin],
    }];
    let state = vigil::server::load_state(&ctx.store, config).unwrap_or_else(|e| panic!("{e}"));
    let url = common::listen(state);
    let hooks = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python");
    let (examples, seed) = bounds();
    let out = st()
        .current_dir(dir.path())
        .env("PYTHONPATH", &hooks)
        .env("SCHEMATHESIS_HOOKS", "schemathesis_hooks")
        .args([
            "run",
            &format!("{url}/api"),
            "--checks",
            "all",
            "--mode",
            "all",
        ])
        .args(["--max-examples", &examples, "--seed", &seed])
        .args(["--header", "Authorization: Bearer st-secret"])
        .args([
            "--generation-database",
            "none",
            "--no-color",
            "--workers", // CPython 3.11's parser is not safe in threads
            "1",
        ])
        .output()
        .unwrap_or_else(|e| panic!("st: {e}"));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found disagreements:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Not a vacuous pass: every operation of the document was exercised.
    let tested = report
        .lines()
        .find_map(|l| l.trim().strip_prefix("Tested: "))
        .and_then(|n| n.trim().parse::<usize>().ok())
        .unwrap_or(0);
    assert!(tested >= 30, "only {tested} operations tested:\n{report}");
    eprintln!("{report}\n{}", String::from_utf8_lossy(&out.stderr));
}
