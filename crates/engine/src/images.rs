//! Image upkeep beyond listing: the layers an image was built from (`docker history`) and removing the
//! images nothing uses (`docker image prune`).

use std::collections::HashMap;

use bollard::models::{ImageHistoryResponseItem, ImagePruneResponse};
use bollard::query_parameters::PruneImagesOptions;
use serde::{Deserialize, Serialize};

use crate::docker::docker_error;
use crate::{DockerApi, Result};

/// One layer of an image, newest first, as `docker history` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageLayer {
    /// The layer's image id; `None` for layers built elsewhere (`<missing>` in `docker history`).
    pub id: Option<String>,
    /// Creation time, Unix seconds (0 when unknown).
    pub created: i64,
    /// The build step as written in a Dockerfile (`RUN apk add curl`, `EXPOSE 80`).
    pub instruction: String,
    /// Docker's full `CreatedBy` text.
    pub created_by: String,
    /// Bytes the layer adds (0 for metadata-only steps such as `ENV` or `CMD`).
    pub size: i64,
    /// Tags pointing at this layer.
    pub tags: Vec<String>,
    /// Docker's comment (`buildkit.dockerfile.v0`, `debuerreotype 0.15`, …).
    pub comment: String,
}

/// What pruning images removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneReport {
    /// Images deleted from disk.
    pub images_deleted: u32,
    /// Tags removed on the way.
    pub untagged: u32,
    /// Bytes freed.
    pub space_reclaimed: i64,
}

impl DockerApi {
    /// The layers of an image, newest first.
    pub async fn image_history(&self, image: &str) -> Result<Vec<ImageLayer>> {
        let items = self.client.image_history(image).await.map_err(docker_error)?;
        Ok(items.into_iter().map(layer_from).collect())
    }

    /// Removes dangling images (untagged, unused), or with `all` every image no container uses.
    pub async fn prune_images(&self, all: bool) -> Result<PruneReport> {
        let opts = prune_options(all);
        let resp = self.client.prune_images(Some(opts)).await.map_err(docker_error)?;
        Ok(prune_report(resp))
    }
}

/// `dangling=true` keeps tagged images; `dangling=false` prunes every unused one (`docker image prune -a`).
fn prune_options(all: bool) -> PruneImagesOptions {
    let filters = HashMap::from([("dangling".to_string(), vec![(!all).to_string()])]);
    PruneImagesOptions {
        filters: Some(filters),
    }
}

fn prune_report(resp: ImagePruneResponse) -> PruneReport {
    let items = resp.images_deleted.unwrap_or_default();
    PruneReport {
        images_deleted: items.iter().filter(|i| i.deleted.is_some()).count() as u32,
        untagged: items.iter().filter(|i| i.untagged.is_some()).count() as u32,
        space_reclaimed: resp.space_reclaimed.unwrap_or_default().max(0),
    }
}

fn layer_from(item: ImageHistoryResponseItem) -> ImageLayer {
    ImageLayer {
        id: Some(item.id).filter(|id| !id.is_empty() && id != "<missing>"),
        created: item.created.max(0),
        instruction: instruction(&item.created_by),
        created_by: item.created_by,
        size: item.size.max(0),
        tags: item.tags.into_iter().filter(|t| t != "<none>:<none>").collect(),
        comment: item.comment,
    }
}

/// The Dockerfile step behind a `CreatedBy` text: the classic builder's `/bin/sh -c #(nop) EXPOSE 80`
/// becomes `EXPOSE 80`, its `/bin/sh -c apk add x` becomes `RUN apk add x`; BuildKit's text is already a
/// step and only loses its `# buildkit` note.
pub(crate) fn instruction(created_by: &str) -> String {
    let s = created_by.trim();
    let s = s.strip_suffix("# buildkit").map(str::trim_end).unwrap_or(s);
    // The classic builder prefixes RUN steps that saw build args with `|N ARG=v … `.
    let s = match s.strip_prefix('|') {
        Some(rest) => rest.find("/bin/sh -c ").map(|i| &rest[i..]).unwrap_or(s),
        None => s,
    };
    if let Some(rest) = s.strip_prefix("/bin/sh -c #(nop)") {
        return rest.trim().to_string();
    }
    if let Some(rest) = s.strip_prefix("/bin/sh -c ") {
        return format!("RUN {}", rest.trim());
    }
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_from_docker_json() {
        // Trimmed from Docker 26.1's answer for an image built with BuildKit on top of a pulled base.
        let json = r#"[
          {"Comment":"buildkit.dockerfile.v0","Created":1716000300,"CreatedBy":"CMD [\"/bin/busybox\" \"httpd\" \"-f\"]","Id":"sha256:aaa","Size":0,"Tags":["web:1"]},
          {"Comment":"buildkit.dockerfile.v0","Created":1716000200,"CreatedBy":"RUN /bin/sh -c apk add --no-cache curl # buildkit","Id":"<missing>","Size":5242880,"Tags":null},
          {"Comment":"","Created":1716000100,"CreatedBy":"/bin/sh -c #(nop)  EXPOSE 80","Id":"<missing>","Size":0,"Tags":null},
          {"Comment":"","Created":1716000000,"CreatedBy":"|1 V=2 /bin/sh -c make install","Id":"<missing>","Size":100,"Tags":[]},
          {"Comment":"","Created":1716000000,"CreatedBy":"/bin/sh -c #(nop) ADD file:abc in / ","Id":"<missing>","Size":7340032,"Tags":null}
        ]"#;
        let items: Vec<ImageHistoryResponseItem> = serde_json::from_str(json).unwrap();
        let layers: Vec<ImageLayer> = items.into_iter().map(layer_from).collect();
        assert_eq!(layers[0].id.as_deref(), Some("sha256:aaa"));
        assert_eq!(layers[0].tags, vec!["web:1".to_string()]);
        assert_eq!(layers[0].instruction, r#"CMD ["/bin/busybox" "httpd" "-f"]"#);
        assert_eq!(layers[1].id, None, "<missing> means built elsewhere, not absent");
        assert_eq!(layers[1].instruction, "RUN /bin/sh -c apk add --no-cache curl");
        assert_eq!(
            layers[1].created_by,
            "RUN /bin/sh -c apk add --no-cache curl # buildkit"
        );
        assert_eq!(layers[1].size, 5_242_880);
        assert!(layers[1].tags.is_empty());
        assert_eq!(layers[2].instruction, "EXPOSE 80");
        assert_eq!(layers[3].instruction, "RUN make install");
        assert_eq!(layers[4].instruction, "ADD file:abc in /");
    }

    #[test]
    fn prune_report_counts_deleted_images_and_space() {
        let json = r#"{"ImagesDeleted":[
            {"Untagged":"old:1"},
            {"Deleted":"sha256:111"},
            {"Deleted":"sha256:222"}
          ],"SpaceReclaimed":123000000}"#;
        let resp: ImagePruneResponse = serde_json::from_str(json).unwrap();
        assert_eq!(
            prune_report(resp),
            PruneReport {
                images_deleted: 2,
                untagged: 1,
                space_reclaimed: 123_000_000
            }
        );
        // Nothing to prune: Docker answers null.
        let resp: ImagePruneResponse =
            serde_json::from_str(r#"{"ImagesDeleted":null,"SpaceReclaimed":0}"#).unwrap();
        assert_eq!(prune_report(resp), PruneReport::default());
    }

    #[test]
    fn prune_filters_dangling_unless_all() {
        let f = |all| prune_options(all).filters.unwrap()["dangling"].clone();
        assert_eq!(f(false), vec!["true".to_string()]);
        assert_eq!(f(true), vec!["false".to_string()]);
    }
}
