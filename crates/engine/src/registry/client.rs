//! A registry's API (OCI distribution, via `oci-client`): catalog, tags, manifests and manifest lists
//! with their platforms, and image configs. Registries on loopback, or marked insecure, are reached over
//! plain HTTP; credentials are optional (basic auth, or the registry's token flow behind it).

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::manifest::{OciDescriptor, OciImageManifest, OciManifest};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde::{Deserialize, Serialize};

use super::error::{RegistryError, Result};
use super::hub::error_chain;
use super::image_config::{platform_string, ImageConfig};
use super::install_crypto;
use super::reference::{is_loopback_host, ImageRef};

/// Configs larger than this are refused (real ones are a few KiB).
const MAX_CONFIG_BYTES: i64 = 8 << 20;
/// Repositories asked for per catalog page.
const CATALOG_PAGE: usize = 100;

/// How to reach a registry.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// Use plain HTTP (loopback registries always do).
    pub insecure: bool,
    /// User name and password, if the registry needs them.
    pub credentials: Option<(String, String)>,
}

/// A client for one registry.
#[derive(Clone)]
pub struct Registry {
    host: String,
    plain_http: bool,
    client: Client,
    auth: RegistryAuth,
}

/// A manifest, or a manifest list, as the registry has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestInfo {
    /// The reference asked for.
    pub reference: String,
    /// The digest of what the reference points at.
    pub digest: String,
    /// Its media type.
    pub media_type: String,
    /// Whether it is a manifest list (image index) rather than one image.
    pub is_list: bool,
    /// The images: one, or one per platform of a list.
    pub platforms: Vec<PlatformImage>,
}

/// One platform's image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformImage {
    /// `os/arch[/variant]`.
    pub platform: String,
    /// The image manifest's digest.
    pub digest: String,
    /// Bytes to download: config and layers as stored.
    pub size: u64,
    /// How many layers it has.
    pub layers: usize,
}

/// An image manifest chosen for a platform, with its config.
#[derive(Debug, Clone)]
pub struct ResolvedImage {
    /// The image manifest's digest.
    pub digest: String,
    /// Its config.
    pub config: ImageConfig,
    /// Its layer blobs, lowest first.
    pub layers: Vec<OciDescriptor>,
}

impl Registry {
    /// A client for `host` (`127.0.0.1:5000`, `registry.example.com`; `docker.io` for Docker Hub).
    pub fn new(host: &str, opts: &RegistryOptions) -> Registry {
        install_crypto();
        let plain_http = opts.insecure || is_loopback_host(host);
        let protocol = if plain_http {
            ClientProtocol::HttpsExcept(vec![host.to_string()])
        } else {
            ClientProtocol::Https
        };
        let client = Client::new(ClientConfig {
            protocol,
            platform_resolver: None,
            connect_timeout: Some(std::time::Duration::from_secs(10)),
            read_timeout: Some(std::time::Duration::from_secs(60)),
            ..Default::default()
        });
        let auth = match &opts.credentials {
            Some((u, p)) => RegistryAuth::Basic(u.clone(), p.clone()),
            None => RegistryAuth::Anonymous,
        };
        Registry {
            host: host.to_string(),
            plain_http,
            client,
            auth,
        }
    }

    /// A client for the registry `image` lives on.
    pub fn for_image(image: &ImageRef, opts: &RegistryOptions) -> Registry {
        Registry::new(image.registry(), opts)
    }

    /// The repositories the registry lists (`/v2/_catalog`), sorted, at most `limit`.
    pub async fn catalog(&self, limit: usize) -> Result<Vec<String>> {
        let probe = Reference::with_tag(self.host.clone(), "catalog".into(), "latest".into());
        let mut all: Vec<String> = Vec::new();
        while all.len() < limit {
            let last = all.last().cloned();
            let page = self
                .client
                .catalog(&probe, &self.auth, Some(CATALOG_PAGE), last.as_deref())
                .await
                .map_err(|e| self.error(e, "the catalog"))?;
            let n = page.repositories.len();
            all.extend(page.repositories);
            if n < CATALOG_PAGE {
                break;
            }
        }
        all.truncate(limit);
        all.sort();
        all.dedup();
        Ok(all)
    }

    /// The tags of `repo`'s repository (`/v2/<name>/tags/list`), sorted.
    pub async fn tags(&self, repo: &ImageRef) -> Result<Vec<String>> {
        let mut tags = self
            .client
            .list_tags(repo.oci(), &self.auth, None, None)
            .await
            .map_err(|e| self.error(e, &format!("repository {}", repo.repository())))?
            .tags;
        tags.sort();
        Ok(tags)
    }

    /// The manifest or manifest list `image` points at, with every platform's digest and size.
    pub async fn manifest(&self, image: &ImageRef) -> Result<ManifestInfo> {
        let (manifest, digest) = self.pull_manifest(image).await?;
        match manifest {
            OciManifest::Image(m) => {
                let config = self.config(image, &m).await?;
                Ok(ManifestInfo {
                    reference: image.to_string(),
                    media_type: m.media_type.clone().unwrap_or_default(),
                    is_list: false,
                    platforms: vec![platform_image(config.platform(), &digest, &m)],
                    digest,
                })
            }
            OciManifest::ImageIndex(index) => {
                let mut platforms = Vec::new();
                for entry in &index.manifests {
                    let platform = match &entry.platform {
                        Some(p) => platform_string(
                            &p.os.to_string(),
                            &p.architecture.to_string(),
                            p.variant.as_deref(),
                        ),
                        None => "unknown".into(),
                    };
                    let child = image.with_digest(&entry.digest);
                    match self.pull_manifest(&child).await? {
                        (OciManifest::Image(m), d) => platforms.push(platform_image(platform, &d, &m)),
                        (OciManifest::ImageIndex(_), d) => {
                            tracing::debug!(digest = %d, "nested image index skipped")
                        }
                    }
                }
                Ok(ManifestInfo {
                    reference: image.to_string(),
                    digest,
                    media_type: index.media_type.clone().unwrap_or_default(),
                    is_list: true,
                    platforms,
                })
            }
        }
    }

    /// The image for `platform` (`linux/arm64`; default: this computer's architecture) that `image`
    /// points at, with its config and layers.
    pub async fn resolve(&self, image: &ImageRef, platform: Option<&str>) -> Result<ResolvedImage> {
        let (mut manifest, mut digest) = self.pull_manifest(image).await?;
        if let OciManifest::ImageIndex(index) = &manifest {
            let wanted = platform.map(str::to_string).unwrap_or_else(default_platform);
            let platforms: Vec<(String, &str)> = index
                .manifests
                .iter()
                .filter_map(|e| {
                    let p = e.platform.as_ref()?;
                    let name = platform_string(
                        &p.os.to_string(),
                        &p.architecture.to_string(),
                        p.variant.as_deref(),
                    );
                    Some((name, e.digest.as_str()))
                })
                .collect();
            let chosen = platforms
                .iter()
                .find(|(p, _)| platform_matches(p, &wanted))
                .ok_or_else(|| RegistryError::NoSuchPlatform {
                    image: image.to_string(),
                    wanted: wanted.clone(),
                    available: platforms
                        .iter()
                        .map(|(p, _)| p.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
            (manifest, digest) = self.pull_manifest(&image.with_digest(chosen.1)).await?;
        }
        let OciManifest::Image(m) = manifest else {
            return Err(RegistryError::malformed(
                self.target(),
                "an image index inside an image index",
            ));
        };
        let config = self.config(image, &m).await?;
        Ok(ResolvedImage {
            digest,
            config,
            layers: m.layers,
        })
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    pub(crate) fn target(&self) -> String {
        format!("registry {}", self.host)
    }

    async fn pull_manifest(&self, image: &ImageRef) -> Result<(OciManifest, String)> {
        self.client
            .pull_manifest(image.oci(), &self.auth)
            .await
            .map_err(|e| self.error(e, &format!("image {image}")))
    }

    async fn config(&self, image: &ImageRef, m: &OciImageManifest) -> Result<ImageConfig> {
        if m.config.size > MAX_CONFIG_BYTES {
            return Err(RegistryError::malformed(
                self.target(),
                format!(
                    "the image config is {} bytes, more than a config can sensibly be",
                    m.config.size
                ),
            ));
        }
        let mut data: Vec<u8> = Vec::new();
        self.client
            .pull_blob(image.oci(), &m.config, &mut data)
            .await
            .map_err(|e| self.error(e, &format!("the config of {image}")))?;
        ImageConfig::from_json(&data).map_err(|e| RegistryError::malformed(self.target(), e))
    }

    pub(crate) fn error(&self, e: OciDistributionError, what: &str) -> RegistryError {
        oci_error(&self.target(), what, self.plain_http, e)
    }
}

fn platform_image(platform: String, digest: &str, m: &OciImageManifest) -> PlatformImage {
    let size = m.config.size.max(0) as u64 + m.layers.iter().map(|l| l.size.max(0) as u64).sum::<u64>();
    PlatformImage {
        platform,
        digest: digest.to_string(),
        size,
        layers: m.layers.len(),
    }
}

/// This computer's platform, as images name it: Berth's machine runs the host's architecture.
pub fn default_platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    format!("linux/{arch}")
}

/// Whether `have` (`linux/arm64/v8`) satisfies `wanted` (`linux/arm64`, or exactly `linux/arm64/v8`).
fn platform_matches(have: &str, wanted: &str) -> bool {
    let h: Vec<&str> = have.split('/').collect();
    let w: Vec<&str> = wanted.split('/').collect();
    h.len() >= 2 && w.len() >= 2 && h[..2] == w[..2] && (w.len() == 2 || h.get(2) == w.get(2))
}

/// What an oci-client failure means for the user.
pub(crate) fn oci_error(
    target: &str,
    what: &str,
    plain_http: bool,
    e: OciDistributionError,
) -> RegistryError {
    let not_found = || RegistryError::NotFound {
        what: format!("{what} on {target}"),
    };
    let unauthorized = || RegistryError::Unauthorized {
        target: target.to_string(),
    };
    let limited = || RegistryError::RateLimited {
        target: target.to_string(),
        // oci-client keeps the answer's headers to itself.
        retry_after: None,
    };
    match e {
        OciDistributionError::RequestError(re) => RegistryError::Unreachable {
            target: target.to_string(),
            cause: error_chain(&re),
            hint: if plain_http {
                String::new()
            } else {
                "; if the registry serves plain HTTP, pass --insecure".into()
            },
        },
        OciDistributionError::UnauthorizedError { .. } | OciDistributionError::AuthenticationFailure(_) => {
            unauthorized()
        }
        OciDistributionError::ImageManifestNotFoundError(_) => not_found(),
        OciDistributionError::RegistryError { envelope, .. } => {
            let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
            use OciErrorCode::*;
            if codes
                .iter()
                .any(|c| matches!(c, NameUnknown | ManifestUnknown | BlobUnknown | NotFound))
            {
                not_found()
            } else if codes.iter().any(|c| matches!(c, Unauthorized | Denied)) {
                unauthorized()
            } else if codes.iter().any(|c| matches!(c, Toomanyrequests)) {
                limited()
            } else {
                RegistryError::Http {
                    target: target.to_string(),
                    status: 400,
                    message: envelope.to_string(),
                }
            }
        }
        OciDistributionError::ServerError { code, message, .. } => match code {
            404 => not_found(),
            401 | 403 => unauthorized(),
            429 => limited(),
            _ => RegistryError::Http {
                target: target.to_string(),
                status: code,
                message: message.chars().take(200).collect(),
            },
        },
        other => RegistryError::malformed(target, other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_client::errors::{OciEnvelope, OciError};

    fn envelope(code: OciErrorCode) -> OciDistributionError {
        OciDistributionError::RegistryError {
            envelope: OciEnvelope {
                errors: vec![OciError {
                    code,
                    message: "m".into(),
                    detail: serde_json::Value::Null,
                }],
            },
            url: "u".into(),
        }
    }

    #[test]
    fn registry_errors_map_to_what_the_user_can_do() {
        let map = |e| oci_error("registry r", "image r/a:1", false, e);
        assert!(matches!(
            map(envelope(OciErrorCode::ManifestUnknown)),
            RegistryError::NotFound { .. }
        ));
        assert!(matches!(
            map(envelope(OciErrorCode::NameUnknown)),
            RegistryError::NotFound { .. }
        ));
        assert!(matches!(
            map(envelope(OciErrorCode::Denied)),
            RegistryError::Unauthorized { .. }
        ));
        assert!(matches!(
            map(envelope(OciErrorCode::Toomanyrequests)),
            RegistryError::RateLimited { .. }
        ));
        let server = |code| OciDistributionError::ServerError {
            code,
            url: "u".into(),
            message: "x".into(),
        };
        assert_eq!(
            map(server(404)).to_string(),
            "not found: image r/a:1 on registry r"
        );
        assert!(map(server(429))
            .to_string()
            .contains("rate limited us, retry in a minute or so"));
        assert!(map(server(502)).to_string().contains("HTTP 502"));
        assert!(map(OciDistributionError::UnauthorizedError { url: "u".into() })
            .to_string()
            .contains("pass credentials"));
    }

    #[test]
    fn platforms_match_with_or_without_variant() {
        assert!(platform_matches("linux/arm64/v8", "linux/arm64"));
        assert!(platform_matches("linux/arm64/v8", "linux/arm64/v8"));
        assert!(!platform_matches("linux/arm/v6", "linux/arm/v7"));
        assert!(!platform_matches("linux/amd64", "linux/arm64"));
        assert!(!platform_matches("linux", "linux/amd64"));
        assert!(default_platform().starts_with("linux/"));
    }
}
