//! The key a registry's credentials are stored under: the registry's host[:port], as the docker CLI names
//! it in `credHelpers` and passes to a helper's `get`.

/// Docker Hub's key, as the docker CLI spells it for every Hub host.
pub const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// The storage key for a registry as a user or the docker CLI writes it: `127.0.0.1:5000`,
/// `https://registry.example.com/`, `docker.io`. Schemes, paths and trailing slashes go, host names are
/// lowercased; every name of Docker Hub becomes [`DOCKER_HUB_KEY`].
pub fn registry_key(server: &str) -> String {
    let s = server.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let host = s.split('/').next().unwrap_or(s).to_ascii_lowercase();
    match host.as_str() {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            DOCKER_HUB_KEY.to_string()
        }
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_key_by_host_and_port() {
        assert_eq!(registry_key("127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(registry_key("http://127.0.0.1:5000/"), "127.0.0.1:5000");
        assert_eq!(registry_key(" https://Reg.Example.com/v2/ "), "reg.example.com");
        assert_eq!(registry_key("[::1]:5000"), "[::1]:5000");
    }

    #[test]
    fn every_name_of_docker_hub_is_one_key() {
        for hub in [
            "docker.io",
            "index.docker.io",
            "https://index.docker.io/v1/",
            "registry-1.docker.io",
        ] {
            assert_eq!(registry_key(hub), DOCKER_HUB_KEY, "{hub}");
        }
    }
}
