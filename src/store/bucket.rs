//! A bucket of an object store (S3 and the S3 protocol of MinIO, Ceph and others; Google
//! Cloud Storage; Azure Blob Storage), through the `object_store` crate, behind a blocking
//! interface: the store's callers are synchronous (polars, rayon) and may run on threads of
//! the server's runtime, so every request runs on one runtime of its own, shared by the
//! process and never dropped.

use super::StoreError;
use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use std::sync::{Arc, OnceLock};

/// One object of a listing.
#[derive(Debug, Clone)]
pub struct Listed {
    /// Key relative to the store's prefix.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modified, Unix seconds.
    pub modified: u64,
}

/// A bucket and the prefix the store lives under.
#[derive(Debug, Clone)]
pub struct Bucket {
    url: String,
    inner: Arc<dyn ObjectStore>,
    prefix: String,
}

fn runtime() -> Result<&'static tokio::runtime::Runtime, StoreError> {
    static RT: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("vigil-objects")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| StoreError::Bucket {
        url: String::new(),
        message: format!("cannot start the object-store runtime: {e}"),
    })
}

impl Bucket {
    /// Connects to the bucket of `url` (`s3://bucket/prefix`…). Credentials, region and
    /// endpoint come from the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`; `GOOGLE_*`; `AZURE_*`), then from
    /// `options` (`store.object_options` of `vigil.toml`), which win. No request is made.
    /// One client per URL and options in a process (its connections are reused: a server
    /// opens the store for many requests).
    pub fn connect(
        url: &str,
        options: &std::collections::BTreeMap<String, String>,
    ) -> Result<Self, StoreError> {
        type Clients = std::sync::Mutex<
            std::collections::HashMap<(String, std::collections::BTreeMap<String, String>), Bucket>,
        >;
        static CLIENTS: OnceLock<Clients> = OnceLock::new();
        let clients = CLIENTS.get_or_init(Default::default);
        let key = (url.to_owned(), options.clone());
        if let Some(b) = clients.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return Ok(b);
        }
        let b = Self::build(url, options)?;
        if let Ok(mut c) = clients.lock() {
            c.insert(key, b.clone());
        }
        Ok(b)
    }

    fn build(
        url: &str,
        options: &std::collections::BTreeMap<String, String>,
    ) -> Result<Self, StoreError> {
        let fail = |message: String| StoreError::Bucket {
            url: url.to_owned(),
            message,
        };
        let parsed = url::Url::parse(url).map_err(|e| fail(e.to_string()))?;
        let scheme = parsed.scheme().to_ascii_lowercase();
        let bad_option = |k: &str| {
            fail(format!(
                "store.object_options: `{k}` is not an option of {scheme}://"
            ))
        };
        let inner: Arc<dyn ObjectStore> = match scheme.as_str() {
            "s3" | "s3a" => {
                let mut b = object_store::aws::AmazonS3Builder::from_env().with_url(url);
                for (k, v) in options {
                    let key = k.to_ascii_lowercase().parse().map_err(|_| bad_option(k))?;
                    b = b.with_config(key, v);
                }
                Arc::new(b.build().map_err(|e| fail(e.to_string()))?)
            }
            "gs" => {
                let mut b = object_store::gcp::GoogleCloudStorageBuilder::from_env().with_url(url);
                for (k, v) in options {
                    let key = k.to_ascii_lowercase().parse().map_err(|_| bad_option(k))?;
                    b = b.with_config(key, v);
                }
                Arc::new(b.build().map_err(|e| fail(e.to_string()))?)
            }
            "az" | "adl" | "azure" | "abfs" | "abfss" => {
                let mut b = object_store::azure::MicrosoftAzureBuilder::from_env().with_url(url);
                for (k, v) in options {
                    let key = k.to_ascii_lowercase().parse().map_err(|_| bad_option(k))?;
                    b = b.with_config(key, v);
                }
                Arc::new(b.build().map_err(|e| fail(e.to_string()))?)
            }
            other => return Err(fail(format!("unknown object-store scheme `{other}`"))),
        };
        // s3://bucket/prefix, az://container/prefix,
        // abfss://container@account.dfs.core.windows.net/prefix: the path is the prefix.
        let prefix = parsed.path().trim_matches('/').to_owned();
        Ok(Self {
            url: url.to_owned(),
            inner,
            prefix,
        })
    }

    /// The URL the bucket was opened with.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn path(&self, key: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{}/{key}", self.prefix))
        }
    }

    fn fail(&self, key: &str, e: impl std::fmt::Display) -> StoreError {
        StoreError::Bucket {
            url: format!("{}/{key}", self.url),
            message: e.to_string(),
        }
    }

    /// Runs a request on the object-store runtime and waits for it.
    fn block<T: Send + 'static>(
        &self,
        fut: impl std::future::Future<Output = T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        runtime()?.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv().map_err(|_| StoreError::Bucket {
            url: self.url.clone(),
            message: "the object-store request was dropped".into(),
        })
    }

    /// The object at `key`, or `None` when there is none.
    pub fn get(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        let inner = self.inner.clone();
        let path = self.path(key);
        let got = self.block(async move {
            match inner.get(&path).await {
                Ok(r) => r.bytes().await.map(Some),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        })?;
        got.map_err(|e| self.fail(key, e))
    }

    /// Writes `bytes` at `key` (replacing any object there).
    pub fn put(&self, key: &str, bytes: Bytes) -> Result<(), StoreError> {
        let inner = self.inner.clone();
        let path = self.path(key);
        self.block(async move { inner.put(&path, PutPayload::from_bytes(bytes)).await })?
            .map(|_| ())
            .map_err(|e| self.fail(key, e))
    }

    /// Creates the object at `key` only if there is none (`If-None-Match: *` on S3): `true`
    /// when this call created it, `false` when another writer had.
    pub fn create(&self, key: &str, bytes: Bytes) -> Result<bool, StoreError> {
        let inner = self.inner.clone();
        let path = self.path(key);
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        let put = self.block(async move {
            inner
                .put_opts(&path, PutPayload::from_bytes(bytes), opts)
                .await
        })?;
        match put {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(self.fail(key, e)),
        }
    }

    /// The objects under `folder` (a key prefix ending in `/`, or empty for all) whose key
    /// sorts after `after`, when given.
    pub fn list(&self, folder: &str, after: Option<&str>) -> Result<Vec<Listed>, StoreError> {
        let inner = self.inner.clone();
        let prefix_path = if folder.is_empty() {
            (!self.prefix.is_empty()).then(|| ObjectPath::from(self.prefix.as_str()))
        } else {
            Some(self.path(folder.trim_end_matches('/')))
        };
        let offset = after.map(|a| self.path(a));
        let metas = self.block(async move {
            let stream = match &offset {
                Some(o) => inner.list_with_offset(prefix_path.as_ref(), o),
                None => inner.list(prefix_path.as_ref()),
            };
            stream.try_collect::<Vec<_>>().await
        })?;
        let metas = metas.map_err(|e| self.fail(folder, e))?;
        let strip = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        Ok(metas
            .into_iter()
            .filter_map(|m| {
                let key = m.location.as_ref().strip_prefix(&strip)?.to_owned();
                Some(Listed {
                    key,
                    size: m.size,
                    modified: u64::try_from(m.last_modified.timestamp()).unwrap_or(0),
                })
            })
            .collect())
    }

    /// Deletes the object at `key` (nothing when there is none).
    pub fn delete(&self, key: &str) -> Result<(), StoreError> {
        let inner = self.inner.clone();
        let path = self.path(key);
        match self.block(async move { inner.delete(&path).await })? {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.fail(key, e)),
        }
    }
}
