//! Checking a user name and password against a registry before anything is stored, as `docker login`
//! does: `GET /v2/` with basic auth; when the registry answers with a Bearer challenge (Docker Hub, most
//! hosted registries), the same credentials are sent to its token service instead.

use base64::Engine as _;
use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::StatusCode;

use super::error::{RegistryError, Result};
use super::hub::error_chain;
use super::install_crypto;

/// A challenge from `WWW-Authenticate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// `Basic realm="…"`.
    Basic,
    /// `Bearer realm="…",service="…"`.
    Bearer {
        /// The token service's URL.
        realm: String,
        /// The service name to ask a token for.
        service: Option<String>,
    },
}

/// Reads a `WWW-Authenticate` header (`Bearer realm="https://auth.example/token",service="reg"`).
pub(crate) fn parse_challenge(header: &str) -> Option<Challenge> {
    let (scheme, params) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
    let param = |name: &str| {
        params.split(',').find_map(|p| {
            let (k, v) = p.trim().split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().trim_matches('"').to_string())
        })
    };
    if scheme.eq_ignore_ascii_case("basic") {
        Some(Challenge::Basic)
    } else if scheme.eq_ignore_ascii_case("bearer") {
        Some(Challenge::Bearer {
            realm: param("realm")?,
            service: param("service"),
        })
    } else {
        None
    }
}

/// Checks `user`/`password` against the registry at `http_host` (`127.0.0.1:5000`, reached over plain
/// HTTP when `plain_http`); `registry` is the name the user gave, for messages.
pub async fn verify_login(
    registry: &str,
    http_host: &str,
    plain_http: bool,
    user: &str,
    password: &str,
) -> Result<()> {
    install_crypto();
    let target = format!("registry {registry}");
    let unreachable = |e: reqwest::Error| RegistryError::Unreachable {
        target: target.clone(),
        cause: error_chain(&e),
        hint: if plain_http {
            String::new()
        } else {
            "; if the registry serves plain HTTP, add it to the machine's insecure registries".into()
        },
    };
    let client = reqwest::Client::builder()
        .user_agent(concat!("berth/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(unreachable)?;
    let scheme = if plain_http { "http" } else { "https" };
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    );
    let resp = client
        .get(format!("{scheme}://{http_host}/v2/"))
        .header(AUTHORIZATION, &basic)
        .send()
        .await
        .map_err(unreachable)?;
    let wrong = || RegistryError::WrongCredentials {
        registry: registry.to_string(),
    };
    match resp.status() {
        s if s.is_success() => return Ok(()),
        StatusCode::UNAUTHORIZED => {}
        StatusCode::FORBIDDEN => return Err(wrong()),
        s => return Err(http_error(&target, s, resp).await),
    }
    let challenge = resp
        .headers()
        .get(WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_challenge);
    let Some(Challenge::Bearer { realm, service }) = challenge else {
        // Basic auth (or no challenge at all): the registry has just refused these credentials.
        return Err(wrong());
    };
    let mut req = client.get(&realm).header(AUTHORIZATION, &basic);
    if let Some(service) = &service {
        req = req.query(&[("service", service)]);
    }
    let resp = req.send().await.map_err(unreachable)?;
    match resp.status() {
        s if s.is_success() => Ok(()),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(wrong()),
        s => Err(http_error(&format!("the token service of {target}"), s, resp).await),
    }
}

async fn http_error(target: &str, status: StatusCode, resp: reqwest::Response) -> RegistryError {
    let body = resp.text().await.unwrap_or_default();
    RegistryError::Http {
        target: target.to_string(),
        status: status.as_u16(),
        message: body.chars().take(200).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_read_like_registries_write_them() {
        assert_eq!(
            parse_challenge(r#"Basic realm="berth-test""#),
            Some(Challenge::Basic)
        );
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.example/token",service="registry.example",scope="x""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into())
            })
        );
        assert_eq!(
            parse_challenge(r#"bearer realm="http://127.0.0.1:9/t""#),
            Some(Challenge::Bearer {
                realm: "http://127.0.0.1:9/t".into(),
                service: None
            })
        );
        assert_eq!(
            parse_challenge("Bearer service=x"),
            None,
            "a Bearer challenge needs a realm"
        );
        assert_eq!(parse_challenge("Negotiate"), None);
    }
}

#[cfg(test)]
mod token_flow {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A registry that answers `/v2/` with a Bearer challenge pointing at its own `/token`, which grants
    /// a token only to `ann:pw`. Serves `n` requests.
    async fn bearer_registry(n: usize) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let realm = format!("http://{addr}/token");
        tokio::spawn(async move {
            for _ in 0..n {
                let Ok((mut s, _)) = listener.accept().await else {
                    return;
                };
                let mut buf = vec![0u8; 4096];
                let len = s.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..len]).to_string();
                let good = format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode("ann:pw")
                );
                let answer = if req.starts_with("GET /v2/ ") {
                    format!(
                        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"{realm}\",service=\"t\"\r\n\
                         Content-Length: 0\r\nConnection: close\r\n\r\n"
                    )
                } else if req.starts_with("GET /token?service=t ")
                    && req
                        .lines()
                        .any(|l| l.eq_ignore_ascii_case(&format!("authorization: {good}")))
                {
                    "HTTP/1.1 200 OK\r\nContent-Length: 15\r\nConnection: close\r\n\r\n{\"token\":\"tok\"}"
                        .into()
                } else {
                    "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into()
                };
                let _ = s.write_all(answer.as_bytes()).await;
            }
        });
        addr
    }

    #[tokio::test]
    async fn bearer_challenges_are_followed_to_the_token_service() {
        let host = bearer_registry(4).await;
        verify_login("reg", &host, true, "ann", "pw").await.unwrap();
        let e = verify_login("reg", &host, true, "ann", "nope").await.unwrap_err();
        assert_eq!(
            e.to_string(),
            "wrong username or password for reg; nothing was stored"
        );
    }
}
