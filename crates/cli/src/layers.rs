//! `berth layers IMAGE`: what each layer of an image adds, changes and deletes, and the space wasted on
//! files later layers overwrote or deleted. Reads a registry's blobs directly (nothing is pulled), or with
//! `--local` an image in the machine's Docker, or with `--archive` a `docker save` file.

use std::fmt::Write as _;
use std::path::PathBuf;

use berth_engine::registry::{explore_saved_image, Change, EntryKind, ImageRef, LayerReport, Registry};
use berth_engine::Engine;

use crate::registry::RegistryArgs;
use crate::table::{self, bytes, cut};
use crate::CmdResult;

#[derive(clap::Args)]
pub struct LayersArgs {
    /// The image (`127.0.0.1:5000/app:1`, `nginx:1.27`), or a local image name with --local.
    image: Option<String>,
    /// List every file each layer touches.
    #[arg(long)]
    files: bool,
    /// The platform to explore in a multi-platform image (`linux/arm64`); default: this computer's.
    #[arg(long)]
    platform: Option<String>,
    /// Explore an image in the machine's Docker Engine instead of a registry.
    #[arg(long, conflicts_with = "archive")]
    local: bool,
    /// Explore a `docker save` archive.
    #[arg(long, value_name = "FILE")]
    archive: Option<PathBuf>,
    /// Largest wasted paths to list.
    #[arg(long, default_value_t = 10)]
    top: usize,
    #[command(flatten)]
    registry: RegistryArgs,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(engine: &Engine, a: LayersArgs) -> CmdResult {
    let report = if let Some(path) = &a.archive {
        let path = path.clone();
        tokio::task::spawn_blocking(move || explore_saved_image(&path)).await??
    } else {
        let Some(name) = a.image.as_deref() else {
            return Err(
                "name an image (e.g. `berth layers 127.0.0.1:5000/app:1`), or pass --archive FILE".into(),
            );
        };
        if a.local {
            engine.docker_api()?.explore_layers(name).await?
        } else {
            let image = ImageRef::parse(name)?;
            Registry::for_image(&image, &a.registry.options(image.registry()).await)
                .explore_layers(&image, a.platform.as_deref())
                .await?
        }
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report, a.files, a.top));
    }
    Ok(())
}

fn render(r: &LayerReport, files: bool, top: usize) -> String {
    let mut out = String::new();
    let digest = r
        .digest
        .as_deref()
        .map(|d| format!(", {}", cut(d, 19)))
        .unwrap_or_default();
    let _ = writeln!(out, "Image   {}  ({}{digest})", r.image, r.platform);
    let download = r
        .compressed_size
        .map(|c| format!(", download {}", bytes(c)))
        .unwrap_or_default();
    let share = if r.size > 0 {
        r.wasted as f64 * 100.0 / r.size as f64
    } else {
        0.0
    };
    let _ = writeln!(
        out,
        "Size    {}{download}; wasted {} ({share:.1}%)\n",
        bytes(r.size),
        bytes(r.wasted)
    );
    let rows: Vec<Vec<String>> = r
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            vec![
                i.to_string(),
                bytes(l.size),
                l.compressed_size.map(bytes).unwrap_or_else(|| "-".into()),
                l.files.len().to_string(),
                bytes(l.wasted),
                cut(l.instruction.as_deref().unwrap_or("(no history)"), 70),
            ]
        })
        .collect();
    out.push_str(&table::render(
        &["#", "SIZE", "DOWNLOAD", "FILES", "WASTED", "INSTRUCTION"],
        &rows,
        &[0, 1, 2, 3, 4],
    ));
    if files {
        for (i, l) in r.layers.iter().enumerate() {
            let _ = writeln!(
                out,
                "\nLayer {i}: {}",
                cut(l.instruction.as_deref().unwrap_or("(no history)"), 90)
            );
            let rows: Vec<Vec<String>> = l
                .files
                .iter()
                .map(|f| {
                    let mark = match f.change {
                        Change::Added => "+",
                        Change::Changed => "~",
                        Change::Deleted => "-",
                        Change::Opaque => "*",
                    };
                    let mut path = format!("/{}", f.path);
                    if f.kind == EntryKind::Dir {
                        path.push('/');
                    }
                    if let Some(target) = &f.link {
                        path = format!("{path} -> {target}");
                    }
                    vec![format!("  {mark}"), bytes(f.size), path]
                })
                .collect();
            let t = table::render(&["", "", ""], &rows, &[1]);
            // Drop the empty header line.
            out.push_str(t.split_once('\n').map(|(_, rest)| rest).unwrap_or(""));
        }
        out.push_str(
            "\n  + added  ~ changed  - deleted  * opaque directory (lower layers' contents hidden)\n",
        );
    }
    if r.wasted > 0 && top > 0 {
        out.push_str("\nWasted space (files a later layer overwrote or deleted):\n");
        let rows: Vec<Vec<String>> = r
            .wasted_paths
            .iter()
            .take(top)
            .map(|w| vec![format!("  {}", bytes(w.bytes)), format!("/{}", w.path)])
            .collect();
        let t = table::render(&["", ""], &rows, &[0]);
        out.push_str(t.split_once('\n').map(|(_, rest)| rest).unwrap_or(""));
        if r.wasted_paths.len() > top {
            let _ = writeln!(
                out,
                "  … and {} more (--top N, or --json)",
                r.wasted_paths.len() - top
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_engine::registry::{FileChange, LayerInfo, WastedPath};

    #[test]
    fn the_report_reads_as_a_table_with_files_and_waste() {
        let f = |path: &str, change, kind, size| FileChange {
            path: path.into(),
            change,
            kind,
            size,
            link: None,
        };
        let r = LayerReport {
            image: "127.0.0.1:5000/app:1".into(),
            digest: Some(format!("sha256:{}", "a".repeat(64))),
            platform: "linux/amd64".into(),
            layers: vec![
                LayerInfo {
                    compressed_size: Some(900),
                    size: 5096,
                    instruction: Some("ADD file:base in /".into()),
                    files: vec![
                        f("app", Change::Added, EntryKind::Dir, 0),
                        f("app/data.bin", Change::Added, EntryKind::File, 4096),
                    ],
                    ..Default::default()
                },
                LayerInfo {
                    compressed_size: Some(100),
                    size: 10,
                    wasted: 4096,
                    files: vec![f("app/data.bin", Change::Deleted, EntryKind::File, 4096)],
                    ..Default::default()
                },
            ],
            size: 5106,
            compressed_size: Some(1000),
            wasted: 4096,
            wasted_paths: vec![WastedPath {
                path: "app/data.bin".into(),
                bytes: 4096,
            }],
        };
        let text = render(&r, true, 10);
        assert!(
            text.starts_with("Image   127.0.0.1:5000/app:1  (linux/amd64, sha256:aaaaaaaaaaa…)\n"),
            "{text}"
        );
        assert!(
            text.contains("Size    5.1 kB, download 1.0 kB; wasted 4.1 kB (80.2%)"),
            "{text}"
        );
        assert!(
            text.contains("#    SIZE  DOWNLOAD  FILES  WASTED  INSTRUCTION\n"),
            "{text}"
        );
        assert!(
            text.contains("1    10 B     100 B      1  4.1 kB  (no history)\n"),
            "{text}"
        );
        assert!(text.contains("  +     0 B  /app/\n"), "{text}");
        assert!(text.contains("  -  4.1 kB  /app/data.bin\n"), "{text}");
        assert!(text.contains("Wasted space"), "{text}");
        let short = render(&r, false, 0);
        assert!(
            !short.contains("Layer 0") && !short.contains("Wasted space"),
            "{short}"
        );
    }
}
