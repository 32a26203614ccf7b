//! The layer explorer's analysis: what each layer of an image adds, changes and deletes, and the bytes
//! wasted on files a later layer overwrote or deleted.
//!
//! It is a pure function of the image's history and its layer streams, lowest layer first (gzip'd or
//! plain tars; where they come from — a registry blob, a `docker save` archive — is the caller's
//! business). OCI whiteouts are honoured: `dir/.wh.name` deletes `dir/name` (and all below it) from the
//! layers beneath, `dir/.wh..wh..opq` hides everything the layers beneath put in `dir`.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read};

use serde::{Deserialize, Serialize};

use super::image_config::HistoryEntry;
use crate::images::instruction;

/// What the explorer found in an image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerReport {
    /// The image as the user named it.
    pub image: String,
    /// The digest of the image manifest analysed, when it came from a registry.
    pub digest: Option<String>,
    /// `os/arch[/variant]`.
    pub platform: String,
    /// Layers, lowest (first applied) first.
    pub layers: Vec<LayerInfo>,
    /// Bytes of file content in all layers (uncompressed).
    pub size: u64,
    /// Bytes to download (the layer blobs as stored), when known for every layer.
    pub compressed_size: Option<u64>,
    /// Bytes of files that a later layer overwrote or deleted: in the image, out of sight.
    pub wasted: u64,
    /// The paths behind `wasted`, largest first.
    pub wasted_paths: Vec<WastedPath>,
}

/// One layer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerInfo {
    /// The blob's digest (registry) or path (archive).
    pub digest: Option<String>,
    /// The blob's size as stored (gzip'd), when known.
    pub compressed_size: Option<u64>,
    /// Bytes of file content in the layer (uncompressed).
    pub size: u64,
    /// Length of the uncompressed tar stream.
    pub tar_size: u64,
    /// The build step that made it, as recorded (`RUN /bin/sh -c apk add curl # buildkit`).
    pub created_by: Option<String>,
    /// The same step as a Dockerfile line (`RUN apk add curl`).
    pub instruction: Option<String>,
    /// Bytes of lower layers' files this layer overwrote or deleted.
    pub wasted: u64,
    /// Every path the layer touches, in tar order.
    pub files: Vec<FileChange>,
}

/// A path a layer touches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileChange {
    /// Path inside the image, without a leading `/`.
    pub path: String,
    /// What the layer does to it.
    pub change: Change,
    /// What it is.
    pub kind: EntryKind,
    /// Bytes: the file's size for additions and changes; for deletions, the bytes it hid.
    pub size: u64,
    /// The target of a link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// What a layer does to a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// New: no lower layer has it.
    Added,
    /// Replaces what a lower layer put there.
    Changed,
    /// Deleted by a whiteout.
    Deleted,
    /// The directory was made opaque: lower layers' contents are hidden.
    Opaque,
}

/// What a tar entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A hard link to another entry.
    Hardlink,
    /// A device, fifo or other special file.
    Other,
}

/// A path whose earlier copies went to waste.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WastedPath {
    /// The path.
    pub path: String,
    /// Bytes of its overwritten or deleted copies.
    pub bytes: u64,
}

/// One layer blob to analyse.
pub struct LayerInput<R> {
    /// Its digest or name.
    pub digest: Option<String>,
    /// Its size as stored, when known.
    pub compressed_size: Option<u64>,
    /// Its bytes (gzip'd or plain tar).
    pub reader: R,
}

/// Builds a [`LayerReport`] one layer at a time, so layers can stream from a registry in turn.
pub struct LayerAnalyzer {
    steps: Vec<HistoryEntry>,
    /// Path → (layer that put it there, bytes, kind): the merged view so far.
    view: BTreeMap<String, (usize, u64, EntryKind)>,
    layers: Vec<LayerInfo>,
    wasted_paths: BTreeMap<String, u64>,
}

impl LayerAnalyzer {
    /// An analyzer for an image with this history (oldest first); the history's non-empty steps are
    /// matched to layers in order.
    pub fn new(history: &[HistoryEntry]) -> LayerAnalyzer {
        LayerAnalyzer {
            steps: history.iter().filter(|h| !h.empty_layer).cloned().collect(),
            view: BTreeMap::new(),
            layers: Vec::new(),
            wasted_paths: BTreeMap::new(),
        }
    }

    /// Reads the next layer (the one applied over all added so far).
    pub fn add_layer<R: Read>(&mut self, input: LayerInput<R>) -> io::Result<()> {
        let index = self.layers.len();
        let step = self.steps.get(index).and_then(|h| h.created_by.clone());
        let mut info = LayerInfo {
            digest: input.digest,
            compressed_size: input.compressed_size,
            instruction: step.as_deref().map(instruction),
            created_by: step,
            ..Default::default()
        };
        let mut raw = BufReader::new(input.reader);
        let head = raw.fill_buf()?;
        let mut tar_stream: Box<dyn Read + '_> = if head.starts_with(&[0x1f, 0x8b]) {
            Box::new(flate2::read::MultiGzDecoder::new(raw))
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "the layer is zstd-compressed, which the explorer cannot read yet",
            ));
        } else {
            Box::new(raw)
        };
        let mut counted = Counting {
            inner: &mut tar_stream,
            count: 0,
        };
        {
            let mut archive = tar::Archive::new(&mut counted);
            for entry in archive.entries()? {
                let entry = entry?;
                let path = normalize(&entry.path()?.to_string_lossy());
                if path.is_empty() {
                    continue;
                }
                let header = entry.header();
                let kind = match header.entry_type() {
                    tar::EntryType::Regular | tar::EntryType::Continuous => EntryKind::File,
                    tar::EntryType::Directory => EntryKind::Dir,
                    tar::EntryType::Symlink => EntryKind::Symlink,
                    tar::EntryType::Link => EntryKind::Hardlink,
                    _ => EntryKind::Other,
                };
                let size = if kind == EntryKind::File { entry.size() } else { 0 };
                let link = entry.link_name()?.map(|l| l.to_string_lossy().into_owned());
                self.apply(index, &mut info, path, kind, size, link);
            }
        }
        // Read past the end-of-archive blocks so the whole stream is counted (and a digest check on the
        // stream below sees every byte).
        io::copy(&mut counted, &mut io::sink())?;
        info.tar_size = counted.count;
        self.layers.push(info);
        Ok(())
    }

    fn apply(
        &mut self,
        index: usize,
        info: &mut LayerInfo,
        path: String,
        kind: EntryKind,
        size: u64,
        link: Option<String>,
    ) {
        let (dir, name) = match path.rsplit_once('/') {
            Some((d, n)) => (d.to_string(), n),
            None => (String::new(), path.as_str()),
        };
        if name == ".wh..wh..opq" {
            let hidden = self.hide_below(index, &dir);
            info.wasted += hidden;
            info.files.push(FileChange {
                path: dir,
                change: Change::Opaque,
                kind: EntryKind::Dir,
                size: hidden,
                link: None,
            });
            return;
        }
        if let Some(target) = name.strip_prefix(".wh.") {
            let target = if dir.is_empty() {
                target.to_string()
            } else {
                format!("{dir}/{target}")
            };
            let mut hidden = self.hide_below(index, &target);
            let mut was = if hidden > 0 {
                EntryKind::Dir
            } else {
                EntryKind::File
            };
            if let Some(&(layer, bytes, kind)) = self.view.get(&target) {
                if layer < index {
                    self.view.remove(&target);
                    self.waste(&target, bytes);
                    hidden += bytes;
                    was = kind;
                }
            }
            info.wasted += hidden;
            info.files.push(FileChange {
                path: target,
                change: Change::Deleted,
                kind: was,
                size: hidden,
                link: None,
            });
            return;
        }
        let change = match self.view.get(&path) {
            Some(&(_, old, _)) => {
                info.wasted += old;
                self.waste(&path, old);
                Change::Changed
            }
            None => Change::Added,
        };
        if kind != EntryKind::Dir {
            // A file replacing a directory hides what was below it.
            info.wasted += self.hide_below(index + 1, &path);
        }
        info.size += size;
        self.view.insert(path.clone(), (index, size, kind));
        info.files.push(FileChange {
            path,
            change,
            kind,
            size,
            link,
        });
    }

    /// Removes from view what layers below `index` put under `dir/` (everything for `dir` = ""); returns
    /// the bytes hidden.
    fn hide_below(&mut self, index: usize, dir: &str) -> u64 {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let hidden: Vec<(String, u64)> = self
            .view
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .filter(|(_, (layer, _, _))| *layer < index)
            .map(|(p, (_, bytes, _))| (p.clone(), *bytes))
            .collect();
        let mut total = 0;
        for (p, bytes) in hidden {
            self.view.remove(&p);
            self.waste(&p, bytes);
            total += bytes;
        }
        total
    }

    fn waste(&mut self, path: &str, bytes: u64) {
        if bytes > 0 {
            *self.wasted_paths.entry(path.to_string()).or_default() += bytes;
        }
    }

    /// The report over every layer added.
    pub fn finish(self, image: &str, platform: &str) -> LayerReport {
        if self.steps.len() != self.layers.len() {
            tracing::debug!(
                steps = self.steps.len(),
                layers = self.layers.len(),
                "history and layers differ in number; steps matched in order"
            );
        }
        let mut wasted_paths: Vec<WastedPath> = self
            .wasted_paths
            .into_iter()
            .map(|(path, bytes)| WastedPath { path, bytes })
            .collect();
        wasted_paths.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
        LayerReport {
            image: image.to_string(),
            digest: None,
            platform: platform.to_string(),
            size: self.layers.iter().map(|l| l.size).sum(),
            compressed_size: self.layers.iter().map(|l| l.compressed_size).sum(),
            wasted: self.layers.iter().map(|l| l.wasted).sum(),
            layers: self.layers,
            wasted_paths,
        }
    }
}

/// Analyses `layers` (lowest first) of an image with `history`.
pub fn analyze<R: Read>(
    image: &str,
    platform: &str,
    history: &[HistoryEntry],
    layers: impl IntoIterator<Item = LayerInput<R>>,
) -> io::Result<LayerReport> {
    let mut a = LayerAnalyzer::new(history);
    for l in layers {
        a.add_layer(l)?;
    }
    Ok(a.finish(image, platform))
}

/// `./usr/bin/` → `usr/bin`.
fn normalize(p: &str) -> String {
    let p = p
        .trim_start_matches("./")
        .trim_start_matches('/')
        .trim_end_matches('/');
    if p == "." {
        String::new()
    } else {
        p.to_string()
    }
}

struct Counting<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
#[path = "layers_tests.rs"]
mod tests;
