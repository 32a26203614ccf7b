//! Image references (`nginx:1.27`, `127.0.0.1:5000/app@sha256:…`) and registry addresses, checked with a
//! reason the user can act on when they are malformed.

use std::fmt;

use oci_client::{ParseError, Reference};

use super::error::{RegistryError, Result};

/// Docker Hub's registry name in references.
pub const DOCKER_HUB_REGISTRY: &str = "docker.io";

/// A parsed, valid image reference. Short names are completed as Docker does (`nginx` is
/// `docker.io/library/nginx:latest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    inner: Reference,
}

impl ImageRef {
    /// Parses `input`, saying why it is not a reference when it is not.
    pub fn parse(input: &str) -> Result<ImageRef> {
        let invalid = |reason: &str| RegistryError::InvalidReference {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        if input.trim().is_empty() {
            return Err(invalid(
                "it is empty; write e.g. nginx:1.27 or 127.0.0.1:5000/app:1",
            ));
        }
        if input.chars().any(char::is_whitespace) {
            return Err(invalid("it contains a space"));
        }
        if input.contains("://") {
            return Err(invalid(
                "a reference has no scheme; drop http:// or https:// (use --insecure for plain HTTP)",
            ));
        }
        if input.starts_with(':') || input.starts_with('@') || input.starts_with('/') {
            return Err(invalid("it has no repository name before the tag or digest"));
        }
        if let Some((_, digest)) = input.split_once('@') {
            match digest.split_once(':') {
                Some(("sha256", hex)) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {}
                Some(("sha256", _)) | None => {
                    return Err(invalid("a digest is sha256: followed by 64 hex digits"))
                }
                Some((algo, _)) if !matches!(algo, "sha384" | "sha512") => {
                    return Err(invalid("only sha256, sha384 and sha512 digests exist"))
                }
                Some(_) => {}
            }
        }
        let name = input.split('@').next().unwrap_or(input);
        let path = match name.split_once('/') {
            // The first part is a registry host when it looks like one; hosts may have capitals.
            Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => rest,
            _ => name,
        };
        let repo = path.rsplit_once(':').map(|(r, _)| r).unwrap_or(path);
        if repo.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(invalid("repository names must be lowercase"));
        }
        let inner = Reference::try_from(input).map_err(|e| invalid(&parse_reason(&e)))?;
        Ok(ImageRef { inner })
    }

    /// The registry host (`docker.io`, `127.0.0.1:5000`).
    pub fn registry(&self) -> &str {
        self.inner.registry()
    }

    /// The repository inside the registry (`library/nginx`, `app`).
    pub fn repository(&self) -> &str {
        self.inner.repository()
    }

    /// The tag, if any (`latest` when neither tag nor digest was given).
    pub fn tag(&self) -> Option<&str> {
        self.inner.tag()
    }

    /// The digest, if given.
    pub fn digest(&self) -> Option<&str> {
        self.inner.digest()
    }

    /// Whether it names a Docker Hub repository.
    pub fn is_docker_hub(&self) -> bool {
        self.registry() == DOCKER_HUB_REGISTRY
    }

    /// Whether the registry is on this computer (`localhost`, `127.0.0.1`, `[::1]`): such registries are
    /// reached over plain HTTP, as Docker does.
    pub fn is_loopback(&self) -> bool {
        is_loopback_host(self.registry())
    }

    /// The same repository at another digest.
    pub fn with_digest(&self, digest: &str) -> ImageRef {
        ImageRef {
            inner: Reference::with_digest(
                self.registry().to_string(),
                self.repository().to_string(),
                digest.to_string(),
            ),
        }
    }

    /// The reference as oci-client takes it.
    pub(crate) fn oci(&self) -> &Reference {
        &self.inner
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.inner)
    }
}

impl std::str::FromStr for ImageRef {
    type Err = RegistryError;
    fn from_str(s: &str) -> Result<ImageRef> {
        ImageRef::parse(s)
    }
}

/// A registry address as `berth catalog` takes it: `host[:port]`, optionally `http://` (plain HTTP) or
/// `https://` in front.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryAddr {
    /// `host[:port]`.
    pub host: String,
    /// Whether `http://` was written.
    pub plain_http: bool,
}

impl RegistryAddr {
    /// Parses `input`.
    pub fn parse(input: &str) -> Result<RegistryAddr> {
        let invalid = |reason: &str| RegistryError::InvalidReference {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        let (rest, plain_http) = if let Some(r) = input.strip_prefix("http://") {
            (r, true)
        } else if let Some(r) = input.strip_prefix("https://") {
            (r, false)
        } else {
            (input, false)
        };
        let host = rest.trim_end_matches('/');
        if host.is_empty() {
            return Err(invalid("it names no registry; write e.g. 127.0.0.1:5000"));
        }
        if host.contains('/') {
            return Err(invalid("a registry address is host[:port] without a path"));
        }
        let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
        if !host.chars().all(ok) {
            return Err(invalid(
                "a host name has only letters, digits, '.', '-' and ':port'",
            ));
        }
        if let Some((_, port)) = host.rsplit_once(':').filter(|_| !host.ends_with(']')) {
            if port.parse::<u16>().is_err() {
                return Err(invalid("the port must be a number up to 65535"));
            }
        }
        Ok(RegistryAddr {
            host: host.to_string(),
            plain_http,
        })
    }

    /// Whether the registry is on this computer.
    pub fn is_loopback(&self) -> bool {
        is_loopback_host(&self.host)
    }
}

/// Whether `host[:port]` names this computer.
pub fn is_loopback_host(host: &str) -> bool {
    let name = if host.starts_with('[') {
        host.split(']').next().unwrap_or(host).trim_start_matches('[')
    } else {
        host.split(':').next().unwrap_or(host)
    };
    name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

fn parse_reason(e: &ParseError) -> String {
    match e {
        ParseError::NameContainsUppercase => "repository names must be lowercase".into(),
        ParseError::NameEmpty => "it names no repository".into(),
        ParseError::NameTooLong => "the repository name is longer than 255 characters".into(),
        ParseError::TagInvalidFormat => {
            "a tag is up to 128 letters, digits, '_', '.' and '-', and starts with a letter, digit or '_'"
                .into()
        }
        ParseError::DigestInvalidFormat | ParseError::DigestInvalidLength => {
            "a digest is sha256: followed by 64 hex digits".into()
        }
        ParseError::DigestUnsupported => "only sha256, sha384 and sha512 digests exist".into(),
        _ => "it is not [registry[:port]/]name[:tag][@digest] (names are lowercase letters, digits and \
              '.', '_', '-' in parts separated by '/'; a tag follows ':')"
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_complete_as_docker_does() {
        let r = ImageRef::parse("nginx").unwrap();
        assert_eq!(r.registry(), "docker.io");
        assert_eq!(r.repository(), "library/nginx");
        assert_eq!(r.tag(), Some("latest"));
        assert!(r.is_docker_hub() && !r.is_loopback());
        assert_eq!(r.to_string(), "docker.io/library/nginx:latest");

        let r = ImageRef::parse("bitnami/redis:7.2").unwrap();
        assert_eq!((r.repository(), r.tag()), ("bitnami/redis", Some("7.2")));
    }

    #[test]
    fn registries_with_ports_and_digests() {
        let d = format!("sha256:{}", "a".repeat(64));
        let r = ImageRef::parse(&format!("127.0.0.1:5000/team/app@{d}")).unwrap();
        assert_eq!(r.registry(), "127.0.0.1:5000");
        assert_eq!(r.repository(), "team/app");
        assert_eq!(r.digest(), Some(d.as_str()));
        assert_eq!(r.tag(), None);
        assert!(r.is_loopback() && !r.is_docker_hub());
        assert!(ImageRef::parse("localhost:5000/app:1").unwrap().is_loopback());
        assert!(
            ImageRef::parse("Registry.Example.com/app:1").is_ok(),
            "hosts may have capitals"
        );
        let other = r.with_digest(&format!("sha256:{}", "b".repeat(64)));
        assert_eq!(other.repository(), "team/app");
    }

    #[test]
    fn malformed_references_say_why() {
        let reason = |s: &str| ImageRef::parse(s).unwrap_err().to_string();
        assert!(reason("").contains("it is empty"), "{}", reason(""));
        assert!(reason("ng inx").contains("contains a space"));
        assert!(
            reason("Nginx:1").contains("must be lowercase"),
            "{}",
            reason("Nginx:1")
        );
        assert!(reason("https://r.io/app").contains("no scheme"));
        assert!(reason(":1.0").contains("no repository name"));
        assert!(
            reason("app@sha256:abc").contains("64 hex digits"),
            "{}",
            reason("app@sha256:abc")
        );
        assert!(
            reason("app@md5:abc").contains("only sha256"),
            "{}",
            reason("app@md5:abc")
        );
        assert!(reason("app@sha256").contains("64 hex digits"));
        assert!(
            reason("app:-bad").contains("not [registry"),
            "{}",
            reason("app:-bad")
        );
        assert!(reason("a//b").starts_with("not a valid reference: \"a//b\" because"));
    }

    #[test]
    fn registry_addresses() {
        let a = RegistryAddr::parse("127.0.0.1:5000").unwrap();
        assert_eq!(a.host, "127.0.0.1:5000");
        assert!(!a.plain_http && a.is_loopback());
        let a = RegistryAddr::parse("http://reg.lan:5000/").unwrap();
        assert_eq!(a.host, "reg.lan:5000");
        assert!(a.plain_http && !a.is_loopback());
        assert!(RegistryAddr::parse("[::1]:5000").unwrap().is_loopback());
        assert!(RegistryAddr::parse("reg.lan/v2")
            .unwrap_err()
            .to_string()
            .contains("without a path"));
        assert!(RegistryAddr::parse("reg.lan:http")
            .unwrap_err()
            .to_string()
            .contains("port"));
        assert!(RegistryAddr::parse("").is_err());
    }
}
