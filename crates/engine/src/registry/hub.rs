//! Docker Hub's search and tag listing, over its public JSON API (no login).
//!
//! Endpoints used, relative to the base URL (default <https://hub.docker.com>, overridden by the caller or
//! by `BERTH_HUB_URL`, which tests point at a fixture on 127.0.0.1):
//! - `GET /v2/search/repositories/?query=…&page_size=…&page=…` →
//!   `{count, next, previous, results: [{repo_name, short_description, star_count, pull_count, repo_owner,
//!   is_automated, is_official}]}`. This is the endpoint `docker search` has long mirrored and whose shape
//!   is stable; the newer `/api/search/v3/catalog/search` carries badges but is undocumented and has
//!   changed shape over time. v2 has no verified-publisher field of its own: we read `is_verified_publisher`
//!   or a `badge` of `verified_publisher` when an answer carries them, and report `false` otherwise.
//! - `GET /v2/namespaces/{ns}/repositories/{repo}/tags?page_size=…&page=…` →
//!   `{count, next, previous, results: [{name, full_size, last_updated, digest, images: [{architecture, os, variant, size,
//!   digest}]}]}`.
//!
//! Both are paged: `page` counts from 1, and `next` is the URL of the following page (null on the last), which
//! becomes [`SearchPage::next_page`] / [`TagPage::next_page`].
//!
//! Every field is optional when parsing: an entry without a name is skipped (and logged), a missing count
//! is 0. HTTP 429 becomes [`RegistryError::RateLimited`] with the wait from `Retry-After` or
//! `X-RateLimit-Reset`; 404 becomes [`RegistryError::NotFound`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{retry_after, RegistryError, Result};
use super::http_client;
use super::reference::ImageRef;

/// Docker Hub's address when nothing overrides it.
pub const DEFAULT_HUB_URL: &str = "https://hub.docker.com";
/// The environment variable that overrides Docker Hub's address.
pub const HUB_URL_ENV: &str = "BERTH_HUB_URL";

/// A client for Docker Hub's search API.
#[derive(Debug, Clone)]
pub struct Hub {
    base: String,
    http: reqwest::Client,
}

/// One repository found by a search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubRepo {
    /// The name to pull (`nginx`, `bitnami/redis`).
    pub name: String,
    /// Its namespace (`library` for official images).
    pub namespace: String,
    /// The one-line description.
    pub description: String,
    /// Stars.
    pub stars: u64,
    /// Pulls.
    pub pulls: u64,
    /// A Docker Official Image.
    pub official: bool,
    /// Published by a verified publisher (only when the answer says so).
    pub verified_publisher: bool,
    /// Built automatically from a source repository (a legacy Hub feature).
    pub automated: bool,
}

/// One page of search results.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchPage {
    /// How many repositories match in all.
    pub total: u64,
    /// This page's repositories, in Hub's order.
    pub results: Vec<HubRepo>,
    /// The number of the following page, when Hub says there is one.
    #[serde(default)]
    pub next_page: Option<u32>,
}

/// One tag of a Hub repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubTag {
    /// The tag (`1.27-alpine`).
    pub name: String,
    /// Compressed size of its largest image, in bytes.
    pub size: u64,
    /// When it was last pushed (RFC 3339), if known.
    pub last_updated: Option<String>,
    /// The digest of its manifest or manifest list, if known.
    pub digest: Option<String>,
    /// Its images, one per platform.
    pub images: Vec<HubTagImage>,
}

/// One platform's image under a tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubTagImage {
    /// `linux`.
    pub os: String,
    /// `amd64`, `arm64`, …
    pub architecture: String,
    /// `v7`, `v8`, …
    pub variant: Option<String>,
    /// Compressed size in bytes.
    pub size: u64,
    /// The image manifest's digest.
    pub digest: Option<String>,
}

/// One page of tags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagPage {
    /// How many tags the repository has.
    pub total: u64,
    /// This page's tags, newest first.
    pub tags: Vec<HubTag>,
    /// The number of the following page, when Hub says there is one.
    #[serde(default)]
    pub next_page: Option<u32>,
}

impl Hub {
    /// A client for the Hub API at `base_url` (`https://hub.docker.com`, `http://127.0.0.1:PORT`).
    pub fn new(base_url: &str) -> Result<Hub> {
        let base = base_url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(RegistryError::InvalidReference {
                input: base_url.to_string(),
                reason: "the Docker Hub address must start with http:// or https://".into(),
            });
        }
        Ok(Hub {
            base,
            http: http_client()?,
        })
    }

    /// A client for `BERTH_HUB_URL` when set, else Docker Hub.
    pub fn from_env() -> Result<Hub> {
        match std::env::var(HUB_URL_ENV) {
            Ok(url) if !url.is_empty() => Hub::new(&url),
            _ => Hub::new(DEFAULT_HUB_URL),
        }
    }

    /// The base URL in use.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Repositories matching `query`, at most `limit` (1–100) of them: the first page.
    pub async fn search(&self, query: &str, limit: u32) -> Result<SearchPage> {
        self.search_page(query, limit, 1).await
    }

    /// Page `page` (from 1) of the repositories matching `query`, `limit` (1–100) per page.
    pub async fn search_page(&self, query: &str, limit: u32, page: u32) -> Result<SearchPage> {
        if query.trim().is_empty() {
            return Err(RegistryError::InvalidReference {
                input: query.to_string(),
                reason: "a search needs a term, e.g. `berth search nginx`".into(),
            });
        }
        let page = page.max(1);
        let url = format!(
            "{}/v2/search/repositories/?query={}&page_size={}&page={page}",
            self.base,
            encode_component(query),
            limit.clamp(1, 100)
        );
        let what = if page == 1 {
            format!("repositories matching {query:?}")
        } else {
            format!("page {page} of the repositories matching {query:?}")
        };
        let body = self.get(&url, &what).await?;
        parse_search(&body, page).map_err(|e| RegistryError::malformed(self.target(), e))
    }

    /// Tags of a Hub repository (`nginx`, `bitnami/redis`), newest first, at most `limit` (1–100): the
    /// first page.
    pub async fn tags(&self, repository: &str, limit: u32) -> Result<TagPage> {
        self.tags_page(repository, limit, 1).await
    }

    /// Page `page` (from 1) of a Hub repository's tags, newest first, `limit` (1–100) per page.
    pub async fn tags_page(&self, repository: &str, limit: u32, page: u32) -> Result<TagPage> {
        let r = ImageRef::parse(repository)?;
        if !r.is_docker_hub() {
            return Err(RegistryError::InvalidReference {
                input: repository.to_string(),
                reason: format!(
                    "{} is not on Docker Hub; list its tags from its registry",
                    r.registry()
                ),
            });
        }
        let (ns, name) = r
            .repository()
            .split_once('/')
            .unwrap_or(("library", r.repository()));
        let page = page.max(1);
        let url = format!(
            "{}/v2/namespaces/{ns}/repositories/{name}/tags?page_size={}&page={page}",
            self.base,
            limit.clamp(1, 100)
        );
        let what = if page == 1 {
            format!("repository {ns}/{name} on Docker Hub")
        } else {
            format!("page {page} of the tags of {ns}/{name} on Docker Hub")
        };
        let body = self.get(&url, &what).await?;
        parse_tags(&body, page).map_err(|e| RegistryError::malformed(self.target(), e))
    }

    fn target(&self) -> String {
        format!("Docker Hub at {}", self.base)
    }

    async fn get(&self, url: &str, what: &str) -> Result<bytes::Bytes> {
        tracing::debug!(url, "Docker Hub request");
        let resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| RegistryError::Unreachable {
                target: self.target(),
                cause: error_chain(&e),
                hint: format!("; set {HUB_URL_ENV} to use another address"),
            })?;
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(String::from)
        };
        let (ra, reset) = (header("retry-after"), header("x-ratelimit-reset"));
        let body = resp.bytes().await.map_err(|e| RegistryError::Unreachable {
            target: self.target(),
            cause: error_chain(&e),
            hint: String::new(),
        })?;
        match http_error(
            &self.target(),
            what,
            status,
            ra.as_deref(),
            reset.as_deref(),
            &body,
        ) {
            Some(e) => Err(e),
            None => Ok(body),
        }
    }
}

/// The error an HTTP answer means, or `None` for success.
pub(crate) fn http_error(
    target: &str,
    what: &str,
    status: u16,
    retry_after_header: Option<&str>,
    ratelimit_reset: Option<&str>,
    body: &[u8],
) -> Option<RegistryError> {
    match status {
        200..=299 => None,
        404 => Some(RegistryError::NotFound {
            what: what.to_string(),
        }),
        429 => Some(RegistryError::RateLimited {
            target: target.to_string(),
            retry_after: retry_after(retry_after_header, ratelimit_reset, std::time::SystemTime::now()),
        }),
        401 | 403 => Some(RegistryError::Unauthorized {
            target: target.to_string(),
        }),
        _ => Some(RegistryError::Http {
            target: target.to_string(),
            status,
            message: String::from_utf8_lossy(&body[..body.len().min(200)])
                .trim()
                .to_string(),
        }),
    }
}

/// `reqwest`'s error with its causes (it hides "connection refused" two levels down).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s = format!("{s}: {m}");
        }
        cur = c.source();
    }
    s
}

fn encode_component(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn items(v: &Value) -> impl Iterator<Item = &Value> {
    v.get("results").and_then(Value::as_array).into_iter().flatten()
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn count(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// The page after `page`, when the answer's `next` names one: its `page` parameter, else `page + 1`.
fn next_page(v: &Value, page: u32) -> Option<u32> {
    let next = v.get("next").and_then(Value::as_str).filter(|n| !n.is_empty())?;
    let query = next.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let named = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "page")
        .and_then(|(_, v)| v.parse::<u32>().ok())
        .filter(|n| *n > page);
    Some(named.unwrap_or(page.saturating_add(1)))
}

fn parse_search(body: &[u8], page: u32) -> std::result::Result<SearchPage, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("search answer is not JSON: {e}"))?;
    if !v.get("results").is_some_and(Value::is_array) {
        return Err("search answer has no `results` list".into());
    }
    let mut results = Vec::new();
    for item in items(&v) {
        let Some(full) = text(item, "repo_name").filter(|n| !n.is_empty()) else {
            tracing::warn!(%item, "Docker Hub search result without repo_name, skipped");
            continue;
        };
        let namespace = match full.split_once('/') {
            Some((ns, _)) => ns.to_string(),
            None => text(item, "repo_owner")
                .filter(|o| !o.is_empty())
                .unwrap_or("library".into()),
        };
        let badge = text(item, "badge").unwrap_or_default();
        results.push(HubRepo {
            namespace,
            description: text(item, "short_description").unwrap_or_default(),
            stars: count(item, "star_count"),
            pulls: count(item, "pull_count"),
            official: flag(item, "is_official") || badge == "official",
            verified_publisher: flag(item, "is_verified_publisher") || badge == "verified_publisher",
            automated: flag(item, "is_automated"),
            name: full,
        });
    }
    let total = v
        .get("count")
        .and_then(Value::as_u64)
        .unwrap_or(results.len() as u64);
    Ok(SearchPage {
        total,
        results,
        next_page: next_page(&v, page),
    })
}

fn parse_tags(body: &[u8], page: u32) -> std::result::Result<TagPage, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("tags answer is not JSON: {e}"))?;
    if !v.get("results").is_some_and(Value::is_array) {
        return Err("tags answer has no `results` list".into());
    }
    let mut tags = Vec::new();
    for item in items(&v) {
        let Some(name) = text(item, "name").filter(|n| !n.is_empty()) else {
            tracing::warn!(%item, "Docker Hub tag without a name, skipped");
            continue;
        };
        let images = item
            .get("images")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|i| HubTagImage {
                os: text(i, "os").unwrap_or_default(),
                architecture: text(i, "architecture").unwrap_or_default(),
                variant: text(i, "variant").filter(|s| !s.is_empty()),
                size: count(i, "size"),
                digest: text(i, "digest"),
            })
            .collect();
        tags.push(HubTag {
            name,
            size: count(item, "full_size"),
            last_updated: text(item, "last_updated"),
            digest: text(item, "digest"),
            images,
        });
    }
    let total = v
        .get("count")
        .and_then(Value::as_u64)
        .unwrap_or(tags.len() as u64);
    Ok(TagPage {
        total,
        tags,
        next_page: next_page(&v, page),
    })
}

#[cfg(test)]
#[path = "hub_tests.rs"]
mod tests;
