//! The parts of an image's config blob the layer explorer reads: platform, history and diff ids. The same
//! JSON sits in a registry (the manifest's config blob) and in a `docker save` archive.

use serde::{Deserialize, Serialize};

/// An image config, parsed leniently (every field may be absent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageConfig {
    /// GOARCH (`amd64`).
    #[serde(default)]
    pub architecture: String,
    /// GOOS (`linux`).
    #[serde(default)]
    pub os: String,
    /// CPU variant (`v8`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// When the image was built (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The build steps, oldest first.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub history: Vec<HistoryEntry>,
}

/// One build step.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// When it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The command (`/bin/sh -c #(nop) ADD file:… in /`, `RUN apk add curl # buildkit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// The step changed no files and made no layer (`ENV`, `CMD`, …).
    #[serde(default)]
    pub empty_layer: bool,
    /// A builder's note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl ImageConfig {
    /// Parses a config blob.
    pub fn from_json(data: &[u8]) -> Result<ImageConfig, String> {
        serde_json::from_slice(data).map_err(|e| format!("the image config is not valid JSON: {e}"))
    }

    /// `os/architecture[/variant]`.
    pub fn platform(&self) -> String {
        platform_string(&self.os, &self.architecture, self.variant.as_deref())
    }
}

/// `os/architecture[/variant]`.
pub fn platform_string(os: &str, arch: &str, variant: Option<&str>) -> String {
    match variant.filter(|v| !v.is_empty()) {
        Some(v) => format!("{os}/{arch}/{v}"),
        None => format!("{os}/{arch}"),
    }
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<HistoryEntry>, D::Error> {
    Ok(Option::<Vec<HistoryEntry>>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_history_and_platform_leniently() {
        let c = ImageConfig::from_json(
            br#"{"architecture":"arm64","os":"linux","variant":"v8","history":[
                {"created":"2024-01-01T00:00:00Z","created_by":"/bin/sh -c #(nop) ADD file:x in / "},
                {"created_by":"/bin/sh -c #(nop)  CMD [\"sh\"]","empty_layer":true},
                {}
            ],"rootfs":{"type":"layers","diff_ids":[]}}"#,
        )
        .unwrap();
        assert_eq!(c.platform(), "linux/arm64/v8");
        assert_eq!(c.history.len(), 3);
        assert!(c.history[1].empty_layer && !c.history[0].empty_layer);
        assert_eq!(c.history[2], HistoryEntry::default());
        let c = ImageConfig::from_json(br#"{"history":null}"#).unwrap();
        assert!(c.history.is_empty());
        assert!(ImageConfig::from_json(b"nope")
            .unwrap_err()
            .contains("not valid JSON"));
    }
}
