//! Feeding the layer analysis: blobs streamed from a registry one after another (nothing is stored, nothing
//! is pulled into Docker), or the layers of a `docker save` archive (a file, or Docker's
//! `GET /images/{name}/get` stream written to a temporary file first).

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use futures_util::StreamExt;
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::client::Registry;
use super::error::{RegistryError, Result};
use super::image_config::ImageConfig;
use super::layers::{LayerAnalyzer, LayerInput, LayerReport};
use super::reference::ImageRef;
use crate::DockerApi;

impl Registry {
    /// Explores the layers of `image` for `platform` (default: this computer's), reading each blob as it
    /// streams from the registry.
    pub async fn explore_layers(&self, image: &ImageRef, platform: Option<&str>) -> Result<LayerReport> {
        let resolved = self.resolve(image, platform).await?;
        let platform = resolved.config.platform();
        let mut analyzer = LayerAnalyzer::new(&resolved.config.history);
        for blob in &resolved.layers {
            tracing::debug!(digest = %blob.digest, size = blob.size, "reading layer");
            let stream = self
                .client()
                .pull_blob_stream(image.oci(), blob)
                .await
                .map_err(|e| self.error(e, &format!("layer {} of {image}", blob.digest)))?;
            let reader = SyncIoBridge::new(StreamReader::new(stream.stream));
            let input = LayerInput {
                digest: Some(blob.digest.clone()),
                compressed_size: Some(blob.size.max(0) as u64),
                reader,
            };
            let digest = blob.digest.clone();
            analyzer = tokio::task::spawn_blocking(move || analyzer.add_layer(input).map(|()| analyzer))
                .await
                .map_err(|e| RegistryError::Layer {
                    layer: digest.clone(),
                    detail: e.to_string(),
                })?
                .map_err(|e| RegistryError::Layer {
                    layer: digest,
                    detail: e.to_string(),
                })?;
        }
        let mut report = analyzer.finish(&image.to_string(), &platform);
        report.digest = Some(resolved.digest);
        Ok(report)
    }
}

/// Explores the layers of the image in a `docker save` archive (Docker's classic layout, or the OCI layout
/// Docker 25+ writes, both of which carry `manifest.json`). With several images in it, the first.
pub fn explore_saved_image(archive: &Path) -> Result<LayerReport> {
    let open = || {
        File::open(archive).map_err(|e| RegistryError::io(format!("cannot open {}", archive.display()), e))
    };
    // Where each member's data starts, and its size.
    let mut members: HashMap<String, (u64, u64)> = HashMap::new();
    let mut tar = tar::Archive::new(open()?);
    let bad = |e: std::io::Error| RegistryError::Layer {
        layer: archive.display().to_string(),
        detail: format!("not a docker save archive: {e}"),
    };
    for entry in tar.entries_with_seek().map_err(bad)? {
        let entry = entry.map_err(bad)?;
        let name = entry
            .path()
            .map_err(bad)?
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        members.insert(name, (entry.raw_file_position(), entry.size()));
    }
    let mut file = open()?;
    let mut read_member = |name: &str, limit: u64| -> Result<Vec<u8>> {
        let &(pos, size) = members.get(name).ok_or_else(|| RegistryError::Layer {
            layer: archive.display().to_string(),
            detail: format!("it has no {name}; is it a `docker save` archive?"),
        })?;
        if size > limit {
            return Err(RegistryError::malformed(
                archive.display().to_string(),
                format!("{name} is too large"),
            ));
        }
        let mut buf = Vec::new();
        file.seek(SeekFrom::Start(pos))
            .and_then(|_| (&mut file).take(size).read_to_end(&mut buf))
            .map_err(|e| RegistryError::io(format!("cannot read {}", archive.display()), e))?;
        Ok(buf)
    };
    let manifest: serde_json::Value = serde_json::from_slice(&read_member("manifest.json", 16 << 20)?)
        .map_err(|e| RegistryError::malformed(archive.display().to_string(), e))?;
    let first = manifest
        .get(0)
        .ok_or_else(|| RegistryError::malformed("the archive", "manifest.json lists no image"))?;
    let text_list = |key: &str| -> Vec<String> {
        first
            .get(key)
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(String::from))
            .collect()
    };
    let config_name = first
        .get("Config")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    let config = ImageConfig::from_json(&read_member(&config_name, 8 << 20)?)
        .map_err(|e| RegistryError::malformed(archive.display().to_string(), e))?;
    let name = text_list("RepoTags")
        .into_iter()
        .next()
        .unwrap_or_else(|| archive.display().to_string());
    let mut analyzer = LayerAnalyzer::new(&config.history);
    for layer in text_list("Layers") {
        let &(pos, size) = members.get(&layer).ok_or_else(|| RegistryError::Layer {
            layer: layer.clone(),
            detail: "listed in manifest.json but missing from the archive".into(),
        })?;
        let mut f = open()?;
        f.seek(SeekFrom::Start(pos))
            .map_err(|e| RegistryError::io("cannot read the archive", e))?;
        let input = LayerInput {
            digest: Some(layer.clone()),
            compressed_size: None,
            reader: f.take(size),
        };
        analyzer.add_layer(input).map_err(|e| RegistryError::Layer {
            layer,
            detail: e.to_string(),
        })?;
    }
    Ok(analyzer.finish(&name, &config.platform()))
}

impl DockerApi {
    /// Explores the layers of a local image: Docker exports it (`GET /images/{name}/get`) to a temporary
    /// file, which is analysed and removed.
    pub async fn explore_layers(&self, image: &str) -> crate::Result<LayerReport> {
        let dir = tempfile::tempdir().map_err(|e| crate::Error::io("cannot create a temporary folder", e))?;
        let path = dir.path().join("image.tar");
        let mut out = tokio::fs::File::create(&path)
            .await
            .map_err(|e| crate::Error::io("cannot create a temporary file", e))?;
        let mut stream = self.client.export_image(image);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(crate::docker::docker_error)?;
            tokio::io::AsyncWriteExt::write_all(&mut out, &chunk)
                .await
                .map_err(|e| crate::Error::io("cannot write the exported image", e))?;
        }
        drop(out);
        let report = tokio::task::spawn_blocking(move || explore_saved_image(&path))
            .await
            .map_err(|e| crate::Error::Docker(e.to_string()))?
            .map_err(|e| crate::Error::Invalid(e.to_string()))?;
        drop(dir);
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use berth_fixtures::registry::{file, layer_tar, Entry};

    use super::*;

    fn archive(members: &[(&str, Vec<u8>)]) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        let mut b = tar::Builder::new(f.reopen().unwrap());
        for (name, data) in members {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            b.append_data(&mut h, name, &data[..]).unwrap();
        }
        b.finish().unwrap();
        f
    }

    #[test]
    fn a_docker_save_archive_feeds_the_same_analysis() {
        let l0 = layer_tar(&[file("a", 50, b'a'), file("b", 70, b'b')]);
        let l1 = layer_tar(&[Entry::Whiteout("b".into())]);
        let config = br#"{"architecture":"amd64","os":"linux","history":[
            {"created_by":"/bin/sh -c #(nop) ADD file:x in / "},{"created_by":"/bin/sh -c rm b"}]}"#;
        let manifest =
            br#"[{"Config":"c.json","RepoTags":["x:1"],"Layers":["l0/layer.tar","l1/layer.tar"]}]"#;
        // The classic layout: layer folders, config and manifest.json in any order.
        let f = archive(&[
            ("manifest.json", manifest.to_vec()),
            ("l0/layer.tar", l0),
            ("c.json", config.to_vec()),
            ("l1/layer.tar", l1),
        ]);
        let r = explore_saved_image(f.path()).unwrap();
        assert_eq!((r.image.as_str(), r.platform.as_str()), ("x:1", "linux/amd64"));
        assert_eq!(r.layers[1].instruction.as_deref(), Some("RUN rm b"));
        assert_eq!((r.size, r.wasted, r.compressed_size), (120, 70, None));
        assert_eq!(r.layers[0].digest.as_deref(), Some("l0/layer.tar"));
    }

    #[test]
    fn archives_that_are_not_docker_save_say_so() {
        let f = archive(&[("hello.txt", b"hi".to_vec())]);
        let e = explore_saved_image(f.path()).unwrap_err();
        assert!(e.to_string().contains("no manifest.json"), "{e}");
        let f = archive(&[
            ("manifest.json", br#"[{"Config":"c","Layers":["gone"]}]"#.to_vec()),
            ("c", b"{}".to_vec()),
        ]);
        let e = explore_saved_image(f.path()).unwrap_err();
        assert!(e.to_string().contains("missing from the archive"), "{e}");
    }
}
