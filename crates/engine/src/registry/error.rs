//! What can go wrong reaching Docker Hub or a registry: each message says what happened and what to do.

use std::time::Duration;

/// A failure talking to Docker Hub or a registry, or reading what it sent.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The text is not an image reference; the message names the part that is wrong.
    #[error("not a valid reference: {input:?} because {reason}")]
    InvalidReference {
        /// What the user typed.
        input: String,
        /// Why it is not a reference, and how to write one.
        reason: String,
    },
    /// Nothing answered at the address.
    #[error("cannot reach {target}: {cause}; check the address, your network and any proxy{hint}")]
    Unreachable {
        /// The service (`Docker Hub at https://…`, `registry 127.0.0.1:5000`).
        target: String,
        /// The transport's own words.
        cause: String,
        /// Extra advice (starts with `; `), e.g. to try plain HTTP.
        hint: String,
    },
    /// The server limits how often we may ask.
    #[error("{target} rate limited us, {}", wait_advice(*retry_after))]
    RateLimited {
        /// The service.
        target: String,
        /// How long the server asks us to wait, when it says.
        retry_after: Option<Duration>,
    },
    /// The repository, tag or image does not exist there.
    #[error("not found: {what}")]
    NotFound {
        /// What was looked for, and where.
        what: String,
    },
    /// The registry wants credentials, or refused the ones given.
    #[error(
        "{target} refused access; check the name, or pass credentials (log in with `berth login`, or \
         --username/--password)"
    )]
    Unauthorized {
        /// The service.
        target: String,
    },
    /// A login was refused: the user name or password is wrong.
    #[error("wrong username or password for {registry}; nothing was stored")]
    WrongCredentials {
        /// The registry as the user named it.
        registry: String,
    },
    /// The server answered with an error we have no better words for.
    #[error("{target} answered HTTP {status}: {message}")]
    Http {
        /// The service.
        target: String,
        /// HTTP status code.
        status: u16,
        /// The start of its answer.
        message: String,
    },
    /// The answer was not in the shape the API documents.
    #[error("unexpected answer from {target}: {detail}")]
    Malformed {
        /// The service.
        target: String,
        /// What did not parse.
        detail: String,
    },
    /// A layer could not be read (bad gzip, bad tar, unsupported compression).
    #[error("cannot read layer {layer}: {detail}")]
    Layer {
        /// The layer's digest or path.
        layer: String,
        /// What went wrong.
        detail: String,
    },
    /// The image has no manifest for the requested platform.
    #[error("{image} has no image for {wanted}; it has {available} (choose one with --platform)")]
    NoSuchPlatform {
        /// The reference.
        image: String,
        /// The platform asked for.
        wanted: String,
        /// The platforms it has.
        available: String,
    },
    /// A local file (a `docker save` archive) could not be read.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// Result of registry and Hub calls.
pub type Result<T> = std::result::Result<T, RegistryError>;

impl RegistryError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> RegistryError {
        RegistryError::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn malformed(target: impl Into<String>, detail: impl std::fmt::Display) -> RegistryError {
        RegistryError::Malformed {
            target: target.into(),
            detail: detail.to_string(),
        }
    }
}

/// What to tell the user about waiting: the server's number when it gave one, never an invented one.
fn wait_advice(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!("retry after {} s", d.as_secs()),
        None => "retry in a minute or so (it did not say how long to wait)".into(),
    }
}

/// The wait a 429 answer asks for: `Retry-After` in seconds (or an HTTP date, counted from `now`), else
/// `X-RateLimit-Reset` as a Unix time; `None` when it says neither.
pub(crate) fn retry_after(
    retry_after: Option<&str>,
    ratelimit_reset: Option<&str>,
    now: std::time::SystemTime,
) -> Option<Duration> {
    let unix_now = now
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    if let Some(v) = retry_after.map(str::trim) {
        if let Ok(secs) = v.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        if let Some(at) = http_date_to_unix(v) {
            return Some(Duration::from_secs(at.saturating_sub(unix_now)));
        }
    }
    let reset = ratelimit_reset.and_then(|v| v.trim().parse::<u64>().ok())?;
    Some(Duration::from_secs(reset.saturating_sub(unix_now)))
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110's IMF-fixdate, the only form servers send now) as Unix seconds.
fn http_date_to_unix(s: &str) -> Option<u64> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    let day: u64 = day.parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| m == month)? as u64
        + 1;
    let year: u64 = year.parse().ok()?;
    let hms: Vec<u64> = time.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let [h, m, sec] = hms.as_slice() else {
        return None;
    };
    // Days from the civil date (Howard Hinnant's algorithm), valid for years after 1970.
    let (y, mo) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * mo + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe).checked_sub(719_468)?;
    Some(days * 86_400 + h * 3600 + m * 60 + sec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn retry_after_reads_seconds_dates_and_reset_times() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_700);
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(retry_after(Some("42"), None, now), secs(42));
        // 784111777 is Sun, 06 Nov 1994 08:49:37 GMT.
        assert_eq!(
            retry_after(Some("Sun, 06 Nov 1994 08:49:37 GMT"), None, now),
            secs(77)
        );
        assert_eq!(retry_after(None, Some("784111730"), now), secs(30));
        assert_eq!(retry_after(Some("soon"), None, now), None);
        assert_eq!(retry_after(None, None, now), None);
    }

    #[test]
    fn messages_say_what_to_do() {
        let e = RegistryError::RateLimited {
            target: "Docker Hub".into(),
            retry_after: Some(Duration::from_secs(42)),
        };
        assert_eq!(e.to_string(), "Docker Hub rate limited us, retry after 42 s");
        let e = RegistryError::RateLimited {
            target: "127.0.0.1:5000".into(),
            retry_after: None,
        };
        assert_eq!(
            e.to_string(),
            "127.0.0.1:5000 rate limited us, retry in a minute or so (it did not say how long to wait)"
        );
        let e = RegistryError::InvalidReference {
            input: "Foo".into(),
            reason: "repository names must be lowercase".into(),
        };
        assert_eq!(
            e.to_string(),
            "not a valid reference: \"Foo\" because repository names must be lowercase"
        );
    }
}
