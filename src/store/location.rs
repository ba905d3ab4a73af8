//! Where a store is: a local folder (the default), or a bucket of an object store named by
//! a URL (`s3://bucket/prefix`, `gs://…`, `az://…`), read and written through a local
//! cache folder.

use super::StoreError;
use std::path::{Path, PathBuf};

/// The URL schemes of object stores (those of the `object_store` crate).
pub const BUCKET_SCHEMES: [&str; 8] = ["s3", "s3a", "gs", "az", "adl", "azure", "abfs", "abfss"];

/// Where a store is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A local folder.
    Folder(PathBuf),
    /// A bucket (and prefix) of an object store.
    Bucket {
        /// The URL as given, without a trailing slash.
        url: String,
        /// The local folder its files are cached in.
        cache: PathBuf,
    },
}

impl Location {
    /// Parses a `--store` argument: a path, `file://` + absolute path, or a URL of one of
    /// [`BUCKET_SCHEMES`] (cached under `cache_root`, one folder per URL). Any other
    /// `scheme://` is an error — never a local folder named after it.
    pub fn parse(arg: &str, cache_root: &Path) -> Result<Self, StoreError> {
        let Some((scheme, rest)) = arg.split_once("://") else {
            return Ok(Location::Folder(PathBuf::from(arg)));
        };
        let scheme_ok = !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+');
        if !scheme_ok {
            // `a/b://c` is a path with an odd name, not a URL.
            return Ok(Location::Folder(PathBuf::from(arg)));
        }
        let lower = scheme.to_ascii_lowercase();
        if lower == "file" {
            if !rest.starts_with('/') {
                return Err(StoreError::Location {
                    store: arg.to_owned(),
                    reason: "a file:// URL needs an absolute path (file:///srv/store)".into(),
                });
            }
            return Ok(Location::Folder(PathBuf::from(rest)));
        }
        if !BUCKET_SCHEMES.contains(&lower.as_str()) {
            return Err(StoreError::Location {
                store: arg.to_owned(),
                reason: format!(
                    "unknown scheme `{scheme}`; use a folder, file:///path or one of {}://bucket/prefix",
                    BUCKET_SCHEMES.join("://, ")
                ),
            });
        }
        let bucket = rest.split('/').next().unwrap_or_default();
        if bucket.is_empty() {
            return Err(StoreError::Location {
                store: arg.to_owned(),
                reason: "no bucket named after the scheme".into(),
            });
        }
        let url = arg.trim_end_matches('/').to_owned();
        Ok(Location::Bucket {
            cache: cache_root.join(cache_name(&url)),
            url,
        })
    }

    /// The local folder the store's files are read from and written to: the folder itself,
    /// or the bucket's cache folder.
    pub fn local_dir(&self) -> &Path {
        match self {
            Location::Folder(p) => p,
            Location::Bucket { cache, .. } => cache,
        }
    }

    /// The bucket URL of a store in an object store.
    pub fn bucket(&self) -> Option<&str> {
        match self {
            Location::Folder(_) => None,
            Location::Bucket { url, .. } => Some(url),
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Folder(p) => write!(f, "{}", p.display()),
            Location::Bucket { url, .. } => f.write_str(url),
        }
    }
}

/// A folder name for a bucket URL: readable, and distinct for distinct URLs.
fn cache_name(url: &str) -> String {
    let readable: String = url
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(80)
        .collect();
    let digest = crate::model::digest::sha256_hex(url.as_bytes());
    format!("{readable}-{}", &digest[..12])
}

/// The default root of bucket caches: `$VIGIL_CACHE_DIR`, else `$XDG_CACHE_HOME/vigil`,
/// else `$HOME/.cache/vigil`, else `.vigil-cache` in the working folder.
pub fn default_cache_root() -> PathBuf {
    if let Some(x) = std::env::var_os("VIGIL_CACHE_DIR").filter(|x| !x.is_empty()) {
        return PathBuf::from(x);
    }
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("vigil");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h).join(".cache").join("vigil");
    }
    PathBuf::from(".vigil-cache")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Location, StoreError> {
        Location::parse(s, Path::new("/cache"))
    }

    #[test]
    fn paths_and_file_urls_are_folders() {
        assert_eq!(
            parse("./store").ok(),
            Some(Location::Folder("./store".into()))
        );
        assert_eq!(
            parse("file:///srv/vigil").ok(),
            Some(Location::Folder("/srv/vigil".into()))
        );
        assert!(parse("file://relative").is_err());
        assert_eq!(
            parse("odd/a://b").ok(),
            Some(Location::Folder("odd/a://b".into()))
        );
    }

    #[test]
    fn bucket_urls_are_buckets_and_unknown_schemes_errors() {
        assert_eq!(
            parse("s3://vigil-stores/car/").ok(),
            Some(Location::Bucket {
                url: "s3://vigil-stores/car".into(),
                cache: Path::new("/cache").join(cache_name("s3://vigil-stores/car")),
            })
        );
        for ok in [
            "gs://b/p",
            "az://container/p",
            "abfss://c@a.dfs.core.windows.net/p",
        ] {
            assert!(matches!(parse(ok), Ok(Location::Bucket { .. })), "{ok}");
        }
        for bad in ["s4://bucket", "http://host/store", "ftp://x/y", "s3://"] {
            let e = parse(bad).err().map(|e| e.to_string());
            assert!(
                e.as_deref().is_some_and(|e| e.contains(bad)),
                "{bad}: {e:?}"
            );
        }
    }

    #[test]
    fn cache_folders_differ_per_url() {
        let a = parse("s3://b/one").ok();
        let b = parse("s3://b/two").ok();
        assert!(a.is_some() && b.is_some());
        assert_ne!(
            a.as_ref().map(Location::local_dir),
            b.as_ref().map(Location::local_dir)
        );
    }
}
