//! Volumes for `docker run -v`: a named volume or a path on the machine, mounted at a path in the
//! container, checked before Docker sees them and turned into `HostConfig.Binds`.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// One `-v source:target[:ro]` of a run request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeMount {
    /// A volume name (created when absent) or an absolute path on the machine (not on the user's computer:
    /// Berth does not share host folders yet).
    pub source: String,
    /// Absolute path inside the container.
    pub target: String,
    /// Mount it read-only.
    pub read_only: bool,
}

impl VolumeMount {
    /// Whether the source is a path on the machine rather than a volume name.
    pub fn is_host_path(&self) -> bool {
        self.source.trim().starts_with('/')
    }
}

/// Checks every mount and returns the `Binds` entries (`source:target[:ro]`), or why one is wrong.
pub(crate) fn binds(mounts: &[VolumeMount]) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(mounts.len());
    let mut targets: Vec<&str> = Vec::new();
    for m in mounts {
        let source = m.source.trim();
        let target = m.target.trim();
        check_target(target)?;
        if targets.contains(&target) {
            return Err(Error::Invalid(format!(
                "{target} is mounted twice; give each volume its own container path"
            )));
        }
        targets.push(target);
        check_source(source, target)?;
        out.push(if m.read_only {
            format!("{source}:{target}:ro")
        } else {
            format!("{source}:{target}")
        });
    }
    Ok(out)
}

fn check_target(target: &str) -> Result<()> {
    if target.is_empty() {
        return Err(Error::Invalid(
            "enter the path inside the container where the volume goes (e.g. /data)".into(),
        ));
    }
    if !target.starts_with('/') {
        return Err(Error::Invalid(format!(
            "the container path {target:?} must be absolute; start it with / (e.g. /{target})"
        )));
    }
    if target == "/" {
        return Err(Error::Invalid(
            "a volume cannot replace the container's root; choose a folder such as /data".into(),
        ));
    }
    if target.contains(':') {
        return Err(Error::Invalid(format!(
            "the container path {target:?} cannot contain ':'"
        )));
    }
    Ok(())
}

fn check_source(source: &str, target: &str) -> Result<()> {
    if source.is_empty() {
        return Err(Error::Invalid(format!(
            "choose a volume or a machine path to mount at {target}"
        )));
    }
    if source.contains(':') {
        return Err(Error::Invalid(format!(
            "{source:?} cannot contain ':'; Docker reads it as source:target"
        )));
    }
    if source.starts_with('/') {
        return Ok(());
    }
    if source.starts_with('.') || source.starts_with('~') || source.contains('/') {
        return Err(Error::Invalid(format!(
            "{source:?} is neither a volume name nor an absolute path; paths are on the machine (not your computer) and start with /"
        )));
    }
    let valid_name = source.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && source
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !valid_name {
        return Err(Error::Invalid(format!(
            "{source:?} is not a valid volume name; use letters, digits and _ . - starting with a letter or digit"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(source: &str, target: &str, read_only: bool) -> VolumeMount {
        VolumeMount {
            source: source.into(),
            target: target.into(),
            read_only,
        }
    }

    #[test]
    fn named_volumes_and_machine_paths_become_binds() {
        let got = binds(&[m("data", "/var/lib/data", false), m(" /srv/www ", "/www", true)]).unwrap();
        assert_eq!(
            got,
            vec!["data:/var/lib/data".to_string(), "/srv/www:/www:ro".to_string()]
        );
        assert!(m("/srv", "/x", false).is_host_path());
        assert!(!m("data", "/x", false).is_host_path());
    }

    #[test]
    fn relative_or_odd_paths_are_refused_with_what_to_do() {
        let err = |v: VolumeMount| binds(&[v]).unwrap_err().to_string();
        assert!(err(m("data", "data", false)).contains("must be absolute"));
        assert!(err(m("data", "", false)).contains("(e.g. /data)"));
        assert!(err(m("data", "/", false)).contains("root"));
        assert!(err(m("./src", "/src", false)).contains("start with /"));
        assert!(err(m("~/code", "/src", false)).contains("not your computer"));
        assert!(err(m("", "/data", false)).contains("choose a volume"));
        assert!(err(m("-bad", "/data", false)).contains("not a valid volume name"));
        assert!(err(m("C:/x", "/data", false)).contains("':'"));
        let twice = binds(&[m("a", "/data", false), m("b", "/data", false)])
            .unwrap_err()
            .to_string();
        assert!(twice.contains("mounted twice"), "{twice}");
    }

    #[test]
    fn missing_fields_default() {
        let v: VolumeMount = serde_json::from_str(r#"{"source":"data","target":"/d"}"#).unwrap();
        assert!(!v.read_only);
    }
}
