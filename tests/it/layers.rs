//! The layering of `src/` (issue 13): every module uses only modules of lower layers, so
//! that data flow one way and no import circle can come back. Read from the source text:
//! each `crate::name` outside a `#[cfg(test)]` module counts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The layers, bottom first; modules on one line are peers and must not use each other.
const LAYERS: &[&[&str]] = &[
    &["model", "grid"],
    &["config"],
    &["store"],
    &["ingest", "coverage"],
    &["risk", "analysis"],
    &["output"],
    &["evaluation", "server", "delivery"],
    &["synthetic"],
    &["app"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`None` for lib.rs and main.rs).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main" | "cli")).then(|| name.to_owned())
}

/// The text without its `#[cfg(test)]` modules (they may use anything) and comments.
fn code_of(text: &str) -> String {
    let mut out = String::new();
    let mut skip_depth: Option<usize> = None;
    let mut depth = 0usize;
    let mut pending_test = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if skip_depth.is_none() && trimmed.starts_with("#[cfg(test)]") {
            pending_test = true;
            continue;
        }
        let opens = line.matches('{').count();
        let closes = line.matches('}').count();
        if pending_test && opens > 0 {
            skip_depth = Some(depth);
            pending_test = false;
        }
        depth = depth + opens - closes.min(depth + opens);
        if let Some(d) = skip_depth {
            if depth <= d {
                skip_depth = None;
            }
            continue;
        }
        if !trimmed.starts_with("//") {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// `(file, used module)` for every use of a module by a file of another module.
fn uses(src: &Path) -> Vec<(PathBuf, String, String)> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut found = Vec::new();
    for file in files {
        let Some(module) = module_of(src, &file) else {
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{e}"));
        let code = code_of(&text);
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            // `crate::{a::x, b}` names several modules at once.
            let names: Vec<&str> = match rest.strip_prefix('{') {
                Some(group) => group
                    .split('}')
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .filter_map(|p| p.trim().split("::").next())
                    .collect(),
                None => vec![rest],
            };
            for name in names {
                let used: String = name
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !used.is_empty() && used != module {
                    found.push((file.clone(), module.clone(), used));
                }
            }
        }
    }
    found
}

#[test]
fn every_module_uses_only_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut wrong: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let all = uses(&src);
    for (file, module, used) in &all {
        let (Some(from), Some(to)) = (layer_of(module), layer_of(used)) else {
            panic!(
                "{}: module `{module}` or `{used}` is in no layer of tests/it/layers.rs",
                file.display()
            );
        };
        if to >= from {
            wrong
                .entry(format!("{module} → {used}"))
                .or_default()
                .push(file.display().to_string());
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that run sideways or up the layers:\n{wrong:#?}"
    );
    assert!(all.len() > 100, "the scan found the imports: {}", all.len());
}

#[test]
fn the_check_sees_an_upward_import() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let src = dir.path();
    std::fs::create_dir_all(src.join("store")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        src.join("store/mod.rs"),
        "use crate::risk::Engine;\nuse crate::{grid::x, app};\n#[cfg(test)]\nmod tests {\n    use crate::app::x;\n}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let found = uses(src);
    let used: Vec<&str> = found.iter().map(|f| f.2.as_str()).collect();
    assert_eq!(used, ["risk", "grid", "app"], "{found:?}");
}

/// The route handlers of `src/server/` (every `pub async fn` but the start-up and the ETag
/// middleware) extract, make one call and encode: none is longer than about 40 lines.
#[test]
fn handlers_are_short() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/server");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut long = Vec::new();
    let mut seen = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{e}"));
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let Some(rest) = line.strip_prefix("pub async fn ") else {
                continue;
            };
            let name: String = rest
                .chars()
                .take_while(|c| *c != '(' && *c != '<')
                .collect();
            if matches!(name.as_str(), "serve" | "etag") {
                continue;
            }
            seen += 1;
            let len = lines[i..]
                .iter()
                .position(|l| *l == "}")
                .map_or(usize::MAX, |n| n + 1);
            if len > 40 {
                long.push(format!("{}: {name}, {len} lines", file.display()));
            }
        }
    }
    assert!(seen >= 15, "handlers found: {seen}");
    assert!(long.is_empty(), "handlers to thin: {long:#?}");
}
